// NASNet-A as TF-slim builds it (research/slim/nets/nasnet/nasnet.py and nasnet_utils.py, the code the
// TF Object Detection API's `faster_rcnn_nas` checkpoints were trained with), written once over a small
// op vocabulary (`SlimOps`) that two engines implement: TensorFlow.js (tfjs_slim_ops.ts, eager tensors)
// and ONNX (src/onnx/odapi_export.ts, graph nodes). The wiring comes from our genotype data (cells/
// genotypes.ts NASNET_A, the same `operations` / `hiddenstate_indices` / `used_hiddenstates` lists).
//
// Where slim differs from the Keras application that cells/ reproduces:
// - names: `cell_N/comb_iter_B/{left,right}/separable_KxK_1`, `bn_sep_KxK_1`, `1x1` + `bn_1` projections,
//   `cell_N/1x1` + `beginning_bn`, `prev_1x1` + `prev_bn` or `path1_conv` / `path2_conv` / `final_path_bn`;
// - pools always use SAME padding, also at stride 2: max pads with -inf, average excludes the padding
//   (Keras zero-pads and pools 'valid' at stride 2);
// - widths are not computed from hyper-parameters here but read from the weights' shapes (the replica's
//   reduced widths and the zoo's 168-filter NASNet-A Large load through the same code).
// A projection (1x1 conv + BN) exists exactly where slim creates one; the builder asks the weights
// (`ops.has`) only to decide between the two cases slim itself decides by shape, and checks they agree.
//
// Shape shorthand (batch implicit): x [H,W,C]; a cell of width F outputs [H,W,6F] (normal) or
// [H/2,W/2,4F] (reduction, ceil).
import { NasnetError } from '../../core/errors.js';
import { NASNET_A } from '../../cells/genotypes.js';
import type { CellGenotype } from '../../cells/genotype.js';
import { OP_SPECS } from '../../cells/search_space.js';

export type Padding = 'SAME' | 'VALID';

/** The ops slim's NASNet uses; weights are addressed by their checkpoint scope. */
export interface SlimOps<T> {
  /** [H, W, C] of a value. */
  shape(x: T): readonly [number, number, number];
  /** True when the checkpoint holds `${scope}/weights` (or another variable under `scope`). */
  has(scope: string): boolean;
  /** Output channels of the conv `${scope}/weights` ([kh, kw, in, out]). */
  convWidth(scope: string): number;
  /** slim.conv2d without activation: `${scope}/weights`, plus `${scope}/biases` when `bias`. */
  conv(x: T, scope: string, stride: number, padding: Padding, bias?: boolean): T;
  /** slim.separable_conv2d (depth multiplier 1, SAME): depthwise then pointwise, no bias. */
  separable(x: T, scope: string, stride: number): T;
  /** slim.batch_norm in inference mode (moving statistics, epsilon 1e-3, scale and centre). */
  batchNorm(x: T, scope: string): T;
  relu(x: T): T;
  pool(x: T, kind: 'avg' | 'max', kernel: number, stride: number, padding: Padding): T;
  add(a: T, b: T): T;
  concat(xs: readonly T[]): T;
  /** tf.pad(x, [[0,0],[0,1],[0,1],[0,0]])[:, 1:, 1:, :]: shift up-left by one pixel, zero last row and column. */
  shift(x: T): T;
}

/** slim's batch-norm epsilon for NASNet (nasnet.py `*_arg_scope(batch_norm_epsilon=1e-3)`). */
export const SLIM_BN_EPSILON = 1e-3;

function factorizedReduction<T>(ops: SlimOps<T>, x: T, scope: string): T {
  const path1 = ops.conv(ops.pool(x, 'avg', 1, 2, 'VALID'), `${scope}/path1_conv`, 1, 'SAME');
  const path2 = ops.conv(ops.pool(ops.shift(x), 'avg', 1, 2, 'VALID'), `${scope}/path2_conv`, 1, 'SAME');
  return ops.batchNorm(ops.concat([path1, path2]), `${scope}/final_path_bn`);
}

/** slim `_reduce_prev_layer`: h_{i-1} at the size and width of the cell. */
function reducePrevLayer<T>(ops: SlimOps<T>, prev: T | null, net: T, scope: string): T {
  if (prev === null) return net;
  const [, prevWidth] = ops.shape(prev);
  const [, netWidth] = ops.shape(net);
  if (prevWidth !== netWidth) return factorizedReduction(ops, ops.relu(prev), scope);
  if (ops.has(`${scope}/prev_1x1`)) return ops.batchNorm(ops.conv(ops.relu(prev), `${scope}/prev_1x1`, 1, 'SAME'), `${scope}/prev_bn`);
  return prev;
}

