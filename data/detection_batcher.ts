// Detection batches: each image is resized so that its shorter side is `shortSide` (longer side at most
// `maxSide`), times a random scale-jitter factor, decoded and resized by image_io (libvips, off the main
// thread), flipped at random, then zero-padded at the right and bottom to the batch's largest size rounded
// up to `sizeDivisor`. Targets are the boxes as [y1,x1,y2,x2] normalized to that padded frame (STYLE.md)
// with contiguous labels 1..K; ImageMeta carries the original size and the resize scale back.
//
// Shape shorthand: N = images in the batch, H, W = padded input size, M = boxes of one image.
import * as tf from '@tensorflow/tfjs-core';
import { readFile } from 'node:fs/promises';
import type { ImageMeta } from '../core/image_meta.js';
import type { RgbImage } from '../core/resize.js';
import { fitRgb } from '../core/image_io.js';
import { NasnetError } from '../core/errors.js';
import type { BoxXywh, DetectionDataset, DetectionRecord } from './coco_dataset.js';
import { flipBoxesHorizontal, flipImageHorizontal, sampleDetectionAugment, scaleBoxes, type DetectionAugment } from './augment.js';
import { checkBatchOptions, epochBatches, packImage, prefetched, sampleStream, type BatchOptions } from './batcher.js';

export interface DetectionBatchOptions extends BatchOptions {
  /** Target length of the shorter image side before jitter, pixels. */
  readonly shortSide: number;
  /** Cap on the longer side before jitter, pixels. */
  readonly maxSide: number;
  /** Padded sizes are multiples of this (default 32). */
  readonly sizeDivisor?: number;
  /** Scale jitter + horizontal flip; omit for validation. */
  readonly augment?: DetectionAugment;
}

/** ImageMeta of a training image: input = original * scale (+ 0 pad), then mirrored when `flipped`. */
export interface TrainImageMeta extends ImageMeta {
  readonly index: number;
  readonly imageId: number;
  /** The resized image before padding occupies [0, resizedWidth) x [0, resizedHeight) of the input. */
  readonly resizedWidth: number;
  readonly resizedHeight: number;
  /** x_input = resizedWidth - x_original * scaleX when true. */
  readonly flipped: boolean;
}

export interface DetectionTargets {
  /** [M,4] float32 [y1,x1,y2,x2] in [0,1] of the padded input. */
  readonly boxes: tf.Tensor2D;
  /** [M] int32 contiguous labels 1..K. */
  readonly labels: tf.Tensor1D;
}

export interface DetectionBatch {
  /** [N,H,W,3] float32, padding 0. */
  readonly images: tf.Tensor4D;
  readonly targets: readonly DetectionTargets[];
  readonly metas: readonly TrainImageMeta[];
  readonly indices: readonly number[];
  dispose(): void;
}

/** Resized size of a width x height image: shorter side to shortSide, longer side <= maxSide, times jitter. */
export function planDetectionResize(width: number, height: number, shortSide: number, maxSide: number, jitter = 1): { width: number; height: number } {
  const scale = Math.min(shortSide / Math.min(width, height), maxSide / Math.max(width, height)) * jitter;
  return { width: Math.max(1, Math.round(width * scale)), height: Math.max(1, Math.round(height * scale)) };
}

/** COCO pixel boxes to [y1,x1,y2,x2] normalized by the frame size: flat [M*4]. */
export function normalizedBoxes(boxes: readonly BoxXywh[], frameWidth: number, frameHeight: number): Float32Array {
  const out = new Float32Array(boxes.length * 4);
  boxes.forEach(([x, y, w, h], i) => out.set([y / frameHeight, x / frameWidth, (y + h) / frameHeight, (x + w) / frameWidth], i * 4));
  return out;
}

interface Sample {
  readonly image: RgbImage;
  readonly boxes: BoxXywh[];
  readonly labels: readonly number[];
  readonly record: DetectionRecord;
  readonly index: number;
  readonly flipped: boolean;
}

