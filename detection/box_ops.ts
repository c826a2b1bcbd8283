// Box arithmetic on flat typed arrays: IoU, clipping, small-box removal and the conversions at the
// library's edges.
//
// Shape shorthand: N, M = numbers of boxes. A box set is a Float32Array of N*4 values, one box per
// row, in the library convention [y1, x1, y2, x2] (STYLE.md): normalised to [0, 1] of the padded network
// input. The functions here are frame-agnostic (they work in any consistent unit); the ones that apply
// pixel thresholds take a `PixelScale` saying how many pixels one coordinate unit spans.
//
// Why typed arrays, not tensors: matching, NMS and filtering are data-dependent loops that run on the
// CPU after one read of the tensor data, and they must reproduce torchvision's float32 decisions
// bit for bit. Every arithmetic step goes through Math.fround so that a JS double computes exactly what
// a float32 kernel computes (torchvision/ops/boxes.py `box_iou`, `_box_inter_union`); threshold
// comparisons round the threshold to float32 the way torch does when it compares a float32 tensor with
// a Python number. No +1 anywhere (widths are x2 - x1).
import { NasnetError } from '../core/errors.js';

const f32 = Math.fround;

/** Pixels per coordinate unit along each axis: the network input size for normalised boxes, 1 for pixels. */
export interface PixelScale {
  readonly height: number;
  readonly width: number;
}

/** A rectangle [y1, x1, y2, x2] in box units (e.g. the unpadded image inside the padded input). */
export type Window = readonly [number, number, number, number];

/** Where boxes are clipped and how their sizes convert to pixels (proposal filtering, post-processing). */
export interface BoxFrame {
  /** The unpadded image inside the input, in box units ([0, 0, h/H, w/W] for normalised boxes). */
  readonly clipWindow: Window;
  /** Pixels per box unit, for pixel size thresholds. */
  readonly pixelScale: PixelScale;
}

/**
 * How the original image sits in the network input (a structural subset of `ImageMeta` in
 * src/api/types.ts): input pixel = original pixel * scale + pad, per axis.
 */
export interface ImageFrame {
  readonly inputHeight: number;
  readonly inputWidth: number;
  readonly scaleX: number;
  readonly scaleY: number;
  readonly padLeft: number;
  readonly padTop: number;
}

/** Throws unless `boxes` holds whole rows of 4; returns the number of boxes. */
export function boxCount(boxes: Float32Array, fn: string, arg = 'boxes'): number {
  if (boxes.length % 4 !== 0) {
    throw new NasnetError('INVALID_ARGUMENT', `${fn}: ${arg} must hold N*4 values [y1,x1,y2,x2]; received ${boxes.length} values`, {
      argument: arg,
    });
  }
  return boxes.length / 4;
}

/** Area of box i in float32, as torchvision's `box_area`. */
export function boxArea(boxes: Float32Array, i: number): number {
  const o = 4 * i;
  return f32(f32((boxes[o + 2] as number) - (boxes[o] as number)) * f32((boxes[o + 3] as number) - (boxes[o + 1] as number)));
}

/**
 * IoU of box i of `a` with box j of `b`, in float32, given their precomputed areas. Two zero-area boxes
 * give 0/0 = NaN (as torchvision); NaN fails every `>`/`>=`, so such pairs never match nor suppress.
 */
export function pairIou(a: Float32Array, i: number, areaA: number, b: Float32Array, j: number, areaB: number): number {
  const p = 4 * i;
  const q = 4 * j;
  const h = Math.max(0, f32(Math.min(a[p + 2] as number, b[q + 2] as number) - Math.max(a[p] as number, b[q] as number)));
  const w = Math.max(0, f32(Math.min(a[p + 3] as number, b[q + 3] as number) - Math.max(a[p + 1] as number, b[q + 1] as number)));
  const inter = f32(h * w);
  return f32(inter / f32(f32(areaA + areaB) - inter));
}

/** Areas of all boxes in float32. */
export function boxAreas(boxes: Float32Array): Float32Array {
  const n = boxCount(boxes, 'boxAreas');
  const areas = new Float32Array(n);
  for (let i = 0; i < n; i++) areas[i] = boxArea(boxes, i);
  return areas;
}

/** IoU matrix [N, M] (row-major) of `a` [N*4] against `b` [M*4]; torchvision `box_iou` in float32. */
export function iouMatrix(a: Float32Array, b: Float32Array): Float32Array {
  const n = boxCount(a, 'iouMatrix', 'a');
  const m = boxCount(b, 'iouMatrix', 'b');
  const areasA = boxAreas(a);
  const areasB = boxAreas(b);
  const out = new Float32Array(n * m);
  for (let i = 0; i < n; i++) {
    const areaA = areasA[i] as number;
    for (let j = 0; j < m; j++) out[i * m + j] = pairIou(a, i, areaA, b, j, areasB[j] as number);
  }
  return out;
}

