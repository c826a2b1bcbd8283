// Pins the tfjs layer semantics the Keras NASNet depends on (spec nasnet.md §2.6), on both reference backends.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { initEngine } from '../../core/engine.js';
import { KerasNamer, batchNorm, correctPad, pool2d, setBatchNormMomentum, zeroPad } from '../../cells/keras_layers.js';

function close(actual: ArrayLike<number>, expected: number[], tol = 1e-6): void {
  assert.equal(actual.length, expected.length);
  for (let i = 0; i < expected.length; i++) assert.ok(Math.abs(actual[i]! - expected[i]!) <= tol, `index ${i}: ${actual[i]} vs ${expected[i]}`);
}

/** Runs `pool2d` (optionally after the explicit pad) on a constant through a one-layer model. */
function runPool(x: tf.Tensor4D, kind: 'avg' | 'max', k: number, stride: number, explicitPad: boolean): Float32Array {
  const input = tfl.input({ shape: x.shape.slice(1) });
  const namer = new KerasNamer();
  const src = explicitPad ? zeroPad(namer, input, correctPad([x.shape[1], x.shape[2]], k)) : input;
  const out = pool2d(src, kind, k, stride, explicitPad ? 'valid' : 'same', 'pool');
  const y = tfl.model({ inputs: input, outputs: out }).predict(x) as tf.Tensor;
  const data = y.dataSync() as Float32Array;
  y.dispose();
  return data;
}

test('correctPad: Keras imagenet_utils.correct_pad for odd and even sizes', () => {
  assert.deepEqual(correctPad([111, 111], 5), [[2, 2], [2, 2]]);
  assert.deepEqual(correctPad([111, 111], 7), [[3, 3], [3, 3]]);
  assert.deepEqual(correctPad([56, 56], 5), [[1, 2], [1, 2]]);
  assert.deepEqual(correctPad([28, 28], 7), [[2, 3], [2, 3]]);
  assert.deepEqual(correctPad([14, 21], 3), [[0, 1], [1, 1]]);
});

test('KerasNamer: per-class counters, first name without suffix', () => {
  const namer = new KerasNamer();
  assert.deepEqual([namer.next('activation'), namer.next('add'), namer.next('activation'), namer.next('activation')], ['activation', 'add', 'activation_1', 'activation_2']);
});

for (const backend of ['cpu', 'wasm'] as const) {
  describe(`pool semantics on ${backend}`, () => {
    test('stride-1 3x3 avg pool "same" excludes the padding (TF): corner of 1..16 is (1+2+5+6)/4', async () => {
      await initEngine({ backend });
      const x = tf.tensor4d(Array.from({ length: 16 }, (_, i) => i + 1), [1, 4, 4, 1]);
      close(runPool(x, 'avg', 3, 1, false), [3.5, 4, 5, 5.5, 5.5, 6, 7, 7.5, 9.5, 10, 11, 11.5, 11.5, 12, 13, 13.5]);
      x.dispose();
    });

    test('stride-2 pools after reduction_pad: max sees the zeros, avg divides by 9 (a -1 field)', async () => {
      await initEngine({ backend });
      const x = tf.fill([1, 4, 4, 1], -1) as tf.Tensor4D; // even size: pad (0,1) bottom/right
      close(runPool(x, 'max', 3, 2, true), [-1, 0, 0, 0]);
      close(runPool(x, 'avg', 3, 2, true), [-1, -6 / 9, -6 / 9, -4 / 9]);
      const odd = tf.fill([1, 5, 5, 1], -1) as tf.Tensor4D; // odd size: pad (1,1) on every side
      const [c, e] = [-4 / 9, -6 / 9];
      close(runPool(odd, 'avg', 3, 2, true), [c, e, c, e, -1, e, c, e, c]);
      x.dispose();
      odd.dispose();
    });

    test('factorized-reduction shift: pad (0,1),(0,1) then crop (1,0),(1,0), then 1x1 avg pool stride 2', async () => {
      await initEngine({ backend });
      const x = tf.tensor4d(Array.from({ length: 16 }, (_, i) => i + 1), [1, 4, 4, 1]);
      const input = tfl.input({ shape: [4, 4, 1] });
      const namer = new KerasNamer();
      const shifted = tfl.layers.cropping2D({ cropping: [[1, 0], [1, 0]] }).apply(zeroPad(namer, input, [[0, 1], [0, 1]])) as tfl.SymbolicTensor;
      const path1 = pool2d(input, 'avg', 1, 2, 'valid', 'p1');
      const path2 = pool2d(shifted, 'avg', 1, 2, 'valid', 'p2');
      const [y1, y2] = tfl.model({ inputs: input, outputs: [path1, path2] }).predict(x) as tf.Tensor[];
      close(y1!.dataSync(), [1, 3, 9, 11]); // pixels (0,0), (0,2), (2,0), (2,2)
      close(y2!.dataSync(), [6, 8, 14, 16]); // pixels (1,1), (1,3), (3,1), (3,3)
      tf.dispose([x, y1!, y2!]);
    });
  });
}

test('setBatchNormMomentum: the moving mean moves by (1 - momentum) of the batch mean per training call', async () => {
  await initEngine({ backend: 'cpu' });
  const input = tfl.input({ shape: [1, 1, 1] });
  const model = tfl.model({ inputs: input, outputs: batchNorm(input, 'bn_momentum') });
  assert.equal(setBatchNormMomentum(model, 0.9), 1);
  const x = tf.tensor4d([2, 4], [2, 1, 1, 1]); // batch mean 3
  tf.dispose(model.apply(x, { training: true }) as tf.Tensor);
  // moving_mean = 0.9 * 0 + 0.1 * 3
  close(model.getLayer('bn_momentum').getWeights()[2]!.dataSync(), [0.3]);
  x.dispose();
});
