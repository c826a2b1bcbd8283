import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { initEngine } from '../../core/engine.js';
import { NasnetError } from '../../core/errors.js';
import { boxHeadLosses, rpnLosses, smoothL1 } from '../../detection/losses.js';
import { assertNoLeak, maxAbsDiff } from './fixture_io.js';

const close = (got: number, want: number, tol = 1e-6): void => assert.ok(Math.abs(got - want) <= tol, `${got} vs ${want}`);

// RPN: 3 anchors, logits [0, 2, -1], labels [fg, bg, not sampled].
const RPN = { logits: [0, 2, -1], labels: Int32Array.of(1, 0, -1), deltas: [[0.5, 0, 0, 0.05], [9, 9, 9, 9], [7, 7, 7, 7]] };
// Box head: 2 ROIs, K = 3; ROI 0 is class 2, ROI 1 background.
const HEAD = {
  logits: [[0, 0, 0], [1, 0, 0]],
  labels: Int32Array.of(2, 0),
  deltas: [[5, 5, 5, 5, 6, 6, 6, 6, 0.2, 0, 0, 0], [8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8]],
};

for (const backend of ['cpu', 'wasm'] as const) {
  describe(`losses, hand-computed, on ${backend}`, () => {
    before(async () => {
      await initEngine({ backend });
    });

    test('smoothL1: quadratic below beta, linear above, L1 at beta 0', () => {
      const got = tf.tidy(() => smoothL1(tf.tensor1d([0.05, -0.5, 2]), 1 / 9).dataSync());
      assert.ok(maxAbsDiff(got, [0.5 * 0.0025 * 9, 0.5 - 0.5 / 9, 2 - 0.5 / 9]) < 1e-6);
      assert.deepEqual(Array.from(tf.tidy(() => smoothL1(tf.tensor1d([-0.5, 2]), 0).dataSync())), [0.5, 2]);
    });

    test('rpnLosses: BCE over sampled anchors, smooth L1 over positives / #sampled', () => {
      const [obj, box] = tf.tidy(() => {
        const l = rpnLosses({ objectness: tf.tensor1d(RPN.logits), deltas: tf.tensor2d(RPN.deltas), labels: RPN.labels, targets: tf.zeros([3, 4]) as tf.Tensor2D });
        return [l.loss_objectness.dataSync()[0] as number, l.loss_rpn_box_reg.dataSync()[0] as number];
      });
      // BCE(0, 1) = ln 2; BCE(2, 0) = 2 + ln(1 + e^-2); mean over the 2 sampled anchors.
      close(obj as number, (Math.LN2 + 2 + Math.log(1 + Math.exp(-2))) / 2);
      // Positive row: |0.5| -> 0.5 - 1/18; |0.05| -> 0.5 * 0.05^2 * 9; divided by 2 sampled.
      close(box as number, (0.5 - 1 / 18 + 0.5 * 0.0025 * 9) / 2);
    });

    test('rpnLosses gradient: (sigmoid(x) - y) / #sampled, zero for unsampled anchors', () => {
      const g = tf.tidy(() =>
        tf.grad((x: tf.Tensor) => rpnLosses({ objectness: x as tf.Tensor1D, deltas: tf.tensor2d(RPN.deltas), labels: RPN.labels, targets: tf.zeros([3, 4]) as tf.Tensor2D }).loss_objectness)(tf.tensor1d(RPN.logits)).dataSync(),
      );
      assert.ok(maxAbsDiff(g, [(0.5 - 1) / 2, 1 / (1 + Math.exp(-2)) / 2, 0]) < 1e-6);
    });

    test('boxHeadLosses: softmax CE mean over R, smooth L1 of the own class of positives / R', () => {
      const [cls, box] = tf.tidy(() => {
        const l = boxHeadLosses({ classLogits: tf.tensor2d(HEAD.logits), boxDeltas: tf.tensor2d(HEAD.deltas), labels: HEAD.labels, targets: tf.zeros([2, 4]) as tf.Tensor2D });
        return [l.loss_classifier.dataSync()[0] as number, l.loss_box_reg.dataSync()[0] as number];
      });
      // Row 0: -ln(1/3); row 1: -ln(e / (e + 2)).
      close(cls as number, (Math.log(3) + Math.log(Math.E + 2) - 1) / 2);
      close(box as number, (0.2 - 1 / 18) / 2);
    });

    test('boxHeadLosses gradient reaches only the own-class deltas of positives', () => {
      const g = tf.tidy(() =>
        tf.grad((d: tf.Tensor) => boxHeadLosses({ classLogits: tf.tensor2d(HEAD.logits), boxDeltas: d as tf.Tensor2D, labels: HEAD.labels, targets: tf.zeros([2, 4]) as tf.Tensor2D }).loss_box_reg)(tf.tensor2d(HEAD.deltas)).dataSync(),
      );
      const want = new Float32Array(24);
      want[8] = 1 / 2; // d/dx (|x| - beta/2) = 1, divided by R = 2
      assert.ok(maxAbsDiff(g, want) < 1e-6);
    });

    test('no tensor leak', async () => {
      await assertNoLeak(() =>
        tf.tidy(() => {
          const l = boxHeadLosses({ classLogits: tf.tensor2d(HEAD.logits), boxDeltas: tf.tensor2d(HEAD.deltas), labels: HEAD.labels, targets: tf.zeros([2, 4]) as tf.Tensor2D });
          return l.loss_box_reg.dataSync();
        }),
      );
    });
  });
}

describe('losses, input checks', () => {
  test('bad labels and shapes are rejected', () => {
    tf.tidy(() => {
      const logits = tf.tensor2d(HEAD.logits);
      const deltas = tf.tensor2d(HEAD.deltas);
      assert.throws(() => boxHeadLosses({ classLogits: logits, boxDeltas: deltas, labels: Int32Array.of(3, 0), targets: tf.zeros([2, 4]) as tf.Tensor2D }), NasnetError);
      assert.throws(() => rpnLosses({ objectness: tf.tensor1d([0, 1]), deltas: tf.zeros([3, 4]) as tf.Tensor2D, labels: RPN.labels, targets: tf.zeros([3, 4]) as tf.Tensor2D }), NasnetError);
    });
  });
});