/** slim `_apply_conv_operation` for one branch. */
function branch<T>(ops: SlimOps<T>, x: T, op: keyof typeof OP_SPECS, stride: number, filters: number, scope: string): T {
  const spec = OP_SPECS[op];
  const width = ops.shape(x)[2];
  switch (spec.family) {
    case 'separable': {
      const k = spec.kernel;
      let y = ops.batchNorm(ops.separable(ops.relu(x), `${scope}/separable_${k}x${k}_1`, stride), `${scope}/bn_sep_${k}x${k}_1`);
      y = ops.batchNorm(ops.separable(ops.relu(y), `${scope}/separable_${k}x${k}_2`, 1), `${scope}/bn_sep_${k}x${k}_2`);
      return y;
    }
    case 'pool': {
      const y = ops.pool(x, spec.pool!, spec.kernel, stride, 'SAME');
      return width === filters ? y : ops.batchNorm(ops.conv(y, `${scope}/1x1`, 1, 'SAME'), `${scope}/bn_1`);
    }
    case 'identity':
      if (stride === 1 && width === filters) return x;
      return ops.batchNorm(ops.conv(ops.relu(x), `${scope}/1x1`, stride, 'SAME'), `${scope}/bn_1`);
    default:
      throw new NasnetError('INTERNAL', `slim NASNet: op ${op} is not part of NASNet-A`);
  }
}

/**
 * One slim NASNet-A cell (`NasNetABaseCell.__call__`): `net` is h_i, `prev` h_{i-1} (null for the first
 * stem cell). In a reduction cell only the branches reading h_i or h_{i-1} stride.
 */
export function slimCell<T>(ops: SlimOps<T>, net: T, prev: T | null, scope: string, kind: 'normal' | 'reduction'): T {
  const genotype: CellGenotype = NASNET_A[kind];
  const filters = ops.convWidth(`${scope}/1x1`);
  const p = reducePrevLayer(ops, prev, net, scope);
  const h = ops.batchNorm(ops.conv(ops.relu(net), `${scope}/1x1`, 1, 'SAME'), `${scope}/beginning_bn`);
  const states: T[] = [h, p];
  genotype.blocks.forEach((gene, b) => {
    const [left, right] = ([0, 1] as const).map((side) => {
      const state = gene.inputs[side];
      const stride = kind === 'reduction' && state <= 1 ? 2 : 1;
      return branch(ops, states[state]!, gene.ops[side], stride, filters, `${scope}/comb_iter_${b}/${side === 0 ? 'left' : 'right'}`);
    }) as [T, T];
    states.push(ops.add(left, right));
  });
  // `_combine_unused_states`: NASNet-A's concatenated states already share the final size and width
  // (h_{i-1} was reduced above), so slim's `reduction_k` branch never runs; check that it does not.
  const [fh, fw, fc] = ops.shape(states[states.length - 1]!);
  for (const s of genotype.concat) {
    const [sh, sw, sc] = ops.shape(states[s]!);
    if (sh !== fh || sw !== fw || sc !== fc) {
      throw new NasnetError('WEIGHTS_MISMATCH', `${scope}: hidden state ${s} is [${sh},${sw},${sc}], the cell output parts are [${fh},${fw},${fc}]; the checkpoint's widths are inconsistent`);
    }
  }
  return ops.concat(genotype.concat.map((s) => states[s]!));
}

/** Where the reduction cells sit among `numCells` normal cells (slim `calc_reduction_layers`). */
export function reductionIndices(numCells: number, numReductions: number): number[] {
  return Array.from({ length: numReductions }, (_, i) => Math.trunc(((i + 1) * numCells) / (numReductions + 1)));
}

/** The last two cell outputs, what a following cell reads as h_{i-1} and h_i. */
export interface CellPair<T> {
  readonly previous: T;
  readonly hidden: T;
}

/**
 * slim `_imagenet_stem` + `_build_nasnet_base` (skip_reduction_layer_input = 1, as NASNet-Large) from
 * `start` (the stem's outputs, or the two states the OD API's second stage is fed) through normal cells
 * `fromCell` .. `toCell - 1`, with reduction cells before the cells listed in `reductions`.
 */
export function slimCells<T>(ops: SlimOps<T>, scope: string, start: CellPair<T>, fromCell: number, toCell: number, reductions: readonly number[]): CellPair<T> {
  const outputs: T[] = [start.previous, start.hidden];
  let net = start.hidden;
  for (let cell = fromCell; cell < toCell; cell++) {
    const prevLayer = outputs[outputs.length - 2]!; // taken before a reduction cell is appended (skip_reduction_layer_input)
    const r = reductions.indexOf(cell);
    if (r >= 0) {
      net = slimCell(ops, net, outputs[outputs.length - 2]!, `${scope}/reduction_cell_${r}`, 'reduction');
      outputs.push(net);
    }
    net = slimCell(ops, net, prevLayer, `${scope}/cell_${cell}`, 'normal');
    outputs.push(net);
  }
  return { previous: outputs[outputs.length - 2]!, hidden: outputs[outputs.length - 1]! };
}

/** slim `_imagenet_stem`: conv0 (3x3, stride 2, VALID) + BN, then two reduction cells. */
export function slimStem<T>(ops: SlimOps<T>, scope: string, image: T): CellPair<T> {
  const conv0 = ops.batchNorm(ops.conv(image, `${scope}/conv0`, 2, 'VALID'), `${scope}/conv0_bn`);
  const stem0 = slimCell(ops, conv0, null, `${scope}/cell_stem_0`, 'reduction');
  const stem1 = slimCell(ops, stem0, conv0, `${scope}/cell_stem_1`, 'reduction');
  return { previous: stem0, hidden: stem1 };
}
