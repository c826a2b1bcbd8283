// fake_trainer.ts for the queue tests, plus: NASNET_TEST_TRAIN_MS more milliseconds of "training";
// NASNET_TEST_PAUSE_TRIAL=i makes the first process that trains trial i write `paused` (its pid) into the
// trial folder and wait for a `go` file there (the test stops that process meanwhile, so its job stalls and
// another worker runs it), then report a reward off by +1: if that late second result were counted, the run
// would differ from the embedded one. Every finished run of a trial appends its id to DIR/runs.log.
import { access, appendFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { TrialTrainer } from '../../search/trial.js';
import { fakeTrainer } from './fake_trainer.js';

const exists = (path: string): Promise<boolean> => access(path).then(() => true, () => false);
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export const queueFakeTrainer: TrialTrainer = async (spec) => {
  let offset = 0;
  const pause = process.env.NASNET_TEST_PAUSE_TRIAL;
  if (pause !== undefined && Number(pause) === spec.index && !(await exists(join(spec.dir, 'paused')))) {
    await writeFile(join(spec.dir, 'paused'), String(process.pid));
    while (!(await exists(join(spec.dir, 'go')))) await sleep(20);
    offset = 1;
  }
  await sleep(Number(process.env.NASNET_TEST_TRAIN_MS ?? 0));
  const outcome = await fakeTrainer(spec);
  await appendFile(join(spec.dir, '..', '..', 'runs.log'), `${spec.id}\n`);
  return { reward: outcome.reward + offset, metrics: outcome.metrics };
};
