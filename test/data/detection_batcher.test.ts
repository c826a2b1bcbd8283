import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { initEngine } from '../../core/engine.js';
import { NasnetError } from '../../core/errors.js';
import { decodeRgb, encodePng } from '../../core/image_io.js';
import type { RgbImage } from '../../core/resize.js';
import { loadCocoDataset, loadCocoSplit, type DetectionDataset } from '../../data/coco_dataset.js';
import { generateShapesDataset, resolveShapesConfig } from '../../data/shapes.js';
import { detectionBatches, normalizedBoxes, planDetectionResize, type DetectionBatch, type DetectionBatchOptions } from '../../data/detection_batcher.js';
import { tempDir } from './temp.js';

let shapes: DetectionDataset;
const BASE: DetectionBatchOptions = { batchSize: 2, seed: 1, shuffle: false, shortSide: 64, maxSide: 64, normalize: 'none' };

before(async () => {
  await initEngine({ backend: 'cpu' });
  const root = tempDir('det-batches');
  const config = resolveShapesConfig({ width: 64, height: 64, minObjectSize: 12, maxObjectSize: 30 });
  await generateShapesDataset({ outDir: root, train: 5, val: 0, seed: 4, config });
  shapes = await loadCocoSplit(root, 'train');
});

interface Host { images: Float32Array; shape: number[]; boxes: number[][]; labels: number[][]; metas: DetectionBatch['metas'] }

async function first(batches: AsyncGenerator<DetectionBatch>): Promise<Host> {
  const { value } = await batches.next();
  const batch = value as DetectionBatch;
  const host = {
    images: (await batch.images.data()) as Float32Array,
    shape: batch.images.shape,
    boxes: await Promise.all(batch.targets.map(async (t) => [...(await t.boxes.data())])),
    labels: await Promise.all(batch.targets.map(async (t) => [...(await t.labels.data())])),
    metas: batch.metas,
  };
  batch.dispose();
  await batches.return(undefined);
  return host;
}

/** Pixel (x, y) of image n of a host batch. */
function pixel(host: Host, n: number, x: number, y: number): number[] {
  const [, h, w] = host.shape;
  const o = ((n * h! + y) * w! + x) * 3;
  return [...host.images.subarray(o, o + 3)];
}

async function decoded(dataset: DetectionDataset, index: number): Promise<RgbImage> {
  return (await decodeRgb(readFileSync(dataset.records[index]!.path))).image;
}

