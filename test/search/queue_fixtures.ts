// Shared by the queue test processes: the run config of the fault test and the fake trainer's reference.
import { fileURLToPath } from 'node:url';
import { resolveSearchConfig } from '../../search/run.js';

export const QUEUE_FAULT_CONFIG = resolveSearchConfig({
  strategy: 'ppo', trials: 60, batchSize: 10, seed: 23, maxAttempts: 3,
  controller: { units: 24 }, proxy: { data: 'fake' },
});

export const QUEUE_FAKE_TRAINER = { module: fileURLToPath(new URL('./queue_fake_trainer.js', import.meta.url)), export: 'queueFakeTrainer' };
