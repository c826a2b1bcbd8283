import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { initEngine } from '../../core/engine.js';
import { NasnetError } from '../../core/errors.js';
import { createPrng } from '../../core/prng.js';
import { encodeBoxes, RPN_BOX_CODE_WEIGHTS } from '../../detection/box_coder.js';
import { gatherRows, iouMatrix, swapXy } from '../../detection/box_ops.js';
import {
  clampedMatches,
  matchBoxes,
  matchQuality,
  roiLabels,
  rpnLabels,
  ROI_MATCHER_CONFIG,
  RPN_MATCHER_CONFIG,
  type MatcherConfig,
} from '../../detection/matcher.js';
import { sampleBalanced } from '../../detection/sampler.js';
import { f32, fixtureCase, i32, maxAbsDiff, yxyx } from './fixture_io.js';

function configOf(params: Record<string, unknown>): MatcherConfig {
  return { highThreshold: params.high as number, lowThreshold: params.low as number, allowLowQualityMatches: params.allow_low_quality_matches as boolean };
}

describe('matcher vs torchvision Matcher (matcher.json), exact', () => {
  before(async () => {
    await initEngine({ backend: 'cpu' });
  });

  for (const name of ['rpn_handcrafted', 'rpn_zero_overlap_gt_quirk']) {
    test(`${name}: matches from the quality matrix`, () => {
      const c = fixtureCase('matcher.json', name);
      const q = c.inputs.match_quality_matrix;
      assert.deepEqual(Array.from(matchQuality(f32(q), q.shape[0] as number, configOf(c.params))), Array.from(i32(c.expected.matches)));
    });
  }

  test('rpn_gt_vs_anchors: IoU matrix, matches, labels, regression targets, sampler counts', () => {
    const c = fixtureCase('matcher.json', 'rpn_gt_vs_anchors');
    const gt = yxyx(c.inputs.gt_boxes);
    const anchors = yxyx(c.inputs.anchors);
    assert.equal(maxAbsDiff(iouMatrix(gt, anchors), f32(c.expected.match_quality_matrix)), 0);
    const matches = matchBoxes(gt, anchors, configOf(c.params));
    assert.deepEqual(Array.from(matches), Array.from(i32(c.expected.matches)));
    const labels = rpnLabels(matches);
    assert.deepEqual(Array.from(labels), Array.from(f32(c.expected.labels)));
    const n = anchors.length / 4;
    const targets = tf.tidy(() =>
      encodeBoxes(tf.tensor2d(gatherRows(gt, clampedMatches(matches)), [n, 4]), tf.tensor2d(anchors, [n, 4]), RPN_BOX_CODE_WEIGHTS).dataSync(),
    );
    const want = swapXy(f32(c.expected.regression_targets));
    let worst = 0;
    want.forEach((w, k) => (worst = Math.max(worst, Math.abs((targets[k] as number) - w) / Math.max(1, Math.abs(w)))));
    assert.ok(worst <= 1e-5, `regression targets rel err ${worst}`);
    const sample = sampleBalanced(labels, { batchSizePerImage: 256, positiveFraction: 0.5 }, createPrng(1));
    assert.equal(sample.positive.length, c.expected.sampler_num_pos as unknown as number);
    assert.equal(sample.negative.length, c.expected.sampler_num_neg as unknown as number);
  });

  test('roi_heads_proposals: matches and class labels', () => {
    const c = fixtureCase('matcher.json', 'roi_heads_proposals');
    const matches = matchBoxes(yxyx(c.inputs.gt_boxes), yxyx(c.inputs.proposals), configOf(c.params));
    assert.deepEqual(Array.from(matches), Array.from(i32(c.expected.matches)));
    assert.deepEqual(Array.from(roiLabels(matches, i32(c.inputs.gt_labels))), Array.from(i32(c.expected.labels)));
  });
});

describe('matcher, hand-computed', () => {
  test('float32 thresholds: exactly 0.7 matches, exactly 0.3 is ignored, below is background', () => {
    const q = Float32Array.of(0.7, 0.3, 0.29, 0.69);
    const cfg = { ...RPN_MATCHER_CONFIG, allowLowQualityMatches: false };
    assert.deepEqual(Array.from(matchQuality(q, 1, cfg)), [0, -2, -1, -2]);
  });

  test('low-quality matches restore every tie of a gt best, to the prediction\'s own best gt', () => {
    // gt0 best 0.4 at p0 and p1 (tie); p1's own best is gt1 (0.45).
    const q = Float32Array.of(0.4, 0.4, 0.1, /* gt1 */ 0.0, 0.45, 0.9);
    assert.deepEqual(Array.from(matchQuality(q, 2, RPN_MATCHER_CONFIG)), [0, 1, 1]);
  });

  test('degenerate gt boxes are rejected; no gt means all background', () => {
    assert.throws(
      () => matchBoxes(Float32Array.of(0, 0, 0, 5), Float32Array.of(0, 0, 1, 1), ROI_MATCHER_CONFIG),
      (e: unknown) => e instanceof NasnetError && e.code === 'INVALID_DATA',
    );
    assert.deepEqual(Array.from(matchBoxes(new Float32Array(0), Float32Array.of(0, 0, 1, 1, 0, 0, 2, 2), ROI_MATCHER_CONFIG)), [-1, -1]);
  });
});
