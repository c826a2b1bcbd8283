// A worker thread of the embedded transport: imports the trainer once, initialises the engine when asked,
// then trains one trial per message and answers with its outcome or its error.
import { parentPort, workerData } from 'node:worker_threads';
import { pathToFileURL } from 'node:url';
import { toWireError } from '../core/errors.js';
import type { TrialSpec, TrialTrainer } from './trial.js';
import type { TrainerRef } from './transport.js';

interface Init {
  readonly trainer: TrainerRef;
  readonly backend: string | null;
}

const init = workerData as Init;
const ready = (async (): Promise<TrialTrainer> => {
  if (init.backend !== null) {
    const { initEngine } = await import('../core/engine.js');
    await initEngine({ backend: init.backend as 'cpu' });
  }
  const module = (await import(pathToFileURL(init.trainer.module).href)) as Record<string, unknown>;
  const trainer = module[init.trainer.export];
  if (typeof trainer !== 'function') throw new Error(`${init.trainer.module} has no function export ${init.trainer.export}`);
  return trainer as TrialTrainer;
})();

parentPort!.on('message', (spec: TrialSpec) => {
  ready
    .then((trainer) => trainer(spec))
    .then((outcome) => parentPort!.postMessage({ ok: true, outcome }), (error: unknown) => parentPort!.postMessage({ ok: false, error: toWireError(error) }));
});
