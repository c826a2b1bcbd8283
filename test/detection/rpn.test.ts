import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { initEngine } from '../../core/engine.js';
import { NasnetError } from '../../core/errors.js';
import { normalizedToPixels, pixelsToNormalized, swapXy, type BoxFrame } from '../../detection/box_ops.js';
import { filterProposals, resolveProposalConfig, RpnHead, topKPerLevel, type ProposalConfig } from '../../detection/rpn.js';
import { assertNoLeak, f32, fixtureCase, i32, maxAbsDiff, nhwc, yxyx, type FixtureCase } from './fixture_io.js';

const INPUTS = fixtureCase('rpn_filter_proposals.json', 'two_levels_score_thresh_0.0');

function configOf(c: FixtureCase): ProposalConfig {
  const p = c.params as Record<string, number>;
  return {
    preNmsTopN: p.pre_nms_top_n as number,
    postNmsTopN: p.post_nms_top_n as number,
    nmsThreshold: p.nms_thresh as number,
    scoreThreshold: p.score_thresh as number,
    minSize: p.min_size as number,
  };
}

/** Runs filterProposals on the fixture inputs, in pixels (scale 1) or normalised to the padded input. */
function run(c: FixtureCase, normalised: boolean): { boxes: Float32Array; scores: Float32Array } {
  const [h, w] = c.params.image_size as [number, number];
  const [ph, pw] = c.params.padded_size as [number, number];
  const scale = normalised ? { height: ph, width: pw } : { height: 1, width: 1 };
  const frame: BoxFrame = { clipWindow: [0, 0, h / scale.height, w / scale.width], pixelScale: scale };
  const anchors = pixelsToNormalized(yxyx(INPUTS.inputs.anchors), scale);
  const n = anchors.length / 4;
  const out = tf.tidy(() =>
    filterProposals(
      {
        objectness: tf.tensor1d(f32(INPUTS.inputs.objectness)),
        deltas: tf.tensor2d(swapXy(f32(INPUTS.inputs.pred_bbox_deltas)), [n, 4]),
        anchors: tf.tensor2d(anchors, [n, 4]),
        levelSizes: c.params.num_anchors_per_level as number[],
      },
      configOf(c),
      frame,
    ),
  );
  return { boxes: normalizedToPixels(out.boxes, scale), scores: out.scores };
}

for (const backend of ['cpu', 'wasm'] as const) {
  describe(`RPN filter_proposals vs torchvision (rpn_filter_proposals.json) on ${backend}`, () => {
    before(async () => {
      await initEngine({ backend });
    });

    test('head layout: NHWC reshape of the head outputs is torchvision\'s flattening', () => {
      const [cls, box] = tf.tidy(() => {
        const levels = [0, 1].map((l) => [nhwc(INPUTS.inputs.head_cls_logits_nchw[l] as never), nhwc(INPUTS.inputs.head_bbox_pred_nchw[l] as never)]);
        return [
          tf.concat(levels.map(([c]) => tf.reshape(c as tf.Tensor, [-1]))).dataSync(),
          tf.concat(levels.map(([, b]) => tf.reshape(b as tf.Tensor, [-1, 4]))).dataSync(),
        ];
      });
      assert.deepEqual(Array.from(cls as Float32Array), Array.from(f32(INPUTS.inputs.objectness)));
      assert.deepEqual(Array.from(box as Float32Array), Array.from(f32(INPUTS.inputs.pred_bbox_deltas)));
    });

    for (const name of ['two_levels_score_thresh_0.0', 'two_levels_score_thresh_0.985']) {
      const c = fixtureCase('rpn_filter_proposals.json', name);
      test(`${name}: per-level top-k indices exact`, () => {
        const top = topKPerLevel(f32(INPUTS.inputs.objectness), c.params.num_anchors_per_level as number[], configOf(c).preNmsTopN);
        assert.deepEqual(Array.from(top), Array.from(i32(c.expected.top_n_idx)));
      });
      for (const normalised of [false, true]) {
        test(`${name}: boxes <= 1e-4 px, scores <= 1e-6 (${normalised ? 'normalised' : 'pixel'} frame)`, () => {
          const got = run(c, normalised);
          assert.equal(got.scores.length, c.expected.scores.shape[0]);
          assert.ok(maxAbsDiff(got.scores, f32(c.expected.scores)) <= 1e-6);
          assert.ok(maxAbsDiff(got.boxes, yxyx(c.expected.boxes)) <= 1e-4);
        });
      }
    }

    test('no tensor leak over repeated calls', async () => {
      await assertNoLeak(() => run(INPUTS, true));
    });

    test('RpnHead: shapes, channel layout and a hand-computed value', () => {
      const head = new RpnHead({ inChannels: 2, midChannels: 1, numAnchors: 3, seed: 1 });
      const w = head.namedWeights();
      tf.tidy(() => {
        (w['rpn/conv/kernel'] as tf.Variable).assign(tf.ones([3, 3, 2, 1]));
        (w['rpn/objectness/kernel'] as tf.Variable).assign(tf.tensor4d([1, 2, 3], [1, 1, 1, 3]));
        (w['rpn/box/kernel'] as tf.Variable).assign(tf.reshape(tf.range(0, 12), [1, 1, 1, 12]));
        (w['rpn/box/bias'] as tf.Variable).assign(tf.fill([12], 0.5));
      });
      // features [1, 2, 2, 2] all 1 -> 3x3 SAME conv sums 4 cells x 2 channels = 8 everywhere.
      const out = tf.tidy(() => {
        const { objectness, deltas } = head.apply(tf.ones([1, 2, 2, 2]));
        assert.deepEqual(objectness.shape, [1, 2, 2, 3]);
        assert.deepEqual(deltas.shape, [1, 2, 2, 12]);
        return [objectness.dataSync().slice(0, 3), deltas.dataSync().slice(0, 12)];
      });
      assert.deepEqual(Array.from(out[0] as Float32Array), [8, 16, 24]);
      assert.deepEqual(Array.from(out[1] as Float32Array), Array.from({ length: 12 }, (_, k) => 8 * k + 0.5));
      assert.throws(() => head.apply(tf.zeros([1, 2, 2, 3])), NasnetError);
      head.dispose();
    });
  });
}

describe('proposal config', () => {
  test('train/test defaults, partial override, named errors', () => {
    assert.equal(resolveProposalConfig({}, 'train').preNmsTopN, 12000);
    assert.equal(resolveProposalConfig({}, 'test').preNmsTopN, 6000);
    assert.equal(resolveProposalConfig({ postNmsTopN: 300 }, 'test').postNmsTopN, 300);
    assert.throws(() => resolveProposalConfig({ nmsThreshold: 1.5 }, 'test'), (e: unknown) => e instanceof NasnetError && e.details?.field === 'nmsThreshold');
  });
});
