// A fast fake child trainer for run tests: the reward is synthetic_reward.ts's score of the decisions plus
// noise seeded by the trial seed; trial indices = 7 mod 11 always fail; indices = 1 mod 6 fail their first
// attempt (a marker file in the trial folder); NASNET_TEST_KILL_TRIAL=i SIGKILLs the whole process while
// trial i is "training" (once: a marker file remembers it).
import { access, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { TrialTrainer } from '../../search/trial.js';
import { syntheticReward } from './synthetic_reward.js';

const task = syntheticReward(77);
const exists = (path: string): Promise<boolean> => access(path).then(() => true, () => false);

export const fakeTrainer: TrialTrainer = async (spec) => {
  await new Promise((resolve) => setTimeout(resolve, 15 + (spec.index % 4) * 10));
  const kill = process.env.NASNET_TEST_KILL_TRIAL;
  if (kill !== undefined && Number(kill) === spec.index && !(await exists(join(spec.dir, 'killed')))) {
    await writeFile(join(spec.dir, 'killed'), '');
    process.kill(process.pid, 'SIGKILL');
    await new Promise((resolve) => setTimeout(resolve, 10_000));
  }
  if (spec.index % 11 === 7) throw new Error(`fake trainer: trial ${spec.id} always fails`);
  if (spec.index % 6 === 1 && !(await exists(join(spec.dir, 'attempted')))) {
    await writeFile(join(spec.dir, 'attempted'), '');
    throw new Error(`fake trainer: trial ${spec.id} fails its first attempt`);
  }
  const reward = task.reward(spec.decisions, spec.seed);
  return { reward, metrics: { val_accuracy: reward } };
};
