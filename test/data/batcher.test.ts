import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { initEngine } from '../../core/engine.js';
import { NasnetError } from '../../core/errors.js';
import type { RgbImage } from '../../core/resize.js';
import { cifar10Source, type ClassificationSource } from '../../data/classification_source.js';
import { cifar10Image, type Cifar10Split } from '../../data/cifar10.js';
import { augmentClassification } from '../../data/augment.js';
import { batchesPerEpoch, classificationBatches, epochOrder, sampleStream, type ClassificationBatchOptions } from '../../data/batcher.js';

const COUNT = 10;

/** Sample i: pixel (x, y) = [x, y, 20 i], label i % 3. */
function split(): Cifar10Split {
  const images = new Uint8Array(COUNT * 32 * 32 * 3);
  for (let i = 0; i < COUNT; i++) {
    for (let p = 0; p < 1024; p++) images.set([p % 32, Math.floor(p / 32), 20 * i], (i * 1024 + p) * 3);
  }
  return { classes: ['a', 'b', 'c'], count: COUNT, labels: Uint8Array.from({ length: COUNT }, (_, i) => i % 3), images };
}

const DATA = split();
const SOURCE = cifar10Source(DATA, 'memory');
const VAL: ClassificationBatchOptions = { batchSize: 4, seed: 3, shuffle: false, size: 32 };
const TRAIN: ClassificationBatchOptions = { ...VAL, shuffle: true, augment: { pad: 4, flipProbability: 0.5 } };

async function collect(batches: AsyncIterable<{ images: tf.Tensor4D; labels: tf.Tensor1D; indices: readonly number[]; dispose(): void }>) {
  const out: { indices: number[]; labels: number[]; images: Float32Array; shape: number[] }[] = [];
  for await (const batch of batches) {
    out.push({ indices: [...batch.indices], labels: [...(await batch.labels.data())], images: (await batch.images.data()) as Float32Array, shape: batch.images.shape });
    batch.dispose();
  }
  return out;
}

before(async () => {
  await initEngine({ backend: 'cpu' });
});

describe('classificationBatches', () => {
  test('validation batches keep the order; shapes, labels and normalized pixel values are exact', async () => {
    const batches = await collect(classificationBatches(SOURCE, VAL, 0));
    assert.deepEqual(batches.map((b) => b.indices), [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]);
    assert.deepEqual(batches.map((b) => b.shape), [[4, 32, 32, 3], [4, 32, 32, 3], [2, 32, 32, 3]]);
    assert.deepEqual(batches[2]!.labels, [2, 0]);
    // Row 1 of batch 1 is sample 5; its pixel (x=7, y=2) is [7, 2, 100] -> x/127.5 - 1.
    const at = ((1 * 32 + 2) * 32 + 7) * 3;
    assert.deepEqual([...batches[1]!.images.subarray(at, at + 3)], [7 / 127.5 - 1, 2 / 127.5 - 1, 100 / 127.5 - 1].map(Math.fround));
    const raw = await collect(classificationBatches(SOURCE, { ...VAL, normalize: 'none' }, 0));
    assert.deepEqual([...raw[1]!.images.subarray(at, at + 3)], [7, 2, 100]);
    assert.equal(batchesPerEpoch(COUNT, 4), 3);
    assert.equal((await collect(classificationBatches(SOURCE, { ...VAL, dropLast: true }, 0))).length, 2);
  });

  test('shuffling depends on (seed, epoch) only; every sample once per epoch', () => {
    const e0 = epochOrder(COUNT, 3, 0, true);
    assert.deepEqual(e0, epochOrder(COUNT, 3, 0, true));
    assert.notDeepEqual(e0, epochOrder(COUNT, 3, 1, true));
    assert.notDeepEqual(e0, epochOrder(COUNT, 4, 0, true));
    assert.deepEqual([...e0].sort((a, b) => a - b), [...Array(COUNT).keys()]);
  });

  test('augmentation is per sample: the same with another batch size, and resuming with skip repeats the tail', async () => {
    const full = await collect(classificationBatches(SOURCE, TRAIN, 2));
    assert.deepEqual(full.flatMap((b) => b.indices), epochOrder(COUNT, 3, 2, true));
    const resumed = await collect(classificationBatches(SOURCE, TRAIN, 2, 1));
    assert.deepEqual(resumed, full.slice(1));
    const other = await collect(classificationBatches(SOURCE, { ...TRAIN, batchSize: 3 }, 2));
    const rowOf = (batches: typeof full, index: number): Float32Array => {
      for (const b of batches) {
        const row = b.indices.indexOf(index);
        if (row >= 0) return b.images.subarray(row * 3072, (row + 1) * 3072);
      }
      throw new Error(`sample ${index} missing`);
    };
    for (let i = 0; i < COUNT; i++) {
      const expected = augmentClassification(cifar10Image(DATA, i), sampleStream(3, 2, i), TRAIN.augment!);
      assert.deepEqual(rowOf(full, i), Float32Array.from(expected.data, (v) => v / 127.5 - 1));
      assert.deepEqual(rowOf(other, i), rowOf(full, i));
    }
    const nextEpoch = await collect(classificationBatches(SOURCE, { ...TRAIN, shuffle: false }, 3));
    assert.notDeepEqual(rowOf(nextEpoch, 0), rowOf(full, 0), 'a new epoch draws new crops');
  });

  test('prefetch loads the next batch while the current one is consumed', async () => {
    const calls: number[] = [];
    const counting: ClassificationSource = { ...SOURCE, load: (i, side) => (calls.push(i), SOURCE.load(i, side)) };
    for (const [prefetch, expected] of [[1, 8], [0, 4], [2, 10]] as const) {
      calls.length = 0;
      const iterator = classificationBatches(counting, { ...VAL, prefetch }, 0);
      const first = await iterator.next();
      await new Promise((resolve) => setImmediate(resolve));
      assert.equal(calls.length, expected, `prefetch ${prefetch}`);
      (first.value as { dispose(): void }).dispose();
      await iterator.return(undefined);
    }
  });

  test('no tensor leaks over full epochs, early exits and load failures', async () => {
    const before = tf.memory().numTensors;
    for (let epoch = 0; epoch < 3; epoch++) await collect(classificationBatches(SOURCE, TRAIN, epoch));
    for await (const batch of classificationBatches(SOURCE, TRAIN, 0)) {
      batch.dispose();
      break;
    }
    const failing: ClassificationSource = {
      ...SOURCE,
      load: async (i, side): Promise<RgbImage> => {
        if (i === 6) throw new NasnetError('NOT_AN_IMAGE', 'sample 6 is broken');
        return SOURCE.load(i, side);
      },
    };
    await assert.rejects(collect(classificationBatches(failing, VAL, 0)), /sample 6 is broken/);
    // Leaving before the failing batch is reached must not surface its rejection.
    for await (const batch of classificationBatches(failing, { ...VAL, prefetch: 2 }, 0)) {
      batch.dispose();
      break;
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(tf.memory().numTensors, before);
  });

  test('bad options are INVALID_ARGUMENT naming the field', () => {
    assert.throws(() => classificationBatches(SOURCE, { ...VAL, batchSize: 0 }, 0), (e: unknown) => e instanceof NasnetError && e.message.includes('batchSize'));
    assert.throws(() => classificationBatches(SOURCE, VAL, -1), (e: unknown) => e instanceof NasnetError && e.message.includes('epoch'));
  });
});
