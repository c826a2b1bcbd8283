// A search run in its own process, for the SIGKILL test: `node fault_child.js RUN`. NASNET_TEST_FAULT =
// "point:n" kills the process (SIGKILL) at the n-th time the run reaches `point` in this process;
// "checkpoint-write:n:turns" lets the checkpoint write run `turns` event-loop turns first, so the kill lands
// inside the write.
import { fileURLToPath } from 'node:url';
import { initEngine } from '../../core/engine.js';
import { createRun, resolveSearchConfig, runSearch } from '../../search/run.js';
import { faultFromEnv } from './fault_env.js';

export const FAULT_CONFIG = resolveSearchConfig({
  strategy: 'ppo', trials: 40, batchSize: 8, seed: 5, maxAttempts: 2,
  controller: { units: 24 }, proxy: { data: 'fake' },
});

async function main(): Promise<void> {
  const run = process.argv[2]!;
  await initEngine({ backend: 'cpu' });
  await createRun(run, FAULT_CONFIG);
  const fault = faultFromEnv();
  const trainer = { module: fileURLToPath(new URL('./fake_trainer.js', import.meta.url)), export: 'fakeTrainer' };
  const summary = await runSearch(run, { trainer, workers: 2, backend: null, fault });
  process.stdout.write(`${JSON.stringify(summary)}\n`);
}

// `node --test` also runs every .js under test/ as a test: without the run arguments this file is inert.
if (process.argv[2] !== undefined) await main();
