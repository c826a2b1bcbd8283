import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { initEngine } from '../../core/engine.js';
import { batchedNonMaxSuppression, nonMaxSuppression } from '../../detection/nms.js';
import { f32, fixtureCase, i32, yxyx, type FixtureTensor } from './fixture_io.js';

const NMS_CASES = ['nms_clustered', 'nms_score_ties', 'nms_threshold_boundaries', 'nms_degenerate_and_duplicates', 'nms_empty'];
const BATCHED_CASES = ['batched_nms_small', 'batched_nms_score_ties', 'batched_nms_large'];

describe('nms vs torchvision nms / batched_nms (nms.json), exact indices and order', () => {
  for (const name of NMS_CASES) {
    test(name, () => {
      const c = fixtureCase('nms.json', name);
      for (const run of c.runs) {
        const keep = nonMaxSuppression(yxyx(c.inputs.boxes), f32(c.inputs.scores), run.iou_threshold as number);
        assert.deepEqual(Array.from(keep), Array.from(i32(run.keep as FixtureTensor)), `iou_threshold ${run.iou_threshold}`);
      }
    });
  }
  for (const name of BATCHED_CASES) {
    test(name, () => {
      const c = fixtureCase('nms.json', name);
      for (const run of c.runs) {
        const keep = batchedNonMaxSuppression(yxyx(c.inputs.boxes), f32(c.inputs.scores), i32(c.inputs.idxs), run.iou_threshold as number);
        assert.deepEqual(Array.from(keep), Array.from(i32(run.keep as FixtureTensor)), `iou_threshold ${run.iou_threshold}`);
      }
    });
  }

  test('maxOutput returns the first k of the full result', () => {
    const c = fixtureCase('nms.json', 'batched_nms_small');
    const full = i32(c.runs[0]?.keep as FixtureTensor);
    const keep = batchedNonMaxSuppression(yxyx(c.inputs.boxes), f32(c.inputs.scores), i32(c.inputs.idxs), 0.5, 10);
    assert.deepEqual(Array.from(keep), Array.from(full.subarray(0, 10)));
  });
});

describe('why not tf.image.nonMaxSuppression', () => {
  before(async () => {
    await initEngine({ backend: 'cpu' });
  });

  test('it suppresses at IoU == threshold (0.5 boundary pair), torchvision and ours keep', () => {
    const c = fixtureCase('nms.json', 'nms_threshold_boundaries');
    const run = c.runs.find((r) => r.iou_threshold === 0.5);
    assert.ok(run);
    const boxes = yxyx(c.inputs.boxes);
    const scores = f32(c.inputs.scores);
    const tfKeep = tf.tidy(() => tf.image.nonMaxSuppression(tf.tensor2d(boxes, [scores.length, 4]), tf.tensor1d(scores), scores.length, 0.5).dataSync());
    const ours = nonMaxSuppression(boxes, scores, 0.5);
    assert.deepEqual(Array.from(ours), Array.from(i32(run.keep as FixtureTensor)));
    assert.ok(tfKeep.length < ours.length, `tf kept ${tfKeep.length}, torchvision ${ours.length}`);
  });
});