/** Clamps every box to `window` [y1, x1, y2, x2] (torchvision `clip_boxes_to_image` with a window). */
export function clipBoxes(boxes: Float32Array, window: Window): Float32Array {
  boxCount(boxes, 'clipBoxes');
  const out = new Float32Array(boxes.length);
  for (let k = 0; k < boxes.length; k++) {
    const lo = window[k % 2];
    const hi = window[2 + (k % 2)];
    out[k] = Math.min(Math.max(boxes[k] as number, lo), hi);
  }
  return out;
}

/**
 * Indices of the boxes whose height and width are both >= `minSize` pixels (torchvision
 * `remove_small_boxes`). Sizes are measured in pixels through `scale`; the threshold is rounded to
 * float32 as torch does.
 */
export function removeSmall(boxes: Float32Array, minSize: number, scale: PixelScale): Int32Array {
  const n = boxCount(boxes, 'removeSmall');
  const threshold = f32(minSize);
  const keep: number[] = [];
  for (let i = 0; i < n; i++) {
    const o = 4 * i;
    const h = f32(f32((boxes[o + 2] as number) - (boxes[o] as number)) * scale.height);
    const w = f32(f32((boxes[o + 3] as number) - (boxes[o + 1] as number)) * scale.width);
    if (h >= threshold && w >= threshold) keep.push(i);
  }
  return Int32Array.from(keep);
}

/** Rows `indices` of a box set (or of any N*`width` table). */
export function gatherRows(values: Float32Array, indices: ArrayLike<number>, width = 4): Float32Array {
  const out = new Float32Array(indices.length * width);
  for (let r = 0; r < indices.length; r++) {
    const src = (indices[r] as number) * width;
    for (let c = 0; c < width; c++) out[r * width + c] = values[src + c] as number;
  }
  return out;
}

/** Multiplies y by scale.height and x by scale.width: normalised -> pixels of the input. */
export function normalizedToPixels(boxes: Float32Array, scale: PixelScale): Float32Array {
  boxCount(boxes, 'normalizedToPixels');
  return boxes.map((v, k) => v * (k % 2 === 0 ? scale.height : scale.width));
}

/** Divides y by scale.height and x by scale.width: pixels of the input -> normalised. */
export function pixelsToNormalized(boxes: Float32Array, scale: PixelScale): Float32Array {
  boxCount(boxes, 'pixelsToNormalized');
  return boxes.map((v, k) => v / (k % 2 === 0 ? scale.height : scale.width));
}

/** Swaps the axes of each box: [x1,y1,x2,y2] <-> [y1,x1,y2,x2] (torchvision / COCO order <-> ours). */
export function swapXy(boxes: Float32Array): Float32Array {
  boxCount(boxes, 'swapXy');
  return boxes.map((_, k) => boxes[k ^ 1] as number);
}

/** COCO [x, y, w, h] boxes in original-image pixels -> normalised [y1, x1, y2, x2] of the network input. */
export function fromCocoXywh(xywh: Float32Array, frame: ImageFrame): Float32Array {
  const n = boxCount(xywh, 'fromCocoXywh', 'xywh');
  const out = new Float32Array(4 * n);
  for (let i = 0; i < n; i++) {
    const [x, y, w, h] = xywh.subarray(4 * i, 4 * i + 4) as unknown as [number, number, number, number];
    out[4 * i] = (y * frame.scaleY + frame.padTop) / frame.inputHeight;
    out[4 * i + 1] = (x * frame.scaleX + frame.padLeft) / frame.inputWidth;
    out[4 * i + 2] = ((y + h) * frame.scaleY + frame.padTop) / frame.inputHeight;
    out[4 * i + 3] = ((x + w) * frame.scaleX + frame.padLeft) / frame.inputWidth;
  }
  return out;
}

/** Normalised [y1, x1, y2, x2] of the network input -> COCO [x, y, w, h] in original-image pixels. */
export function toCocoXywh(boxes: Float32Array, frame: ImageFrame): Float32Array {
  const n = boxCount(boxes, 'toCocoXywh');
  const out = new Float32Array(4 * n);
  for (let i = 0; i < n; i++) {
    const [y1, x1, y2, x2] = boxes.subarray(4 * i, 4 * i + 4) as unknown as [number, number, number, number];
    const left = (x1 * frame.inputWidth - frame.padLeft) / frame.scaleX;
    const top = (y1 * frame.inputHeight - frame.padTop) / frame.scaleY;
    out[4 * i] = left;
    out[4 * i + 1] = top;
    out[4 * i + 2] = (x2 * frame.inputWidth - frame.padLeft) / frame.scaleX - left;
    out[4 * i + 3] = (y2 * frame.inputHeight - frame.padTop) / frame.scaleY - top;
  }
  return out;
}
