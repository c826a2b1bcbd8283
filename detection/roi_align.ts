// ROI Align: fixed-size, differentiable crops of a feature map, one per box.
//
// Shape shorthand: N = images, H, W, C = feature map; K = boxes; PH, PW = output size; P = K*PH*PW output
// cells; T = taps (feature pixels) per output cell. features [N, H, W, C] -> crops [K, PH, PW, C].
//
// Semantics: torchvision.ops.roi_align (torchvision/csrc/ops/cpu/roi_align_kernel.cpp), chosen over
// tf.image.cropAndResize (which samples once per cell on a corner-aligned grid, returns an
// extrapolation value outside [0, H-1] and has no gradient in TF.js). A box's feature coordinate is
// `coordinate * pixels-per-unit * spatialScale - offset`, with offset 0.5 when `aligned` (pixel i covers
// [i, i+1) and its value sits at i + 0.5) and 0 otherwise (legacy; boxes then grow to at least 1 feature
// pixel). Each output cell averages a grid of gh x gw bilinear samples at the sub-bin centres (fixed
// `samplingRatio`, or ceil(box size / output size) when it is <= 0). A sample beyond -1 or H (W) reads 0
// but still counts in the average; one in [-1, 0) or (H-1, H] reads the edge pixel. `aligned: true` is
// our default (Detectron2's ROIAlignV2); the NASNet TF OD API config crops 17x17 with crop_and_resize
// (spec section 5.1), which this replaces.
//
// Implementation. Forward, fixed sampling ratio (the default): the backend's native crop_and_resize on
// the map padded by one edge pixel, then an s x s average pool, which reproduces the rule above exactly
// (`cropForward`). Adaptive sampling has a per-box grid, so its forward pass sums weighted gathers of
// precomputed taps instead. Backward (tf.customGrad): the sample positions depend only on the boxes,
// which carry no gradient (proposals are detached, as in torchvision), so they are resolved on the CPU
// into T (flat pixel index, weight) taps per output cell; bilinear sampling with this clamping is
// separable (a sample is zero when its y or its x is out of range), so a cell's taps are the products
// of its row and column weights, with samples that read the same pixel merged. The gradient scatters
// dy back with T scatterND calls (duplicates are summed). Gathers and scatters go one tap at a time, so
// memory stays at two [P, C] buffers (forward) or one [N*H*W, C] buffer (backward); every kernel used
// exists on the wasm backend (CropAndResize, MirrorPad, AvgPool, GatherV2, ScatterNd).
import * as tf from '@tensorflow/tfjs-core';
import { NasnetError } from '../core/errors.js';
import { boxCount, type PixelScale } from './box_ops.js';

const f32 = Math.fround;

export interface RoiAlignConfig {
  /** [PH, PW]. */
  readonly outputSize: readonly [number, number];
  /** Samples per bin along each axis; <= 0 means adaptive, ceil(box size / output size) per box. */
  readonly samplingRatio: number;
  /** Half-pixel offset (torchvision aligned=True); see the header. */
  readonly aligned: boolean;
}

export const DEFAULT_ROI_ALIGN_CONFIG: RoiAlignConfig = { outputSize: [14, 14], samplingRatio: 2, aligned: true };

export interface RoiFrame {
  /** Pixels of the network input per box unit (the input size for normalised boxes). */
  readonly pixelScale: PixelScale;
  /** Feature pixels per input pixel (1 / stride). */
  readonly spatialScale: number;
}

/** T taps per output cell: flat pixel index into [N*H*W] and weight, tap-major (slot t of all cells). */
interface Taps {
  readonly perCell: number;
  readonly index: Int32Array;
  readonly weight: Float32Array;
}

/** One box in feature coordinates (torchvision's float32 arithmetic), and its sampling grid. */
interface FeatureBox {
  readonly y1: number;
  readonly x1: number;
  readonly height: number;
  readonly width: number;
  readonly gridH: number;
  readonly gridW: number;
}

function featureBoxes(boxes: Float32Array, config: RoiAlignConfig, frame: RoiFrame): FeatureBox[] {
  const [ph, pw] = config.outputSize;
  const offset = config.aligned ? 0.5 : 0;
  const out: FeatureBox[] = [];
  for (let k = 0; k < boxes.length / 4; k++) {
    const coord = (j: number, pixels: number): number => f32(f32(f32((boxes[4 * k + j] as number) * pixels) * frame.spatialScale) - offset);
    const y1 = coord(0, frame.pixelScale.height);
    const x1 = coord(1, frame.pixelScale.width);
    let height = f32(coord(2, frame.pixelScale.height) - y1);
    let width = f32(coord(3, frame.pixelScale.width) - x1);
    if (!config.aligned) {
      height = Math.max(height, 1);
      width = Math.max(width, 1);
    }
    const gridH = config.samplingRatio > 0 ? config.samplingRatio : Math.ceil(f32(height / ph));
    const gridW = config.samplingRatio > 0 ? config.samplingRatio : Math.ceil(f32(width / pw));
    out.push({ y1, x1, height, width, gridH, gridW });
  }
  return out;
}

