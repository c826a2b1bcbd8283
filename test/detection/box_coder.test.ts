import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { initEngine } from '../../core/engine.js';
import { decodeBoxes, decodeClassBoxes, encodeBoxes, type BoxCodeWeights } from '../../detection/box_coder.js';
import { pixelsToNormalized, swapXy } from '../../detection/box_ops.js';
import { f32, fixtureCase, maxAbsDiff, yxyx } from './fixture_io.js';

// torchvision weights (wx, wy, ww, wh) -> ours (wy, wx, wh, ww); codes (dx, dy, dw, dh) -> (dy, dx, dh, dw):
// both are the pair swap that swapXy applies to boxes.
function ourWeights(torchWeights: unknown): BoxCodeWeights {
  const [wx, wy, ww, wh] = torchWeights as number[];
  return [wy, wx, wh, ww] as BoxCodeWeights;
}

function maxRelDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let worst = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs((a[i] as number) - (b[i] as number)) / Math.max(1, Math.abs(b[i] as number));
    worst = Math.max(worst, d);
  }
  return worst;
}

for (const backend of ['cpu', 'wasm'] as const) {
  describe(`box coder vs torchvision BoxCoder (box_coder.json) on ${backend}`, () => {
    before(async () => {
      await initEngine({ backend });
    });

    for (const name of ['encode_w1_1_1_1', 'encode_w10_10_5_5']) {
      test(`${name}: rel err <= 1e-5`, () => {
        const c = fixtureCase('box_coder.json', name);
        const n = c.inputs.proposals.shape[0] as number;
        const codes = tf.tidy(() =>
          encodeBoxes(tf.tensor2d(yxyx(c.inputs.reference_boxes), [n, 4]), tf.tensor2d(yxyx(c.inputs.proposals), [n, 4]), ourWeights(c.params.weights)).dataSync(),
        );
        assert.ok(maxRelDiff(codes, swapXy(f32(c.expected.targets))) <= 1e-5);
      });
    }

    for (const name of ['decode_w1_1_1_1', 'decode_w10_10_5_5']) {
      test(`${name} (rows 0-3 hit the dh/dw clamp): abs err <= 1e-3 px`, () => {
        const c = fixtureCase('box_coder.json', name);
        const n = c.inputs.boxes.shape[0] as number;
        const boxes = tf.tidy(() =>
          decodeBoxes(tf.tensor2d(swapXy(f32(c.inputs.rel_codes)), [n, 4]), tf.tensor2d(yxyx(c.inputs.boxes), [n, 4]), ourWeights(c.params.weights)).dataSync(),
        );
        assert.ok(maxAbsDiff(boxes, yxyx(c.expected.pred_boxes)) <= 1e-3);
      });
    }

    test('decode_multiclass_w10_10_5_5: [N, K*4] -> [N, K, 4]', () => {
      const c = fixtureCase('box_coder.json', 'decode_multiclass_w10_10_5_5');
      const [n, k4] = c.inputs.rel_codes.shape as [number, number];
      const out = tf.tidy(() => {
        const boxes = decodeClassBoxes(tf.tensor2d(swapXy(f32(c.inputs.rel_codes)), [n, k4]), tf.tensor2d(yxyx(c.inputs.boxes), [n, 4]), ourWeights(c.params.weights));
        assert.deepEqual(boxes.shape, [n, k4 / 4, 4]);
        return boxes.dataSync();
      });
      assert.ok(maxAbsDiff(out, yxyx(c.expected.pred_boxes)) <= 1e-3);
    });

    test('codes are frame-invariant: normalised boxes encode to the same targets', () => {
      const c = fixtureCase('box_coder.json', 'encode_w10_10_5_5');
      const n = c.inputs.proposals.shape[0] as number;
      const scale = { height: 1333, width: 1216 };
      const codes = tf.tidy(() =>
        encodeBoxes(
          tf.tensor2d(pixelsToNormalized(yxyx(c.inputs.reference_boxes), scale), [n, 4]),
          tf.tensor2d(pixelsToNormalized(yxyx(c.inputs.proposals), scale), [n, 4]),
          [10, 10, 5, 5],
        ).dataSync(),
      );
      assert.ok(maxRelDiff(codes, swapXy(f32(c.expected.targets))) <= 1e-4);
    });

    test('hand-computed round trip: [0,0,10,20] vs anchor [0,0,20,20], weights 1', () => {
      const got = tf.tidy(() => {
        const anchor = tf.tensor2d([[0, 0, 20, 20]]);
        const codes = encodeBoxes(tf.tensor2d([[0, 0, 10, 20]]), anchor, [1, 1, 1, 1]);
        return [codes.dataSync(), decodeBoxes(codes, anchor, [1, 1, 1, 1]).dataSync()];
      });
      // dy = (5 - 10) / 20, dx = 0, dh = log(10/20), dw = 0
      assert.ok(maxAbsDiff(got[0] as Float32Array, [-0.25, 0, Math.log(0.5), 0]) < 1e-7);
      assert.ok(maxAbsDiff(got[1] as Float32Array, [0, 0, 10, 20]) < 1e-5);
    });
  });
}
