// Geometry of fitting an image into a network input, and the exact PIL NEAREST resize.
// No sharp and no TensorFlow.js here: pure index math on interleaved RGB bytes, so the same plan drives
// both the sharp pipeline (image_io.ts) and the JS gather below, and the ImageMeta is exact for both.
//
// Shape shorthand: H, W = source size (EXIF-oriented); OH, OW = network input size; RH, RW = size of the
// resized image before it is padded (letterbox) or cropped (center-crop) to OH, OW. Pixels are HWC, C = 3.
import type { ImageMeta } from './image_meta.js';
import { NasnetError } from './errors.js';

/** An 8-bit RGB image, rows top to bottom, channels interleaved ([H,W,3] in C order). */
export interface RgbImage {
  readonly data: Uint8Array;
  readonly width: number;
  readonly height: number;
}

export type Rgb = readonly [number, number, number];

/**
 * `stretch`: scale each axis independently to the input size (Keras `load_img`, TF-slim eval).
 * `letterbox`: keep the aspect ratio, fit inside, pad the rest with `padColor`.
 * `center-crop`: keep the aspect ratio, cover the input, cut the overflow equally on both sides.
 */
export const RESIZE_MODES = ['stretch', 'letterbox', 'center-crop'] as const;
export type ResizeMode = (typeof RESIZE_MODES)[number];

/** Where a letterboxed image sits: centred (padding split evenly), or top-left (padding right/bottom only). */
export const LETTERBOX_ALIGNS = ['center', 'top-left'] as const;
export type LetterboxAlign = (typeof LETTERBOX_ALIGNS)[number];

/** How the source lands in the input: resized to RW x RH, its top-left corner at (left, top) (negative = cropped). */
export interface FitPlan {
  readonly width: number;
  readonly height: number;
  readonly resizedWidth: number;
  readonly resizedHeight: number;
  readonly left: number;
  readonly top: number;
}

function checkSize(fn: string, field: string, value: number): void {
  if (!Number.isInteger(value) || value < 1) {
    throw new NasnetError('INVALID_ARGUMENT', `${fn}: ${field} must be a positive integer; received ${String(value)}`, { field });
  }
}

/** Computes where a srcWidth x srcHeight image lands in a width x height input for the given mode. */
export function planFit(
  srcWidth: number,
  srcHeight: number,
  width: number,
  height: number,
  mode: ResizeMode,
  align: LetterboxAlign = 'center',
): FitPlan {
  for (const [field, value] of [['srcWidth', srcWidth], ['srcHeight', srcHeight], ['width', width], ['height', height]] as const) {
    checkSize('planFit', field, value);
  }
  if (mode === 'stretch') return { width, height, resizedWidth: width, resizedHeight: height, left: 0, top: 0 };
  const scale = mode === 'letterbox' ? Math.min(width / srcWidth, height / srcHeight) : Math.max(width / srcWidth, height / srcHeight);
  // The axis that decides the scale gets exactly the input size; the other one is rounded (at least 1 pixel).
  const clampTo = (v: number, limit: number): number => (mode === 'letterbox' ? Math.min(v, limit) : Math.max(v, limit));
  const resizedWidth = Math.max(1, clampTo(Math.round(srcWidth * scale), width));
  const resizedHeight = Math.max(1, clampTo(Math.round(srcHeight * scale), height));
  const centred = mode === 'center-crop' || align === 'center';
  // Half the slack rounded towards zero: pad (slack > 0) and crop (slack < 0) both put the odd pixel right/bottom.
  const half = (slack: number): number => (centred ? (slack - (slack % 2)) / 2 : 0);
  const left = half(width - resizedWidth);
  const top = half(height - resizedHeight);
  return { width, height, resizedWidth, resizedHeight, left, top };
}

/**
 * The ImageMeta of a plan: input = original * scale + pad per axis. The scales are the ones the resampler
 * really used (RW/W, RH/H), so a keep-aspect resize can have scaleX and scaleY differing by the rounding
 * of one axis (at most half a pixel over the image).
 */