/** Sparse weights along one axis, per bin: feature indices and their summed sample weights. */
interface AxisTaps {
  readonly index: number[];
  readonly weight: number[];
}

function addTap(taps: AxisTaps, i: number, w: number): void {
  const at = taps.index.lastIndexOf(i); // samples ascend, so a repeat is among the last entries
  if (at >= 0) taps.weight[at] = (taps.weight[at] as number) + w;
  else {
    taps.index.push(i);
    taps.weight.push(w);
  }
}

function axisTaps(start: number, size: number, bins: number, grid: number, length: number): AxisTaps[] {
  const bin = f32(size / bins);
  const out: AxisTaps[] = [];
  for (let p = 0; p < bins; p++) {
    const taps: AxisTaps = { index: [], weight: [] };
    for (let i = 0; i < grid; i++) {
      let v = f32(f32(start + f32(p * bin)) + f32(f32((i + 0.5) * bin) / grid));
      if (v < -1 || v > length) continue; // contributes 0, still counted
      v = Math.max(v, 0);
      let lo = Math.floor(v);
      let hi = lo + 1;
      if (lo >= length - 1) {
        lo = hi = length - 1;
        v = lo;
      }
      const frac = f32(v - lo);
      addTap(taps, lo, f32(1 - frac));
      if (frac !== 0) addTap(taps, hi, frac);
    }
    out.push(taps);
  }
  return out;
}

function computeTaps(boxes: Float32Array, boxIndices: Int32Array, shape: readonly number[], config: RoiAlignConfig, frame: RoiFrame): Taps {
  const [, height, width] = shape as [number, number, number, number];
  const [ph, pw] = config.outputSize;
  const perBox = featureBoxes(boxes, config, frame).map((b) => ({
    rows: axisTaps(b.y1, b.height, ph, b.gridH, height),
    cols: axisTaps(b.x1, b.width, pw, b.gridW, width),
    count: Math.max(b.gridH * b.gridW, 1),
  }));
  const longest = (axis: AxisTaps[]): number => axis.reduce((m, t) => Math.max(m, t.index.length), 0);
  const perCell = perBox.reduce((m, b) => Math.max(m, longest(b.rows) * longest(b.cols)), 0);
  const cells = boxIndices.length * ph * pw;
  const index = new Int32Array(cells * perCell); // unused slots: pixel 0, weight 0
  const weight = new Float32Array(cells * perCell);
  perBox.forEach(({ rows, cols, count }, k) => {
    const base = (boxIndices[k] as number) * height * width;
    rows.forEach((row, i) => {
      cols.forEach((col, j) => {
        const cell = (k * ph + i) * pw + j;
        let t = 0;
        row.index.forEach((r, a) => {
          col.index.forEach((c, b) => {
            index[t * cells + cell] = base + r * width + c;
            weight[t * cells + cell] = ((row.weight[a] as number) * (col.weight[b] as number)) / count;
            t++;
          });
        });
      });
    });
  });
  return { perCell, index, weight };
}

/** Sum over taps of weighted gathers: [N, H, W, C] -> [P, C]. */
function gatherForward(x: tf.Tensor, taps: Taps, cells: number): tf.Tensor2D {
  const [n, h, w, c] = x.shape as [number, number, number, number];
  const flat = tf.reshape(x, [n * h * w, c]); // [N*H*W, C]
  let acc: tf.Tensor = tf.zeros([cells, c]); // [P, C]
  for (let t = 0; t < taps.perCell; t++) {
    const next = tf.tidy(() => {
      const index = tf.tensor1d(taps.index.subarray(t * cells, (t + 1) * cells), 'int32');
      const weight = tf.tensor2d(taps.weight.subarray(t * cells, (t + 1) * cells), [cells, 1]);
      return tf.add(acc, tf.mul(tf.gather(flat, index), weight));
    });
    acc.dispose();
    acc = next;
  }
  flat.dispose();
  return acc as tf.Tensor2D;
}

/** The transpose of `gatherForward`: [P, C] -> [N, H, W, C], scatters summing duplicate pixels. */
function scatterBackward(dy: tf.Tensor, taps: Taps, shape: readonly number[]): tf.Tensor {
  const [n, h, w, c] = shape as [number, number, number, number];
  const cells = dy.size / c;
  const dyFlat = tf.reshape(dy, [cells, c]); // [P, C]
  let grad: tf.Tensor = tf.zeros([n * h * w, c]);
  for (let t = 0; t < taps.perCell; t++) {
    const next = tf.tidy(() => {
      const index = tf.tensor2d(taps.index.subarray(t * cells, (t + 1) * cells), [cells, 1], 'int32');
      const weight = tf.tensor2d(taps.weight.subarray(t * cells, (t + 1) * cells), [cells, 1]);
      return tf.add(grad, tf.scatterND(index, tf.mul(dyFlat, weight), [n * h * w, c]));
    });
    grad.dispose();
    grad = next;
  }
  return tf.reshape(grad, [n, h, w, c]);
}

