import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { initEngine } from '../../core/engine.js';
import { NasnetError } from '../../core/errors.js';
import { normalizedToPixels, pixelsToNormalized, swapXy, type BoxFrame } from '../../detection/box_ops.js';
import { decodeDetections, postprocessDetections, resolvePostprocessConfig, type PostprocessConfig } from '../../detection/postprocess.js';
import { assertNoLeak, f32, fixtureCase, i32, maxAbsDiff, yxyx, type FixtureCase } from './fixture_io.js';

const CASES = ['200_proposals_6_classes', '150_proposals_11_classes'];

function configOf(c: FixtureCase): PostprocessConfig {
  const p = c.params as Record<string, number>;
  return resolvePostprocessConfig({ scoreThreshold: p.score_thresh, nmsThreshold: p.nms_thresh, detectionsPerImage: p.detections_per_img, boxCodeWeights: [10, 10, 5, 5] });
}

function run(c: FixtureCase, normalised: boolean): { boxes: Float32Array; scores: Float32Array; labels: Int32Array } {
  const [h, w] = c.params.image_size as [number, number];
  const scale = normalised ? { height: h, width: w } : { height: 1, width: 1 };
  const frame: BoxFrame = { clipWindow: [0, 0, h / scale.height, w / scale.width], pixelScale: scale };
  const [r, k4] = c.inputs.box_regression.shape as [number, number];
  const out = tf.tidy(() =>
    postprocessDetections(
      {
        classLogits: tf.tensor2d(f32(c.inputs.class_logits), [r, k4 / 4]),
        boxDeltas: tf.tensor2d(swapXy(f32(c.inputs.box_regression)), [r, k4]),
        proposals: pixelsToNormalized(yxyx(c.inputs.proposals), scale),
      },
      configOf(c),
      frame,
    ),
  );
  return { ...out, boxes: normalizedToPixels(out.boxes, scale) };
}

for (const backend of ['cpu', 'wasm'] as const) {
  describe(`postprocess vs torchvision RoIHeads.postprocess_detections (roi_heads_postprocess.json) on ${backend}`, () => {
    before(async () => {
      await initEngine({ backend });
    });

    for (const name of CASES) {
      const c = fixtureCase('roi_heads_postprocess.json', name);
      test(`${name}: decoded class boxes <= 1e-3 px, softmax <= 1e-6`, () => {
        const [r, k4] = c.inputs.box_regression.shape as [number, number];
        const got = tf.tidy(() =>
          decodeDetections(
            { classLogits: tf.tensor2d(f32(c.inputs.class_logits), [r, k4 / 4]), boxDeltas: tf.tensor2d(swapXy(f32(c.inputs.box_regression)), [r, k4]), proposals: yxyx(c.inputs.proposals) },
            [10, 10, 5, 5],
          ),
        );
        assert.ok(maxAbsDiff(got.boxes, yxyx(c.expected.pred_boxes_unclipped)) <= 1e-3);
        assert.ok(maxAbsDiff(got.scores, f32(c.expected.pred_scores)) <= 1e-6);
      });
      for (const normalised of [false, true]) {
        test(`${name}: boxes <= 1e-3 px, scores <= 1e-6, labels exact (${normalised ? 'normalised' : 'pixel'} frame)`, () => {
          const got = run(c, normalised);
          assert.deepEqual(Array.from(got.labels), Array.from(i32(c.expected.labels)));
          assert.ok(maxAbsDiff(got.scores, f32(c.expected.scores)) <= 1e-6);
          assert.ok(maxAbsDiff(got.boxes, yxyx(c.expected.boxes)) <= 1e-3);
        });
      }
    }

    test('no tensor leak over repeated calls', async () => {
      await assertNoLeak(() => run(fixtureCase('roi_heads_postprocess.json', CASES[0] as string), true));
    });
  });
}

describe('postprocess, hand-computed', () => {
  before(async () => {
    await initEngine({ backend: 'cpu' });
  });

  test('one proposal, two classes: background dropped, strict threshold, per-class NMS', () => {
    // Logits [0, ln 2, ln 2, 0] -> softmax [1, 2, 2, 1] / 6; zero deltas give the proposal for each class.
    const out = tf.tidy(() =>
      postprocessDetections(
        {
          classLogits: tf.tensor2d([[0, Math.log(2), Math.log(2), 0]]),
          boxDeltas: tf.zeros([1, 16]) as tf.Tensor2D,
          proposals: Float32Array.of(0.1, 0.1, 0.5, 0.5),
        },
        resolvePostprocessConfig({ scoreThreshold: Math.fround(1 / 6) }),
        { clipWindow: [0, 0, 1, 1], pixelScale: { height: 100, width: 100 } },
      ),
    );
    // Class 3 has exactly 1/6: not > threshold. Classes 1 and 2 share a box but NMS is per class.
    assert.deepEqual(Array.from(out.labels), [1, 2]);
    assert.ok(maxAbsDiff(out.scores, [1 / 3, 1 / 3]) < 1e-6);
    assert.ok(maxAbsDiff(out.boxes, [0.1, 0.1, 0.5, 0.5, 0.1, 0.1, 0.5, 0.5]) < 1e-6);
  });

  test('config and shape errors name the field', () => {
    assert.throws(() => resolvePostprocessConfig({ detectionsPerImage: 0 }), (e: unknown) => e instanceof NasnetError && e.details?.field === 'detectionsPerImage');
    assert.throws(
      () => tf.tidy(() => postprocessDetections({ classLogits: tf.zeros([2, 3]) as tf.Tensor2D, boxDeltas: tf.zeros([2, 8]) as tf.Tensor2D, proposals: new Float32Array(8) }, resolvePostprocessConfig({}), { clipWindow: [0, 0, 1, 1], pixelScale: { height: 1, width: 1 } })),
      NasnetError,
    );
  });
});
