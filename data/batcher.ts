// Batches for the training loops: an async generator per epoch that shuffles with (seed, epoch), loads
// and augments each sample with its own stream (seed, epoch, sample), and builds float32 NHWC tensors.
// The next batch is loaded (files read, decoded on libuv's pool, augmented, packed into typed arrays)
// while the consumer trains on the current one; tensors are created only when a batch is handed over.
//
// Ownership: the consumer owns each yielded batch and calls batch.dispose() (runTraining does). Nothing
// else holds tensors, so leaving the loop early (break, error) leaks nothing.
//
// Shape shorthand: N = batch size, S = classification side, H, W = padded detection input, M = boxes.
import * as tf from '@tensorflow/tfjs-core';
import { createPrng } from '../core/prng.js';
import { NasnetError } from '../core/errors.js';
import type { RgbImage } from '../core/resize.js';
import { STREAM, deriveSeed } from './seed.js';
import { augmentClassification, type ClassificationAugment } from './augment.js';
import type { ClassificationSource } from './classification_source.js';

/** 'tf': x/127.5 - 1 (Keras NASNet "tf" mode; the TF detection API's (2/255)x - 1); 'none': 0..255. */
export const PIXEL_NORMALIZATIONS = ['tf', 'none'] as const;
export type PixelNormalization = (typeof PIXEL_NORMALIZATIONS)[number];

export interface BatchOptions {
  readonly batchSize: number;
  readonly seed: number;
  /** Reshuffle every epoch (training); false keeps the dataset order (validation). */
  readonly shuffle: boolean;
  /** Drop the last batch when it is smaller than batchSize (default false). */
  readonly dropLast?: boolean;
  /** Batches loaded ahead of the one being consumed (default 1; 0 = load on demand). */
  readonly prefetch?: number;
  /** Default 'tf'. Padding is 0 after normalization. */
  readonly normalize?: PixelNormalization;
}

export interface ClassificationBatchOptions extends BatchOptions {
  /** Input side S: every image is stretched to S x S. */
  readonly size: number;
  /** Random crop + flip; omit for validation. */
  readonly augment?: ClassificationAugment;
}

export interface ClassificationBatch {
  /** [N,S,S,3] float32. */
  readonly images: tf.Tensor4D;
  /** [N] int32 class indices. */
  readonly labels: tf.Tensor1D;
  /** Dataset index of each row. */
  readonly indices: readonly number[];
  dispose(): void;
}

function checkInteger(fn: string, field: string, value: unknown, min: number): void {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
    throw new NasnetError('INVALID_ARGUMENT', `${fn}: ${field} must be an integer >= ${min}; received ${String(value)}`, { field });
  }
}

/** Checks the options every batcher shares. */
export function checkBatchOptions(fn: string, options: BatchOptions): void {
  checkInteger(fn, 'batchSize', options.batchSize, 1);
  checkInteger(fn, 'seed', options.seed, Number.MIN_SAFE_INTEGER);
  checkInteger(fn, 'prefetch', options.prefetch ?? 1, 0);
  const normalize = options.normalize ?? 'tf';
  if (!PIXEL_NORMALIZATIONS.includes(normalize)) {
    throw new NasnetError('INVALID_ARGUMENT', `${fn}: normalize must be one of ${PIXEL_NORMALIZATIONS.join(', ')}; received ${JSON.stringify(normalize)}`, { field: 'normalize' });
  }
}

/** Batches in one epoch of `count` samples. */
export function batchesPerEpoch(count: number, batchSize: number, dropLast = false): number {
  return dropLast ? Math.floor(count / batchSize) : Math.ceil(count / batchSize);
}

/** The sample order of an epoch: a pure function of (count, seed, epoch) when shuffling, else 0..count-1. */
export function epochOrder(count: number, seed: number, epoch: number, shuffle: boolean): number[] {
  const order = Array.from({ length: count }, (_, i) => i);
  return shuffle ? createPrng(deriveSeed(seed, STREAM.SHUFFLE, epoch)).shuffle(order) : order;
}

