// A search run in its own process, for the SIGKILL test: `node fault_child.js RUN`. NASNET_TEST_FAULT =
// "point:n" kills the process (SIGKILL) at the n-th time the run reaches `point` in this process;
// "checkpoint-write:n:turns" lets the checkpoint write run `turns` event-loop turns first, so the kill lands
// inside the write.
import { fileURLToPath } from 'node:url';
import { initEngine } from '../../core/engine.js';
import { createRun, resolveSearchConfig, runSearch, type FaultPoint } from '../../search/run.js';

export const FAULT_CONFIG = resolveSearchConfig({
  strategy: 'ppo', trials: 40, batchSize: 8, seed: 5, maxAttempts: 2,
  controller: { units: 24 }, proxy: { data: 'fake' },
});

async function main(): Promise<void> {
  const run = process.argv[2]!;
  await initEngine({ backend: 'cpu' });
  await createRun(run, FAULT_CONFIG);
  const [point, nth, turns] = (process.env.NASNET_TEST_FAULT ?? '').split(':');
  let hits = 0;
  const fault = (at: FaultPoint): void => {
    if (at !== point || ++hits !== Number(nth)) return;
    if (turns === undefined) process.kill(process.pid, 'SIGKILL');
    let left = Number(turns);
    const tick = (): void => {
      if (--left <= 0) process.kill(process.pid, 'SIGKILL');
      else setImmediate(tick);
    };
    setImmediate(tick);
  };
  const trainer = { module: fileURLToPath(new URL('./fake_trainer.js', import.meta.url)), export: 'fakeTrainer' };
  const summary = await runSearch(run, { trainer, workers: 2, backend: null, fault });
  process.stdout.write(`${JSON.stringify(summary)}\n`);
}

// `node --test` also runs every .js under test/ as a test: without the run arguments this file is inert.
if (process.argv[2] !== undefined) await main();
