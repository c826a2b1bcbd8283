// Target assignment glue: hand-built anchors, proposals and gt boxes with the expected labels and pairs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createPrng } from '../../core/prng.js';
import { properGroundTruth, roiTargets, rpnTargets } from '../../detection/targets.js';

const anchors = Float32Array.from([
  0, 0, 0.5, 0.5, // 0: equals gt 0 -> foreground
  0.5, 0.5, 1, 1, // 1: equals gt 1 -> foreground
  0, 0.5, 0.5, 1, // 2: no overlap -> background
  0.05, 0, 0.5, 0.5, // 3: IoU 0.9 with gt 0 -> foreground
  0.25, 0.25, 0.75, 0.75, // 4: IoU 1/7 with each gt -> background (< 0.3)
]);
const gt = { boxes: Float32Array.from([0, 0, 0.5, 0.5, 0.5, 0.5, 1, 1]), labels: Int32Array.from([2, 1]) };
const sampler = { batchSizePerImage: 8, positiveFraction: 0.5 };

test('rpnTargets: IoU >= 0.7 is foreground, < 0.3 background; matched gt rows pair each anchor with its box', () => {
  const t = rpnTargets(anchors, gt, sampler, createPrng(0));
  assert.deepEqual(Array.from(t.labels), [1, 1, 0, 1, 0]);
  assert.deepEqual(Array.from(t.matchedGt.subarray(0, 8)), [0, 0, 0.5, 0.5, 0.5, 0.5, 1, 1]);
  assert.deepEqual(Array.from(t.matchedGt.subarray(12, 16)), [0, 0, 0.5, 0.5]);
});

test('rpnTargets: the sampler caps positives at batch * fraction and fills with negatives', () => {
  const t = rpnTargets(anchors, gt, { batchSizePerImage: 2, positiveFraction: 0.5 }, createPrng(0));
  assert.equal(t.labels.filter((l) => l === 1).length, 1);
  assert.equal(t.labels.filter((l) => l === 0).length, 1);
  assert.equal(t.labels.filter((l) => l === -1).length, 3);
});

test('rpnTargets without gt: every sampled anchor is background and pairs with itself (zero code)', () => {
  const t = rpnTargets(anchors, { boxes: new Float32Array(0), labels: new Int32Array(0) }, sampler, createPrng(0));
  assert.deepEqual(Array.from(t.labels), [0, 0, 0, 0, 0]);
  assert.deepEqual(Array.from(t.matchedGt), Array.from(anchors));
});

test('roiTargets: gt boxes join the proposals; labels are the class of the matched gt, 0 for background', () => {
  const proposals = Float32Array.from([0, 0.5, 0.5, 1, 0.52, 0.5, 1, 1]); // bg, then IoU 0.96 with gt 1
  const t = roiTargets(proposals, gt, { batchSizePerImage: 8, positiveFraction: 0.75 }, createPrng(0));
  // candidates: [p0 bg, p1 -> gt1 (label 1), gt0 (label 2), gt1 (label 1)]; positives first (sorted), then negatives.
  assert.deepEqual(Array.from(t.labels), [1, 2, 1, 0]);
  assert.deepEqual(Array.from(t.rois), [Math.fround(0.52), 0.5, 1, 1, 0, 0, 0.5, 0.5, 0.5, 0.5, 1, 1, 0, 0.5, 0.5, 1]);
  assert.deepEqual(Array.from(t.matchedGt.subarray(0, 12)), [0.5, 0.5, 1, 1, 0, 0, 0.5, 0.5, 0.5, 0.5, 1, 1]);
});

test('properGroundTruth drops zero-area boxes with their labels', () => {
  const cleaned = properGroundTruth({ boxes: Float32Array.from([0, 0, 0.5, 0.5, 0.2, 0.2, 0.2, 0.6]), labels: Int32Array.from([3, 4]) });
  assert.deepEqual(Array.from(cleaned.labels), [3]);
  assert.deepEqual(Array.from(cleaned.boxes), [0, 0, 0.5, 0.5]);
});