async function loadSample(record: DetectionRecord, index: number, size: { width: number; height: number }, flip: boolean): Promise<Sample> {
  let bytes: Buffer;
  try {
    bytes = await readFile(record.path);
  } catch (error) {
    throw new NasnetError('IO_ERROR', `cannot read image ${record.path} (image_id ${record.imageId}): ${(error as Error).message}`, { path: record.path });
  }
  let fitted;
  try {
    fitted = await fitRgb(bytes, { ...size, mode: 'stretch', kernel: 'linear' });
  } catch (error) {
    if (error instanceof NasnetError) throw new NasnetError(error.code, `${record.path}: ${error.message}`, { ...error.details, path: record.path }, { cause: error });
    throw error;
  }
  if (fitted.meta.width !== record.width || fitted.meta.height !== record.height) {
    throw new NasnetError(
      'INVALID_DATA',
      `${record.path}: image is ${fitted.meta.width}x${fitted.meta.height} but its annotation (image_id ${record.imageId}) says ${record.width}x${record.height}`,
      { path: record.path, imageId: record.imageId },
    );
  }
  const scaled = scaleBoxes(record.boxes, size.width / record.width, size.height / record.height);
  return {
    image: flip ? flipImageHorizontal(fitted.image) : fitted.image,
    boxes: flip ? flipBoxesHorizontal(scaled, size.width) : scaled,
    labels: record.labels,
    record,
    index,
    flipped: flip,
  };
}

interface HostDetectionBatch {
  readonly images: Float32Array;
  readonly height: number;
  readonly width: number;
  readonly samples: readonly Sample[];
}

/**
 * The batches of one epoch of a detection dataset, after the first `skip` (to resume mid-epoch).
 * The order, the scales and the flips depend only on (seed, epoch).
 */
export function detectionBatches(dataset: DetectionDataset, options: DetectionBatchOptions, epoch: number, skip = 0): AsyncGenerator<DetectionBatch> {
  const fn = 'detectionBatches';
  checkBatchOptions(fn, options);
  const divisor = options.sizeDivisor ?? 32;
  for (const [field, value] of [['shortSide', options.shortSide], ['maxSide', options.maxSide], ['sizeDivisor', divisor]] as const) {
    if (!Number.isInteger(value) || value < 1) throw new NasnetError('INVALID_ARGUMENT', `${fn}: ${field} must be a positive integer; received ${value}`, { field });
  }
  const normalize = options.normalize ?? 'tf';
  const batches = epochBatches(dataset.records.length, options, epoch, skip);

  const load = async (job: number): Promise<HostDetectionBatch> => {
    const samples = await Promise.all(batches[job]!.map((index) => {
      const record = dataset.records[index]!;
      const { scale, flip } = options.augment === undefined
        ? { scale: 1, flip: false }
        : sampleDetectionAugment(sampleStream(options.seed, epoch, index), options.augment);
      const size = planDetectionResize(record.width, record.height, options.shortSide, options.maxSide, scale);
      return loadSample(record, index, size, flip);
    }));
    const roundUp = (v: number): number => Math.ceil(v / divisor) * divisor;
    const height = roundUp(Math.max(...samples.map((s) => s.image.height)));
    const width = roundUp(Math.max(...samples.map((s) => s.image.width)));
    const images = new Float32Array(samples.length * height * width * 3);
    samples.forEach((s, n) => packImage(images, n * height * width * 3, width, s.image, normalize));
    return { images, height, width, samples };
  };

  return prefetched(batches.length, options.prefetch ?? 1, load, (host) => {
    const { height, width, samples } = host;
    const images = tf.tensor4d(host.images, [samples.length, height, width, 3], 'float32');
    const targets = samples.map((s) => ({
      boxes: tf.tensor2d(normalizedBoxes(s.boxes, width, height), [s.boxes.length, 4], 'float32'),
      labels: tf.tensor1d(Int32Array.from(s.labels), 'int32'),
    }));
    const metas = samples.map((s): TrainImageMeta => ({
      width: s.record.width,
      height: s.record.height,
      inputWidth: width,
      inputHeight: height,
      scaleX: s.image.width / s.record.width,
      scaleY: s.image.height / s.record.height,
      padLeft: 0,
      padTop: 0,
      index: s.index,
      imageId: s.record.imageId,
      resizedWidth: s.image.width,
      resizedHeight: s.image.height,
      flipped: s.flipped,
    }));
    return {
      images,
      targets,
      metas,
      indices: samples.map((s) => s.index),
      dispose: () => tf.dispose([images, ...targets.flatMap((t) => [t.boxes, t.labels])]),
    };
  });
}
