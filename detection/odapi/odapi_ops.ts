// The TF Object Detection API's inference arithmetic, as pure functions on typed arrays (float32 results,
// the operations in TensorFlow's order so that the rounding matches):
// - `resizeBilinearTf1` + `preprocessNas`: fixed_shape_resizer (tf.image.resize_images, align_corners
//   False: TF1's legacy bilinear sampling, source = dst * in/out, no half-pixel centres), then
//   faster_rcnn_nas_feature_extractor.preprocess: (2 / 255) * x - 1;
// - `gridAnchors`: anchor_generators/grid_anchor_generator.py tile_anchors (centres at i * stride + offset,
//   per location the (aspect, scale) meshgrid flattened aspect-major), clipped to the image window as
//   FasterRCNNMetaArch does at inference;
// - `decodeBoxes`: box_coders/faster_rcnn_box_coder.py with scale factors (y, x, h, w);
// - `clipToWindow`: box_list_ops.clip_to_window (filter_nonoverlapping: zero-area boxes dropped);
// - `multiclassNms`: core/post_processing.py multiclass_non_max_suppression: per class, score > threshold,
//   clip, tf.image.non_max_suppression (IoU > threshold suppresses, ties to the lower index), then all
//   classes sorted by score (stable) and cut to the total.
// Boxes are [y1,x1,y2,x2] rows of a Float32Array, absolute pixels of the resized image unless named.
import type { OdapiFasterRcnnConfig } from './pipeline_config.js';
import { argsortDescending } from '../nms.js';

const f = Math.fround;

/** TF1 resize_bilinear (half_pixel_centers false) of an interleaved RGB image, to float32 [outH,outW,3]. */
export function resizeBilinearTf1(rgb: Uint8Array, height: number, width: number, outHeight: number, outWidth: number): Float32Array {
  const out = new Float32Array(outHeight * outWidth * 3);
  const axis = (inSize: number, outSize: number) => {
    const scale = f(inSize / outSize);
    const lo = new Int32Array(outSize);
    const hi = new Int32Array(outSize);
    const lerp = new Float32Array(outSize);
    for (let i = 0; i < outSize; i++) {
      const x = f(i * scale);
      const fl = Math.floor(x);
      lo[i] = Math.max(fl, 0);
      hi[i] = Math.min(Math.ceil(x), inSize - 1);
      lerp[i] = f(x - fl);
    }
    return { lo, hi, lerp };
  };
  const ys = axis(height, outHeight);
  const xs = axis(width, outWidth);
  for (let y = 0; y < outHeight; y++) {
    const top = ys.lo[y]! * width * 3;
    const bottom = ys.hi[y]! * width * 3;
    const yl = ys.lerp[y]!;
    for (let x = 0; x < outWidth; x++) {
      const left = xs.lo[x]! * 3;
      const right = xs.hi[x]! * 3;
      const xl = xs.lerp[x]!;
      for (let c = 0; c < 3; c++) {
        const tl = rgb[top + left + c]!;
        const tr = rgb[top + right + c]!;
        const bl = rgb[bottom + left + c]!;
        const br = rgb[bottom + right + c]!;
        const t = f(tl + f(f(tr - tl) * xl));
        const b = f(bl + f(f(br - bl) * xl));
        out[(y * outWidth + x) * 3 + c] = f(t + f(f(b - t) * yl));
      }
    }
  }
  return out;
}

/** faster_rcnn_nas preprocess, in place: (2 / 255) * x - 1 in float32. */
export function preprocessNas(resized: Float32Array): Float32Array {
  const k = f(2 / 255);
  for (let i = 0; i < resized.length; i++) resized[i] = f(f(k * resized[i]!) - 1);
  return resized;
}

