// placeholder-tiny: real tensor code with seeded weights. Deterministic, a proper softmax, boxes in the
// EXIF-oriented original frame (hand-computed mapping), no tensor leaks.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import type { ImageMeta } from '../../src/api/types.js';
import { initEngine } from '../../core/engine.js';
import { NasnetError } from '../../core/errors.js';
import { imagenetClasses } from '../../src/models/labels.js';
import { inputBoxToOriginalXywh, PlaceholderTinyClassifier, PlaceholderTinyDetector } from '../../src/models/placeholder_tiny.js';
import { jpegCard, pngCard, rotatedJpeg } from '../server/helpers.js';

test('inputBoxToOriginalXywh undoes a letterbox (hand-computed)', () => {
  // A 320x200 image letterboxed into 128x128: scale 0.4 -> 128x80, padded 24 px top and bottom.
  const meta: ImageMeta = { width: 320, height: 200, inputWidth: 128, inputHeight: 128, scaleX: 0.4, scaleY: 0.4, padLeft: 0, padTop: 24 };
  // Input box y 32..96 px, x 16..64 px -> original y (32-24)/0.4 = 20 .. (96-24)/0.4 = 180, x 40 .. 160.
  assert.deepEqual(inputBoxToOriginalXywh([0.25, 0.125, 0.75, 0.5], meta), [40, 20, 120, 160]);
  // Parts in the padding are clipped to the image: y 0..24 px is all padding.
  assert.deepEqual(inputBoxToOriginalXywh([0, 0, 0.1875, 1], meta), [0, 0, 320, 0]);
});

describe('placeholder-tiny models', () => {
  let classifier: PlaceholderTinyClassifier;
  let detector: PlaceholderTinyDetector;
  before(async () => {
    await initEngine({ backend: 'wasm' });
    classifier = new PlaceholderTinyClassifier({ maxPixels: 1_000_000, engine: 'wasm' });
    detector = new PlaceholderTinyDetector({ maxPixels: 1_000_000, engine: 'wasm' });
  });
  after(() => {
    classifier.dispose();
    detector.dispose();
  });

  test('classify: a softmax over the 1000 ImageNet classes, sorted, deterministic', async () => {
    const image = await pngCard(80, 60);
    const all = await classifier.classify(image, { topK: 1000 });
    const sum = all.predictions.reduce((s, p) => s + p.score, 0);
    assert.ok(Math.abs(sum - 1) < 1e-4, `probabilities sum to 1 (${sum})`);
    for (let i = 1; i < all.predictions.length; i++) assert.ok(all.predictions[i - 1]!.score >= all.predictions[i]!.score);
    assert.equal(new Set(all.predictions.map((p) => p.classId)).size, 1000);
    const top = all.predictions[0]!;
    assert.equal(top.wnid, imagenetClasses()[top.classId]!.wnid);
    const twin = new PlaceholderTinyClassifier({ maxPixels: 1_000_000, engine: 'wasm' });
    const again = await twin.classify(image, { topK: 3 });
    twin.dispose();
    assert.deepEqual(again.predictions, all.predictions.slice(0, 3), 'same seed, same image: same answer');
    assert.deepEqual([all.image.width, all.image.height, all.image.inputWidth], [80, 60, 64]);
  });

  test('detect: COCO ids and labels, boxes inside the oriented image, scores >= minScore, at most maxDetections', async () => {
    const rotated = await rotatedJpeg(90, 40); // displayed 40 wide, 90 high
    const { detections, image } = await detector.detect(rotated, { minScore: 0.01, maxDetections: 5 });
    assert.deepEqual([image.width, image.height], [40, 90]);
    assert.ok(detections.length > 0 && detections.length <= 5);
    for (const d of detections) {
      const [x, y, w, h] = d.bbox;
      assert.ok(x >= 0 && y >= 0 && w > 0 && h > 0 && x + w <= 40 + 1e-3 && y + h <= 90 + 1e-3, `${d.bbox}`);
      assert.ok(d.score >= 0.01 && d.score <= 1);
      assert.ok(d.categoryId >= 1 && d.categoryId <= 90);
    }
    const none = await detector.detect(rotated, { minScore: 1 });
    assert.equal(none.detections.length, 0);
  });

  test('no tensor survives a call', async () => {
    const image = await jpegCard(100, 70);
    await classifier.classify(image);
    await detector.detect(image);
    const before = tf.memory().numTensors;
    for (let i = 0; i < 5; i++) {
      await classifier.classify(image, { topK: 10 });
      await detector.detect(image, { minScore: 0 });
    }
    assert.equal(tf.memory().numTensors, before);
  });

  test('bad options and weights are typed errors', async () => {
    const image = await pngCard(8, 8);
    await assert.rejects(classifier.classify(image, { topK: 0 }), (e: unknown) => e instanceof NasnetError && e.code === 'INVALID_ARGUMENT');
    await assert.rejects(detector.detect(image, { minScore: 2 }), (e: unknown) => e instanceof NasnetError && e.code === 'INVALID_ARGUMENT');
    await assert.rejects(classifier.classify(Buffer.from('nope')), (e: unknown) => e instanceof NasnetError && e.code === 'NOT_AN_IMAGE');
    assert.throws(() => new PlaceholderTinyDetector({ weights: '/w.h5', maxPixels: 1, engine: 'wasm' }), /takes no weights file/);
  });
});