export function metaForPlan(srcWidth: number, srcHeight: number, plan: FitPlan): ImageMeta {
  return {
    width: srcWidth,
    height: srcHeight,
    inputWidth: plan.width,
    inputHeight: plan.height,
    scaleX: plan.resizedWidth / srcWidth,
    scaleY: plan.resizedHeight / srcHeight,
    padLeft: plan.left,
    padTop: plan.top,
  };
}

/**
 * Source index of each output pixel for PIL's NEAREST resize of one axis (Pillow `ImagingScaleAffine`,
 * src/libImaging/Geometry.c): xo starts at 0.5*in/out and advances by in/out in double precision, and the
 * index is trunc(xo). Accumulating (rather than floor((i+0.5)*in/out)) is what makes it bit-exact: at exact
 * ties the running sum can fall just below the integer (25 of 224 columns for 512 -> 224).
 */
export function pilNearestIndices(inSize: number, outSize: number): Int32Array {
  checkSize('pilNearestIndices', 'inSize', inSize);
  checkSize('pilNearestIndices', 'outSize', outSize);
  const step = inSize / outSize;
  const indices = new Int32Array(outSize);
  let xo = step * 0.5;
  for (let i = 0; i < outSize; i++) {
    // Pillow skips out-of-range indices; with xo < in that can only come from rounding, so clamp instead.
    indices[i] = Math.min(Math.trunc(xo), inSize - 1);
    xo += step;
  }
  return indices;
}

function checkRgb(fn: string, image: RgbImage): void {
  checkSize(fn, 'image.width', image.width);
  checkSize(fn, 'image.height', image.height);
  const expected = image.width * image.height * 3;
  if (image.data.length !== expected) {
    throw new NasnetError(
      'INVALID_ARGUMENT',
      `${fn}: image.data must hold width*height*3 = ${expected} bytes; received ${image.data.length}`,
      { field: 'image.data' },
    );
  }
}

/**
 * Applies a plan with PIL NEAREST sampling: resize to RW x RH by index gather (pilNearestIndices), then
 * place at (left, top) in a width x height canvas filled with padColor. For `stretch` this equals PIL's
 * `img.resize((W, H), Image.NEAREST)`, i.e. Keras `load_img(..., target_size)` byte for byte.
 */
export function resizePilNearest(image: RgbImage, plan: FitPlan, padColor: Rgb = [0, 0, 0]): RgbImage {
  checkRgb('resizePilNearest', image);
  // Same size, no offset: PIL NEAREST maps pixel i to i (the common case of an image already at the input size)
  if (plan.left === 0 && plan.top === 0 && image.width === plan.width && image.height === plan.height
    && plan.resizedWidth === plan.width && plan.resizedHeight === plan.height) return { data: image.data.slice(), width: plan.width, height: plan.height };
  const xs = pilNearestIndices(image.width, plan.resizedWidth);
  const ys = pilNearestIndices(image.height, plan.resizedHeight);
  const out = new Uint8Array(plan.width * plan.height * 3);
  for (let y = 0; y < plan.height; y++) {
    const ry = y - plan.top;
    const rowInside = ry >= 0 && ry < plan.resizedHeight;
    const srcRow = rowInside ? ys[ry]! * image.width : 0;
    for (let x = 0; x < plan.width; x++) {
      const rx = x - plan.left;
      const o = (y * plan.width + x) * 3;
      if (rowInside && rx >= 0 && rx < plan.resizedWidth) {
        const s = (srcRow + xs[rx]!) * 3;
        out[o] = image.data[s]!;
        out[o + 1] = image.data[s + 1]!;
        out[o + 2] = image.data[s + 2]!;
      } else {
        out[o] = padColor[0];
        out[o + 1] = padColor[1];
        out[o + 2] = padColor[2];
      }
    }
  }
  return { data: out, width: plan.width, height: plan.height };
}