/** Grid anchors [H*W*A*4] over an H x W feature map, clipped to [0, imageHeight] x [0, imageWidth]. */
export function gridAnchors(anchors: OdapiFasterRcnnConfig['anchors'], featureHeight: number, featureWidth: number, imageHeight: number, imageWidth: number): Float32Array {
  const sizes: [number, number][] = [];
  for (const aspect of anchors.aspectRatios) {
    for (const scale of anchors.scales) {
      const root = f(Math.sqrt(f(aspect)));
      sizes.push([f(f(f(scale) / root) * f(anchors.baseHeight)), f(f(f(scale) * root) * f(anchors.baseWidth))]);
    }
  }
  const out = new Float32Array(featureHeight * featureWidth * sizes.length * 4);
  let o = 0;
  for (let i = 0; i < featureHeight; i++) {
    const cy = f(f(i * anchors.heightStride) + anchors.heightOffset);
    for (let j = 0; j < featureWidth; j++) {
      const cx = f(f(j * anchors.widthStride) + anchors.widthOffset);
      for (const [h, w] of sizes) {
        out[o++] = Math.min(Math.max(f(cy - f(0.5 * h)), 0), imageHeight);
        out[o++] = Math.min(Math.max(f(cx - f(0.5 * w)), 0), imageWidth);
        out[o++] = Math.min(Math.max(f(cy + f(0.5 * h)), 0), imageHeight);
        out[o++] = Math.min(Math.max(f(cx + f(0.5 * w)), 0), imageWidth);
      }
    }
  }
  return out;
}

/** FasterRcnnBoxCoder.decode: `codes` [N*4] (ty, tx, th, tw) against `anchors` [N*4] (row i uses anchor row `anchorOf(i)`). */
export function decodeBoxes(codes: Float32Array, anchors: Float32Array, scales: readonly [number, number, number, number], anchorOf: (i: number) => number = (i) => i): Float32Array {
  const n = codes.length / 4;
  const out = new Float32Array(n * 4);
  for (let i = 0; i < n; i++) {
    const a = 4 * anchorOf(i);
    const ha = f(anchors[a + 2]! - anchors[a]!);
    const wa = f(anchors[a + 3]! - anchors[a + 1]!);
    const yca = f(anchors[a]! + f(ha / 2));
    const xca = f(anchors[a + 1]! + f(wa / 2));
    const ty = f(codes[4 * i]! / scales[0]);
    const tx = f(codes[4 * i + 1]! / scales[1]);
    const th = f(codes[4 * i + 2]! / scales[2]);
    const tw = f(codes[4 * i + 3]! / scales[3]);
    const w = f(f(Math.exp(tw)) * wa);
    const h = f(f(Math.exp(th)) * ha);
    const yc = f(f(ty * ha) + yca);
    const xc = f(f(tx * wa) + xca);
    out[4 * i] = f(yc - f(h / 2));
    out[4 * i + 1] = f(xc - f(w / 2));
    out[4 * i + 2] = f(yc + f(h / 2));
    out[4 * i + 3] = f(xc + f(w / 2));
  }
  return out;
}

/** clip_to_window over [0,H] x [0,W] of the rows `indices` of `boxes`; returns the clipped boxes and the rows kept (area > 0). */
export function clipToWindow(boxes: Float32Array, indices: ArrayLike<number>, height: number, width: number): { boxes: Float32Array; kept: number[] } {
  const clipped: number[] = [];
  const kept: number[] = [];
  for (let k = 0; k < indices.length; k++) {
    const i = indices[k]!;
    const y1 = Math.min(Math.max(boxes[4 * i]!, 0), height);
    const x1 = Math.min(Math.max(boxes[4 * i + 1]!, 0), width);
    const y2 = Math.min(Math.max(boxes[4 * i + 2]!, 0), height);
    const x2 = Math.min(Math.max(boxes[4 * i + 3]!, 0), width);
    if (f(f(y2 - y1) * f(x2 - x1)) > 0) {
      clipped.push(y1, x1, y2, x2);
      kept.push(i);
    }
  }
  return { boxes: Float32Array.from(clipped), kept };
}

/**
 * tf.image.non_max_suppression on `boxes` [N*4] (positive areas): greedy by decreasing score (ties to the
 * lower index), a box is suppressed when its float32 IoU with a kept box is > the float32 threshold;
 * returns the kept rows, at most `maxOutput`. Boxes are visited in score order from contiguous copies and a
 * pair that does not intersect is rejected before any division: the RPN's ~67,500 anchors at 1200 px x
 * 300 kept boxes made the IoU loop the largest TypeScript cost of a detection.
 */