describe('detectionBatches', () => {
  test('without augmentation: the decoded pixels, boxes as [y1,x1,y2,x2] / input size, labels and meta', async () => {
    const host = await first(detectionBatches(shapes, BASE, 0));
    assert.deepEqual(host.shape, [2, 64, 64, 3]);
    const image = await decoded(shapes, 1);
    assert.deepEqual(pixel(host, 1, 10, 20), [...image.data.subarray((20 * 64 + 10) * 3, (20 * 64 + 10) * 3 + 3)]);
    const record = shapes.records[1]!;
    const expected = record.boxes.flatMap(([x, y, w, h]) => [y / 64, x / 64, (y + h) / 64, (x + w) / 64].map(Math.fround));
    assert.deepEqual(host.boxes[1], expected);
    assert.deepEqual(host.labels[1], record.labels);
    assert.deepEqual(host.metas[1], {
      width: 64, height: 64, inputWidth: 64, inputHeight: 64, scaleX: 1, scaleY: 1, padLeft: 0, padTop: 0,
      index: 1, imageId: record.imageId, resizedWidth: 64, resizedHeight: 64, flipped: false,
    });
  });

  test('flip mirrors the pixels and the boxes exactly', async () => {
    const options = { ...BASE, augment: { scaleRange: [1, 1] as const, flipProbability: 1 } };
    const host = await first(detectionBatches(shapes, options, 0));
    const image = await decoded(shapes, 0);
    for (const [x, y] of [[0, 0], [5, 9], [63, 40]] as const) {
      const o = (y * 64 + (63 - x)) * 3;
      assert.deepEqual(pixel(host, 0, x, y), [...image.data.subarray(o, o + 3)]);
    }
    const expected = shapes.records[0]!.boxes.flatMap(([x, y, w, h]) => [y / 64, (64 - x - w) / 64, (y + h) / 64, (64 - x) / 64].map(Math.fround));
    assert.deepEqual(host.boxes[0], expected);
    assert.equal(host.metas[0]!.flipped, true);
  });

  test('resizing scales the boxes and pads right/bottom with zeros up to the size divisor', async () => {
    const host = await first(detectionBatches(shapes, { ...BASE, shortSide: 48, maxSide: 100, normalize: 'tf' }, 0));
    assert.deepEqual(host.shape, [2, 64, 64, 3]);
    assert.equal(host.metas[0]!.scaleX, 0.75);
    assert.equal(host.metas[0]!.resizedHeight, 48);
    const expected = shapes.records[0]!.boxes.flatMap(([x, y, w, h]) => [0.75 * y / 64, 0.75 * x / 64, 0.75 * (y + h) / 64, 0.75 * (x + w) / 64].map(Math.fround));
    host.boxes[0]!.forEach((v, i) => assert.ok(Math.abs(v - expected[i]!) < 1e-6));
    assert.deepEqual(pixel(host, 0, 47, 50), [0, 0, 0]);
    assert.deepEqual(pixel(host, 0, 50, 10), [0, 0, 0]);
    assert.ok(pixel(host, 0, 47, 47).some((v) => v !== 0));
  });

  test('images of different sizes share the padded frame of the largest; a size mismatch with the JSON is INVALID_DATA', async () => {
    const dir = tempDir('det-sizes');
    const solid = (width: number, height: number, v: number): RgbImage => ({ data: new Uint8Array(width * height * 3).fill(v), width, height });
    mkdirSync(join(dir, 'img'));
    writeFileSync(join(dir, 'img', 'wide.png'), await encodePng(solid(40, 30, 100)));
    writeFileSync(join(dir, 'img', 'tall.png'), await encodePng(solid(20, 50, 200)));
    const instances = {
      images: [{ id: 1, file_name: 'wide.png', width: 40, height: 30 }, { id: 2, file_name: 'tall.png', width: 20, height: 50 }],
      categories: [{ id: 5, name: 'thing' }],
      annotations: [{ id: 1, image_id: 2, category_id: 5, bbox: [5, 10, 10, 20] }],
    };
    writeFileSync(join(dir, 'a.json'), JSON.stringify(instances));
    const dataset = await loadCocoDataset(join(dir, 'a.json'), join(dir, 'img'));
    // wide: scale min(30/30, 40/40) = 1 -> 40x30; tall: min(30/20, 40/50) = 0.8 -> 16x40; frame 40x40 (divisor 8).
    assert.deepEqual(planDetectionResize(20, 50, 30, 40), { width: 16, height: 40 });
    const host = await first(detectionBatches(dataset, { ...BASE, shortSide: 30, maxSide: 40, sizeDivisor: 8 }, 0));
    assert.deepEqual(host.shape, [2, 40, 40, 3]);
    assert.deepEqual(pixel(host, 0, 39, 29), [100, 100, 100]);
    assert.deepEqual(pixel(host, 0, 39, 30), [0, 0, 0]);
    assert.deepEqual(pixel(host, 1, 15, 39), [200, 200, 200]);
    assert.deepEqual(pixel(host, 1, 16, 0), [0, 0, 0]);
    assert.deepEqual(host.boxes, [[], [...normalizedBoxes([[4, 8, 8, 16]], 40, 40)]]);
    assert.deepEqual(host.labels, [[], [1]]);
    instances.images[0]!.width = 41;
    writeFileSync(join(dir, 'b.json'), JSON.stringify(instances));
    const wrong = await loadCocoDataset(join(dir, 'b.json'), join(dir, 'img'));
    await assert.rejects(first(detectionBatches(wrong, BASE, 0)),
      (e: unknown) => e instanceof NasnetError && e.code === 'INVALID_DATA' && e.message.includes('wide.png') && e.message.includes('41x30'));
  });

  test('scale jitter varies the input size per sample and epoch; no tensor leaks', async () => {
    const before = tf.memory().numTensors;
    const options = { ...BASE, shuffle: true, augment: { scaleRange: [0.5, 1.5] as const, flipProbability: 0.5 } };
    const sizes = new Set<number>();
    for (let epoch = 0; epoch < 3; epoch++) {
      for await (const batch of detectionBatches(shapes, options, epoch)) {
        for (const meta of batch.metas) {
          sizes.add(meta.resizedWidth);
          assert.equal(meta.inputWidth % 32, 0);
          assert.ok(meta.inputWidth >= meta.resizedWidth);
        }
        batch.dispose();
      }
    }
    assert.ok(sizes.size >= 8, `${sizes.size} distinct sizes`);
    for await (const batch of detectionBatches(shapes, options, 0)) {
      batch.dispose();
      break;
    }
    assert.equal(tf.memory().numTensors, before);
  });
});
