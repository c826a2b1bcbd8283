import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { initEngine } from '../../core/engine.js';
import { NasnetError } from '../../core/errors.js';
import { BoxHead, PooledCellsExtractor, TwoFcExtractor, type RoiCellStack } from '../../detection/box_head.js';
import { assertNoLeak, maxAbsDiff } from './fixture_io.js';

/** A stand-in for the NASNet cells: one 1x1 conv with a known kernel, then relu. */
function fakeCells(): RoiCellStack {
  const kernel = tf.variable(tf.tensor4d([1, -1, 2, 0], [1, 1, 2, 2]));
  return {
    outputChannels: 2,
    apply: (crops) => tf.tidy(() => tf.relu(tf.conv2d(crops, kernel as tf.Tensor4D, 1, 'valid'))),
    namedWeights: () => ({ 'cells/kernel': kernel }),
    dispose: () => kernel.dispose(),
  };
}

for (const backend of ['cpu', 'wasm'] as const) {
  describe(`box head on ${backend}`, () => {
    before(async () => {
      await initEngine({ backend });
    });

    test('2-FC head: shapes, names, hand-computed forward', () => {
      const head = new BoxHead(new TwoFcExtractor({ inputShape: [2, 2, 1], hiddenDim: 2, seed: 0 }), { numClasses: 3, seed: 0 });
      const w = head.namedWeights();
      assert.deepEqual(Object.keys(w).sort(), [
        'box_head/fc6/bias', 'box_head/fc6/kernel', 'box_head/fc7/bias', 'box_head/fc7/kernel',
        'box_predictor/box/bias', 'box_predictor/box/kernel', 'box_predictor/class/bias', 'box_predictor/class/kernel',
      ]);
      tf.tidy(() => {
        (w['box_head/fc6/kernel'] as tf.Variable).assign(tf.tensor2d([[1, 0], [1, 0], [0, -1], [0, -1]]));
        (w['box_head/fc7/kernel'] as tf.Variable).assign(tf.tensor2d([[1, 0], [0, 1]]));
        (w['box_predictor/class/kernel'] as tf.Variable).assign(tf.tensor2d([[1, 2, 3], [0, 0, 0]]));
        (w['box_predictor/box/kernel'] as tf.Variable).assign(tf.fill([2, 12], 0.5));
      });
      // crop [[1, 2], [3, 4]] (NHWC flatten 1, 2, 3, 4): fc6 = relu([3, -7]) = [3, 0]; fc7 = [3, 0].
      const [logits, deltas] = tf.tidy(() => {
        const out = head.apply(tf.tensor4d([1, 2, 3, 4], [1, 2, 2, 1]), false);
        assert.deepEqual(out.classLogits.shape, [1, 3]);
        assert.deepEqual(out.boxDeltas.shape, [1, 12]);
        return [out.classLogits.dataSync(), out.boxDeltas.dataSync()];
      });
      assert.deepEqual(Array.from(logits as Float32Array), [3, 6, 9]);
      assert.deepEqual(Array.from(deltas as Float32Array), new Array(12).fill(1.5));
      assert.throws(() => head.apply(tf.zeros([1, 3, 3, 1]) as tf.Tensor4D, false), NasnetError);
      head.dispose();
    });

    test('pooled-cells head: spatial mean of the cell output feeds the predictor', () => {
      const head = new BoxHead(new PooledCellsExtractor(fakeCells()), { numClasses: 2, seed: 1 });
      const w = head.namedWeights();
      assert.ok('cells/kernel' in w && 'box_predictor/class/kernel' in w);
      tf.tidy(() => (w['box_predictor/class/kernel'] as tf.Variable).assign(tf.tensor2d([[1, 0], [0, 1]])));
      // Pixels (a, b) -> relu([a + 2b, -a]); crop pixels (1, 1) and (3, -1): [3, 0] and [1, 0] -> mean [2, 0].
      const logits = tf.tidy(() => head.apply(tf.tensor4d([1, 1, 3, -1], [1, 1, 2, 2]), true).classLogits.dataSync());
      assert.deepEqual(Array.from(logits), [2, 0]);
      head.dispose();
    });

    test('every variable gets a gradient; seeded init reproduces; no leak', async () => {
      const make = (): BoxHead => new BoxHead(new TwoFcExtractor({ inputShape: [3, 3, 2], hiddenDim: 8, seed: 4 }), { numClasses: 4, seed: 5 });
      const head = make();
      const again = make();
      const a = head.namedWeights();
      const b = again.namedWeights();
      for (const name of Object.keys(a)) assert.equal(maxAbsDiff((a[name] as tf.Variable).dataSync(), (b[name] as tf.Variable).dataSync()), 0, name);
      again.dispose();
      const crops = tf.randomNormal([5, 3, 3, 2], 0, 1, 'float32', 9) as tf.Tensor4D;
      const step = (): void =>
        tf.tidy(() => {
          const { grads } = tf.variableGrads(() => {
            const out = head.apply(crops, true);
            return tf.add(tf.sum(tf.square(out.classLogits)), tf.sum(tf.square(out.boxDeltas))) as tf.Scalar;
          }, Object.values(head.namedWeights()));
          for (const v of Object.values(head.namedWeights())) assert.ok(grads[v.name], `no gradient for ${v.name}`);
        });
      step();
      await assertNoLeak(step);
      crops.dispose();
      head.dispose();
    });

    test('config errors name the field', () => {
      assert.throws(() => new TwoFcExtractor({ inputShape: [7, 7, 0], hiddenDim: 4, seed: 0 }), (e: unknown) => e instanceof NasnetError && e.details?.field === 'inputShape[2]');
      const extractor = new PooledCellsExtractor(fakeCells());
      assert.throws(() => new BoxHead(extractor, { numClasses: 1, seed: 0 }), (e: unknown) => e instanceof NasnetError && e.details?.field === 'numClasses');
      extractor.dispose();
    });
  });
}
