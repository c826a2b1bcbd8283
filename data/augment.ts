// Data augmentation on 8-bit RGB images (interleaved [H,W,3]) and COCO pixel boxes, in plain JS so that
// a seeded Prng fully determines the result on every engine. Boxes follow every geometric change exactly.
//
// Conventions: pixel (i, j) covers [i, i+1) x [j, j+1); a box [x, y, w, h] spans [x, x+w) x [y, y+h).
// A horizontal flip maps column i to W-1-i, hence x to W - x - w; a resize by (sx, sy) maps x to x*sx.
import type { Prng } from '../core/prng.js';
import type { RgbImage } from '../core/resize.js';
import type { BoxXywh } from './coco_dataset.js';
import { NasnetError } from '../core/errors.js';

export function flipImageHorizontal(image: RgbImage): RgbImage {
  const { width, height, data } = image;
  const out = new Uint8Array(data.length);
  for (let y = 0; y < height; y++) {
    const row = y * width;
    for (let x = 0; x < width; x++) {
      const s = (row + x) * 3;
      const d = (row + width - 1 - x) * 3;
      out[d] = data[s]!;
      out[d + 1] = data[s + 1]!;
      out[d + 2] = data[s + 2]!;
    }
  }
  return { data: out, width, height };
}

export function flipBoxesHorizontal(boxes: readonly BoxXywh[], width: number): BoxXywh[] {
  return boxes.map(([x, y, w, h]) => [width - x - w, y, w, h]);
}

export function scaleBoxes(boxes: readonly BoxXywh[], scaleX: number, scaleY: number): BoxXywh[] {
  return boxes.map(([x, y, w, h]) => [x * scaleX, y * scaleY, w * scaleX, h * scaleY]);
}

/**
 * Bilinear resize with half-pixel centres (source coordinate (i + 0.5) * in/out - 0.5, clamped at the
 * edges), as tf.image.resizeBilinear(halfPixelCenters=true) and OpenCV INTER_LINEAR; no antialiasing.
 */
export function resizeBilinear(image: RgbImage, width: number, height: number): RgbImage {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new NasnetError('INVALID_ARGUMENT', `resizeBilinear: width and height must be positive integers; received ${width}x${height}`);
  }
  if (width === image.width && height === image.height) return image;
  const axis = (inSize: number, outSize: number): { lo: Int32Array; hi: Int32Array; t: Float32Array } => {
    const lo = new Int32Array(outSize);
    const hi = new Int32Array(outSize);
    const t = new Float32Array(outSize);
    for (let i = 0; i < outSize; i++) {
      const src = Math.min(inSize - 1, Math.max(0, (i + 0.5) * (inSize / outSize) - 0.5));
      lo[i] = Math.floor(src);
      hi[i] = Math.min(inSize - 1, lo[i]! + 1);
      t[i] = src - lo[i]!;
    }
    return { lo, hi, t };
  };
  const xs = axis(image.width, width);
  const ys = axis(image.height, height);
  const src = image.data;
  const out = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    const top = ys.lo[y]! * image.width;
    const bottom = ys.hi[y]! * image.width;
    const ty = ys.t[y]!;
    for (let x = 0; x < width; x++) {
      const tx = xs.t[x]!;
      const a = (top + xs.lo[x]!) * 3;
      const b = (top + xs.hi[x]!) * 3;
      const c = (bottom + xs.lo[x]!) * 3;
      const d = (bottom + xs.hi[x]!) * 3;
      const o = (y * width + x) * 3;
      for (let k = 0; k < 3; k++) {
        const upper = src[a + k]! + (src[b + k]! - src[a + k]!) * tx;
        const lower = src[c + k]! + (src[d + k]! - src[c + k]!) * tx;
        out[o + k] = Math.round(upper + (lower - upper) * ty);
      }
    }
  }
  return { data: out, width, height };
}

/**
 * Zero-pads by `pad` on every side, then cuts the original size back out at offset (dx, dy) of the padded
 * image, 0 <= dx, dy <= 2*pad: output pixel (x, y) = input (x + dx - pad, y + dy - pad), or 0 outside.
 */
export function padCrop(image: RgbImage, pad: number, dx: number, dy: number): RgbImage {
  const { width, height, data } = image;
  const out = new Uint8Array(data.length);
  for (let y = 0; y < height; y++) {
    const sy = y + dy - pad;
    if (sy < 0 || sy >= height) continue;
    const x0 = Math.max(0, pad - dx);
    const x1 = Math.min(width, width + pad - dx);
    if (x1 > x0) out.set(data.subarray((sy * width + x0 + dx - pad) * 3, (sy * width + x1 + dx - pad) * 3), (y * width + x0) * 3);
  }
  return { data: out, width, height };
}

export interface ClassificationAugment {
  /** Zero padding before the random crop (CIFAR: 4); 0 turns cropping off. */
  readonly pad: number;
  readonly flipProbability: number;
}

export const DEFAULT_CLASSIFICATION_AUGMENT: ClassificationAugment = { pad: 4, flipProbability: 0.5 };

/** CIFAR-style augmentation: random crop of the zero-padded image, then a random horizontal flip. */
export function augmentClassification(image: RgbImage, prng: Prng, augment: ClassificationAugment): RgbImage {
  const span = 2 * augment.pad + 1;
  const dx = prng.int(span);
  const dy = prng.int(span);
  const flip = prng.next() < augment.flipProbability;
  const cropped = augment.pad > 0 ? padCrop(image, augment.pad, dx, dy) : image;
  return flip ? flipImageHorizontal(cropped) : cropped;
}

export interface DetectionAugment {
  /** The resize scale is multiplied by a factor drawn uniformly from [min, max] (scale jitter). */
  readonly scaleRange: readonly [number, number];
  readonly flipProbability: number;
}

export const DEFAULT_DETECTION_AUGMENT: DetectionAugment = { scaleRange: [0.8, 1.2], flipProbability: 0.5 };

/** The random choices of one detection sample: a scale factor and whether to flip. */
export function sampleDetectionAugment(prng: Prng, augment: DetectionAugment): { scale: number; flip: boolean } {
  const [lo, hi] = augment.scaleRange;
  const scale = prng.uniform(lo, hi);
  return { scale, flip: prng.next() < augment.flipProbability };
}
