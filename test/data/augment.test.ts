import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createPrng } from '../../core/prng.js';
import type { RgbImage } from '../../core/resize.js';
import type { BoxXywh } from '../../data/coco_dataset.js';
import {
  augmentClassification, flipBoxesHorizontal, flipImageHorizontal, padCrop, resizeBilinear, sampleDetectionAugment, scaleBoxes,
} from '../../data/augment.js';

/** A width x height image with pixel (x, y) = [x, y, 7]. */
function coordinates(width: number, height: number): RgbImage {
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) data.set([x, y, 7], (y * width + x) * 3);
  return { data, width, height };
}

/** Tight box of the pixels whose red channel is 255. */
function scanBox(image: RgbImage): BoxXywh {
  let [x0, y0, x1, y1] = [Infinity, Infinity, -1, -1];
  for (let y = 0; y < image.height; y++) {
    for (let x = 0; x < image.width; x++) {
      if (image.data[(y * image.width + x) * 3] !== 255) continue;
      [x0, y0, x1, y1] = [Math.min(x0, x), Math.min(y0, y), Math.max(x1, x), Math.max(y1, y)];
    }
  }
  return [x0, y0, x1 - x0 + 1, y1 - y0 + 1];
}

describe('augment', () => {
  test('horizontal flip: pixel (x, y) moves to (W-1-x, y); boxes map x -> W - x - w exactly', () => {
    const flipped = flipImageHorizontal(coordinates(5, 2));
    assert.deepEqual([...flipped.data.subarray(0, 6)], [4, 0, 7, 3, 0, 7]);
    assert.deepEqual([...flipped.data.subarray(27, 30)], [0, 1, 7]);
    assert.deepEqual(flipBoxesHorizontal([[1, 0, 2, 1], [0, 3, 5, 2]], 5), [[2, 0, 2, 1], [0, 3, 5, 2]]);
    // A painted rectangle and its box stay together through the flip (pixel scan).
    const image = coordinates(13, 9);
    const box: BoxXywh = [2, 3, 4, 5];
    for (let y = 3; y < 8; y++) for (let x = 2; x < 6; x++) image.data[(y * 13 + x) * 3] = 255;
    assert.deepEqual(scanBox(image), box);
    assert.deepEqual(scanBox(flipImageHorizontal(image)), flipBoxesHorizontal([box], 13)[0]);
    assert.deepEqual(flipImageHorizontal(flipImageHorizontal(image)).data, image.data);
  });

  test('bilinear resize with half-pixel centres: hand-computed values', () => {
    const row: RgbImage = { data: new Uint8Array([0, 0, 0, 100, 200, 40]), width: 2, height: 1 };
    const up = resizeBilinear(row, 4, 1);
    // Source x for output i: (i + 0.5) / 2 - 0.5 = -0.25 (clamped to 0), 0.25, 0.75, 1.25 (clamped to 1).
    assert.deepEqual([...up.data], [0, 0, 0, 25, 50, 10, 75, 150, 30, 100, 200, 40]);
    const down = resizeBilinear(coordinates(4, 4), 2, 2);
    // Output (0, 0) samples source (0.5, 0.5), halfway between columns 0 and 1 and rows 0 and 1: x = y = 0.5,
    // rounded half up to 1; output (1, 1) samples (2.5, 2.5): 3.
    assert.deepEqual([...down.data.subarray(0, 3)], [1, 1, 7]);
    assert.deepEqual([...down.data.subarray(9, 12)], [3, 3, 7]);
    assert.deepEqual(scaleBoxes([[2, 4, 6, 8]], 0.5, 2), [[1, 8, 3, 16]]);
  });

  test('pad-crop: output (x, y) = input (x + dx - pad, y + dy - pad), zeros outside', () => {
    const image = coordinates(4, 3);
    const shifted = padCrop(image, 1, 0, 0);
    assert.deepEqual([...shifted.data.subarray(0, 3)], [0, 0, 0]);
    assert.deepEqual([...shifted.data.subarray((1 * 4 + 1) * 3, (1 * 4 + 1) * 3 + 3)], [0, 0, 7]);
    const left = padCrop(image, 2, 4, 2);
    assert.deepEqual([...left.data.subarray(0, 3)], [2, 0, 7]);
    assert.deepEqual([...left.data.subarray((0 * 4 + 2) * 3, (0 * 4 + 2) * 3 + 3)], [0, 0, 0]);
    assert.deepEqual(padCrop(image, 3, 3, 3).data, image.data);
  });

  test('seeded augmentation is reproducible and covers crops and flips', () => {
    const image = coordinates(32, 32);
    const a = augmentClassification(image, createPrng(5), { pad: 4, flipProbability: 0.5 });
    assert.deepEqual(a.data, augmentClassification(image, createPrng(5), { pad: 4, flipProbability: 0.5 }).data);
    const outcomes = new Set<string>();
    for (let seed = 0; seed < 200; seed++) {
      const out = augmentClassification(image, createPrng(seed), { pad: 4, flipProbability: 0.5 });
      // The pixel at (16, 16) reveals the crop offset and the flip.
      outcomes.add(`${out.data[(16 * 32 + 16) * 3]},${out.data[(16 * 32 + 16) * 3 + 1]}`);
    }
    assert.ok(outcomes.size > 60, `${outcomes.size} distinct crops`);
    const draws = Array.from({ length: 400 }, (_, seed) => sampleDetectionAugment(createPrng(seed), { scaleRange: [0.8, 1.2], flipProbability: 0.5 }));
    assert.ok(draws.every((d) => d.scale >= 0.8 && d.scale < 1.2));
    const flips = draws.filter((d) => d.flip).length;
    assert.ok(flips > 160 && flips < 240, `${flips} flips of 400`);
  });
});
