// Not a test: the writer process that checkpoint.test.ts SIGKILLs in the middle of a save. It saves six
// 4 MiB float32 weights (w<k> filled with k + 0.5) to $NASNET_CKPT_CHILD_DIR. Without that variable (e.g.
// when a test runner picks this file up) it does nothing.
import * as tf from '@tensorflow/tfjs-core';
import { initEngine } from '../../core/engine.js';
import { saveCheckpoint } from '../../core/checkpoint.js';

export const CHILD_WEIGHTS = 6;
export const CHILD_WEIGHT_SHAPE = [1024, 1024] as const;

const dir = process.env.NASNET_CKPT_CHILD_DIR;
if (dir !== undefined) {
  await initEngine({ backend: 'cpu' });
  const weights = Array.from({ length: CHILD_WEIGHTS }, (_, k) => ({ name: `w${k}`, tensor: tf.fill([...CHILD_WEIGHT_SHAPE], k + 0.5) }));
  process.stdout.write('saving\n');
  await saveCheckpoint(dir, { config: { version: 'B' }, weights });
  process.stdout.write('saved\n');
}