/** The random stream that augments sample `index` in `epoch` (independent of batch composition). */
export function sampleStream(seed: number, epoch: number, index: number): ReturnType<typeof createPrng> {
  return createPrng(deriveSeed(seed, STREAM.AUGMENT, epoch, index));
}

/** The dataset indices of each batch of an epoch, after the first `skip` batches. */
export function epochBatches(count: number, options: BatchOptions, epoch: number, skip: number): number[][] {
  checkInteger('epochBatches', 'epoch', epoch, 0);
  checkInteger('epochBatches', 'skip', skip, 0);
  const order = epochOrder(count, options.seed, epoch, options.shuffle);
  const batches: number[][] = [];
  const total = batchesPerEpoch(count, options.batchSize, options.dropLast);
  for (let b = skip; b < total; b++) batches.push(order.slice(b * options.batchSize, (b + 1) * options.batchSize));
  return batches;
}

/**
 * Yields toBatch(load(job)) for job 0..jobs-1, keeping `depth` loads in flight ahead of the consumer.
 * Loads that are abandoned (early exit) settle unobserved: their rejections are handled here.
 */
export async function* prefetched<H, B>(jobs: number, depth: number, load: (job: number) => Promise<H>, toBatch: (host: H) => B): AsyncGenerator<B> {
  const pending: Promise<H>[] = [];
  let next = 0;
  const fill = (target: number): void => {
    while (pending.length < target && next < jobs) {
      const promise = load(next++);
      promise.catch(() => undefined);
      pending.push(promise);
    }
  };
  fill(1);
  while (pending.length > 0) {
    const host = await pending.shift()!;
    fill(depth);
    yield toBatch(host);
    fill(1);
  }
}

/** Writes 8-bit RGB pixels into a float NHWC buffer row by row at (top, left) of a frame `frameWidth` wide. */
export function packImage(out: Float32Array, offset: number, frameWidth: number, image: RgbImage, normalize: PixelNormalization): void {
  const a = normalize === 'tf' ? 1 / 127.5 : 1;
  const b = normalize === 'tf' ? -1 : 0;
  const { data, width, height } = image;
  for (let y = 0; y < height; y++) {
    const src = y * width * 3;
    const dst = offset + y * frameWidth * 3;
    for (let i = 0; i < width * 3; i++) out[dst + i] = data[src + i]! * a + b;
  }
}

interface HostClassificationBatch {
  readonly images: Float32Array;
  readonly labels: Int32Array;
  readonly indices: number[];
}

/**
 * The batches of one epoch of a classification source, after the first `skip` (to resume mid-epoch).
 * The order and the augmentation depend only on (seed, epoch).
 */
export function classificationBatches(
  source: ClassificationSource,
  options: ClassificationBatchOptions,
  epoch: number,
  skip = 0,
): AsyncGenerator<ClassificationBatch> {
  checkBatchOptions('classificationBatches', options);
  checkInteger('classificationBatches', 'size', options.size, 1);
  const side = options.size;
  const normalize = options.normalize ?? 'tf';
  const batches = epochBatches(source.count, options, epoch, skip);
  const pixels = side * side * 3;

  const load = async (job: number): Promise<HostClassificationBatch> => {
    const indices = batches[job]!;
    const loaded = await Promise.all(indices.map((index) => source.load(index, side)));
    const images = new Float32Array(indices.length * pixels);
    loaded.forEach((image, row) => {
      const sample = options.augment === undefined ? image : augmentClassification(image, sampleStream(options.seed, epoch, indices[row]!), options.augment);
      packImage(images, row * pixels, side, sample, normalize);
    });
    return { images, labels: Int32Array.from(indices, (i) => source.label(i)), indices };
  };

  return prefetched(batches.length, options.prefetch ?? 1, load, (host) => {
    const n = host.indices.length;
    const images = tf.tensor4d(host.images, [n, side, side, 3], 'float32');
    const labels = tf.tensor1d(host.labels, 'int32');
    return { images, labels, indices: host.indices, dispose: () => tf.dispose([images, labels]) };
  });
}