/**
 * Forward pass for a fixed sampling ratio s with the backend's native crop-and-resize (much faster than
 * the gathers): pad the map by one replicated pixel so that samples in [-1, 0) and (H-1, H] read the
 * edge and samples beyond read the extrapolation value 0; place the S = out * s sample centres of each
 * box on crop_and_resize's corner-aligned grid (normalised by H+1, the padded size - 1); average s x s
 * blocks. This is exactly the sampling rule above (fixtures README, "TF crop_and_resize").
 */
function cropForward(x: tf.Tensor, boxes: Float32Array, boxIndices: Int32Array, config: RoiAlignConfig, frame: RoiFrame): tf.Tensor4D {
  const [, h, w] = x.shape as [number, number, number, number];
  const [ph, pw] = config.outputSize;
  const s = config.samplingRatio;
  const [sh, sw] = [ph * s, pw * s];
  const crops = new Float32Array(boxes.length);
  featureBoxes(boxes, config, frame).forEach((b, k) => {
    crops[4 * k] = (b.y1 + 1 + (0.5 * b.height) / sh) / (h + 1);
    crops[4 * k + 1] = (b.x1 + 1 + (0.5 * b.width) / sw) / (w + 1);
    crops[4 * k + 2] = (b.y1 + 1 + ((sh - 0.5) * b.height) / sh) / (h + 1);
    crops[4 * k + 3] = (b.x1 + 1 + ((sw - 0.5) * b.width) / sw) / (w + 1);
  });
  return tf.tidy(() => {
    const padded = tf.mirrorPad(x, [[0, 0], [1, 1], [1, 1], [0, 0]], 'symmetric') as tf.Tensor4D; // [N, H+2, W+2, C]
    const samples = tf.image.cropAndResize(padded, tf.tensor2d(crops, [boxIndices.length, 4]), tf.tensor1d(boxIndices, 'int32'), [sh, sw], 'bilinear', 0);
    return tf.avgPool(samples, [s, s], [s, s], 'valid'); // [K, PH, PW, C]
  });
}

function validate(features: tf.Tensor4D, boxes: Float32Array, boxIndices: Int32Array, config: RoiAlignConfig): void {
  if (features.rank !== 4) {
    throw new NasnetError('INVALID_ARGUMENT', `roiAlign: features must be [N, H, W, C]; received [${features.shape.join(', ')}]`, { argument: 'features' });
  }
  const k = boxCount(boxes, 'roiAlign');
  if (boxIndices.length !== k || boxIndices.some((b) => b < 0 || b >= features.shape[0])) {
    throw new NasnetError('INVALID_ARGUMENT', `roiAlign: boxIndices must hold ${k} image indices in [0, ${features.shape[0]}); received ${boxIndices.length} values`, {
      argument: 'boxIndices',
    });
  }
  const [ph, pw] = config.outputSize;
  if (!Number.isInteger(ph) || !Number.isInteger(pw) || ph < 1 || pw < 1 || !Number.isInteger(config.samplingRatio)) {
    throw new NasnetError('INVALID_CONFIG', `roiAlign: outputSize must be positive integers and samplingRatio an integer; received [${ph}, ${pw}], ${config.samplingRatio}`, {
      field: 'outputSize',
    });
  }
}

/**
 * Crops [K, PH, PW, C] of `features` [N, H, W, C] at `boxes` [K*4] ([y1, x1, y2, x2], in the frame
 * described by `frame`) of images `boxIndices` [K]. Differentiable with respect to `features`.
 */
export function roiAlign(features: tf.Tensor4D, boxes: Float32Array, boxIndices: Int32Array, config: RoiAlignConfig, frame: RoiFrame): tf.Tensor4D {
  validate(features, boxes, boxIndices, config);
  const [ph, pw] = config.outputSize;
  const k = boxIndices.length;
  const c = features.shape[3];
  if (k === 0) return tf.zeros([0, ph, pw, c]);
  const taps = (): Taps => computeTaps(boxes, boxIndices, features.shape, config, frame);
  const op = tf.customGrad((...inputs: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const x = inputs[0] as tf.Tensor;
    const value =
      config.samplingRatio > 0
        ? cropForward(x, boxes, boxIndices, config, frame)
        : tf.tidy(() => tf.reshape(gatherForward(x, taps(), k * ph * pw), [k, ph, pw, c]));
    // The taps are computed again only when a gradient is asked for.
    return { value, gradFunc: (dy: tf.Tensor) => scatterBackward(dy, taps(), features.shape) };
  });
  return op(features) as tf.Tensor4D;
}