export function nonMaxSuppressionTf(boxes: Float32Array, scores: Float32Array, iouThreshold: number, maxOutput: number): Int32Array {
  const order = argsortDescending(scores);
  const n = order.length;
  const sorted = new Float32Array(4 * n);
  const areas = new Float32Array(n);
  for (let k = 0; k < n; k++) {
    sorted.set(boxes.subarray(4 * order[k]!, 4 * order[k]! + 4), 4 * k);
    areas[k] = f(f(sorted[4 * k + 2]! - sorted[4 * k]!) * f(sorted[4 * k + 3]! - sorted[4 * k + 1]!));
  }
  const threshold = f(iouThreshold);
  const suppressed = new Uint8Array(n);
  const keep: number[] = [];
  for (let a = 0; a < n && keep.length < maxOutput; a++) {
    if (suppressed[a]) continue;
    keep.push(order[a]!);
    const [y1, x1, y2, x2] = [sorted[4 * a]!, sorted[4 * a + 1]!, sorted[4 * a + 2]!, sorted[4 * a + 3]!];
    const areaA = areas[a]!;
    for (let b = a + 1; b < n; b++) {
      if (suppressed[b]) continue;
      const ih = Math.min(y2, sorted[4 * b + 2]!) - Math.max(y1, sorted[4 * b]!);
      if (ih <= 0) continue;
      const iw = Math.min(x2, sorted[4 * b + 3]!) - Math.max(x1, sorted[4 * b + 1]!);
      if (iw <= 0) continue;
      const inter = f(f(ih) * f(iw));
      if (f(inter / f(f(areaA + areas[b]!) - inter)) > threshold) suppressed[b] = 1;
    }
  }
  return Int32Array.from(keep);
}

export interface NmsResult {
  /** [D*4] clipped boxes, by decreasing score. */
  readonly boxes: Float32Array;
  readonly scores: Float32Array;
  /** 0-based class of each box. */
  readonly classes: Int32Array;
  /** Input row of each box. */
  readonly rows: Int32Array;
}

/**
 * multiclass_non_max_suppression over `rows` boxes with per-class boxes `boxesOf(c)` [R*4] and scores
 * `scores` [R*K] (row-major): per class, score > threshold, clip to the window, NMS; then all sorted.
 */
export function multiclassNms(
  boxesOf: (c: number) => Float32Array,
  scores: Float32Array,
  rows: number,
  classes: number,
  settings: { scoreThreshold: number; iouThreshold: number; maxPerClass: number; maxTotal: number; height: number; width: number },
): NmsResult {
  const picked: { box: number[]; score: number; cls: number; row: number }[] = [];
  const threshold = f(settings.scoreThreshold);
  for (let c = 0; c < classes; c++) {
    const boxes = boxesOf(c);
    const above: number[] = [];
    for (let r = 0; r < rows; r++) if (scores[r * classes + c]! > threshold) above.push(r);
    const { boxes: clipped, kept } = clipToWindow(boxes, above, settings.height, settings.width);
    const keptScores = Float32Array.from(kept, (r) => scores[r * classes + c]!);
    const keep = nonMaxSuppressionTf(clipped, keptScores, settings.iouThreshold, settings.maxPerClass);
    for (const k of keep) picked.push({ box: Array.from(clipped.subarray(4 * k, 4 * k + 4)), score: keptScores[k]!, cls: c, row: kept[k]! });
  }
  const order = argsortDescending(Float32Array.from(picked, (p) => p.score)).subarray(0, settings.maxTotal);
  const chosen = Array.from(order, (i) => picked[i]!);
  return {
    boxes: Float32Array.from(chosen.flatMap((p) => p.box)),
    scores: Float32Array.from(chosen, (p) => p.score),
    classes: Int32Array.from(chosen, (p) => p.cls),
    rows: Int32Array.from(chosen, (p) => p.row),
  };
}

/** Softmax over the last axis of [R, K] logits (float32 result; max subtracted, as tf.nn.softmax). */
export function softmaxRows(logits: Float32Array, k: number, logitScale = 1): Float32Array {
  const out = new Float32Array(logits.length);
  for (let r = 0; r < logits.length / k; r++) {
    let max = -Infinity;
    for (let j = 0; j < k; j++) max = Math.max(max, logits[r * k + j]! / logitScale);
    let sum = 0;
    for (let j = 0; j < k; j++) sum += out[r * k + j] = Math.exp(logits[r * k + j]! / logitScale - max);
    for (let j = 0; j < k; j++) out[r * k + j] = out[r * k + j]! / sum;
  }
  return out;
}
