// Grid anchors: a set of A cell anchors (zero-centred boxes) repeated at every location of an H x W
// feature map.
//
// Shape shorthand: H, W = feature map size, A = anchors per location. Output: Float32Array of
// H*W*A*4 values [y1, x1, y2, x2], index (row * W + col) * A + a (rows outer, anchor inner), which is
// the flattening of an NHWC RPN head output [1, H, W, A] (see rpn.ts). Anchors are generated in pixels
// of the network input and normalised with `pixelsToNormalized` (box_ops.ts) by the caller.
//
// Two cell-anchor conventions are supported, because they disagree on the meaning of "aspect ratio":
// - TF Object Detection API `GridAnchorGenerator` (the NASNet Faster R-CNN config, spec section 5.2):
//   aspect ratio = width / height; height = scale * base_h / sqrt(r), width = scale * base_w * sqrt(r);
//   no rounding (anchor_generators/grid_anchor_generator.py, `tile_anchors`).
// - torchvision `AnchorGenerator`: aspect ratio = height / width; corners round([-w, -h, w, h] / 2)
//   with round-half-to-even (models/detection/anchor_utils.py, `generate_anchors`).
// Both order the cell anchors ratio-major (all scales of the first ratio, then the next ratio) and both
// centre the anchors of cell (row, col) at (row * stride_y + offset_y, col * stride_x + offset_x) with a
// default offset of 0: the top-left corner of the cell, not its centre.
import { NasnetError } from '../core/errors.js';

/** Zero-centred anchors [A*4] = [y1, x1, y2, x2] relative to the anchor centre, in pixels. */
export type CellAnchors = Float32Array;

export interface GridAnchorConfig {
  /** Multiples of `baseSize`. */
  readonly scales: readonly number[];
  /** Width / height (TF OD API meaning). */
  readonly aspectRatios: readonly number[];
  /** [height, width] in pixels. */
  readonly baseSize: readonly [number, number];
  /** [y, x] distance between the centres of neighbouring cells, in pixels. */
  readonly stride: readonly [number, number];
  /** [y, x] centre of the anchors of cell (0, 0), in pixels. */
  readonly offset: readonly [number, number];
}

/** The NASNet Faster R-CNN anchors (spec section 5.2): 12 per location, base 256 px, stride 16. */
export const DEFAULT_GRID_ANCHOR_CONFIG: GridAnchorConfig = {
  scales: [0.25, 0.5, 1, 2],
  aspectRatios: [0.5, 1, 2],
  baseSize: [256, 256],
  stride: [16, 16],
  offset: [0, 0],
};

function checkPositive(values: readonly number[], fn: string, field: string): void {
  if (values.length === 0 || values.some((v) => !Number.isFinite(v) || v <= 0)) {
    throw new NasnetError('INVALID_CONFIG', `${fn}: ${field} must be a non-empty list of positive numbers; received [${values.join(', ')}]`, {
      field,
    });
  }
}

/** Round half to even, as torch.round. */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** Cell anchors in the TF OD API convention (aspect ratio = width / height). */
export function tfCellAnchors(config: Pick<GridAnchorConfig, 'scales' | 'aspectRatios' | 'baseSize'>): CellAnchors {
  checkPositive(config.scales, 'tfCellAnchors', 'scales');
  checkPositive(config.aspectRatios, 'tfCellAnchors', 'aspectRatios');
  checkPositive(config.baseSize, 'tfCellAnchors', 'baseSize');
  const out: number[] = [];
  for (const r of config.aspectRatios) {
    const root = Math.sqrt(r);
    for (const s of config.scales) {
      const h = (s / root) * config.baseSize[0];
      const w = s * root * config.baseSize[1];
      out.push(-0.5 * h, -0.5 * w, 0.5 * h, 0.5 * w);
    }
  }
  return Float32Array.from(out);
}

/**
 * Cell anchors in the torchvision convention (aspect ratio = height / width, sizes = sqrt(area),
 * corners rounded half-to-even). Computed in float32 like torch.
 */
export function torchvisionCellAnchors(sizes: readonly number[], aspectRatios: readonly number[]): CellAnchors {
  checkPositive(sizes, 'torchvisionCellAnchors', 'sizes');
  checkPositive(aspectRatios, 'torchvisionCellAnchors', 'aspectRatios');
  const f32 = Math.fround;
  const out: number[] = [];
  for (const r of aspectRatios) {
    const hRatio = f32(Math.sqrt(f32(r)));
    const wRatio = f32(1 / hRatio);
    for (const s of sizes) {
      const half = (v: number): number => roundHalfEven(f32(f32(v) / 2));
      const h = f32(hRatio * s);
      const w = f32(wRatio * s);
      out.push(half(-h), half(-w), half(h), half(w));
    }
  }
  return Float32Array.from(out);
}

/** The anchors of an H x W map, in pixels of the network input: H*W*A*4 values (order in the header). */
export function gridAnchors(
  cell: CellAnchors,
  grid: { readonly height: number; readonly width: number },
  stride: readonly [number, number],
  offset: readonly [number, number] = [0, 0],
): Float32Array {
  if (cell.length === 0 || cell.length % 4 !== 0) {
    throw new NasnetError('INVALID_ARGUMENT', `gridAnchors: cell anchors must hold A*4 values with A >= 1; received ${cell.length}`, {
      argument: 'cell',
    });
  }
  const { height, width } = grid;
  if (!Number.isInteger(height) || !Number.isInteger(width) || height < 1 || width < 1) {
    throw new NasnetError('INVALID_ARGUMENT', `gridAnchors: grid must be positive integers; received ${height}x${width}`, {
      argument: 'grid',
    });
  }
  const a4 = cell.length;
  const out = new Float32Array(height * width * a4);
  for (let row = 0; row < height; row++) {
    const cy = row * stride[0] + offset[0];
    for (let col = 0; col < width; col++) {
      const cx = col * stride[1] + offset[1];
      const base = (row * width + col) * a4;
      for (let k = 0; k < a4; k += 2) {
        out[base + k] = cy + (cell[k] as number);
        out[base + k + 1] = cx + (cell[k + 1] as number);
      }
    }
  }
  return out;
}

/** TF OD API grid anchors for one map, from a `GridAnchorConfig`, in pixels of the network input. */
export function tfGridAnchors(config: GridAnchorConfig, grid: { readonly height: number; readonly width: number }): Float32Array {
  return gridAnchors(tfCellAnchors(config), grid, config.stride, config.offset);
}

/**
 * torchvision's stride for a map: integer division of the padded input size by the map size
 * (`AnchorGenerator.forward`), which is not always the nominal stride (a 608-pixel input with a 10-row
 * map gives 60).
 */
export function torchvisionStride(input: { height: number; width: number }, grid: { height: number; width: number }): [number, number] {
  return [Math.floor(input.height / grid.height), Math.floor(input.width / grid.width)];
}
