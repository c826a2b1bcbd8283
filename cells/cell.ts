// buildCell: one builder for any valid cell genotype, normal (stride 1) or reduction (stride 2),
// following the structure shared by TF-slim `NasNetABaseCell.__call__` (nasnet_utils.py 295-424) and
// Keras `_normal_a_cell` / `_reduction_a_cell` (K3 nasnet.py 637-843):
//   P = adjust(h_{i-1});  H = BN(conv1x1(relu(h_i)));  states = [H, P]
//   for each block: out = combine(op_l(states[i_l]), op_r(states[i_r]));  states.push(out)
//   output = concat(states[concat...])
// In a reduction cell only ops reading H or P stride (nasnet_utils.py 361-362).
// Layers are created in Keras' order (adjust, H, then per block left op, right op, combine) so that
// Keras' auto-names (`activation_k`, `add_k`, ...) come out identical.
// Shape shorthand: h_i [N,H,W,C], h_{i-1} [N,H',W',C'] -> normal [N,H,W,K], reduction [N,H/2,W/2,K].
import type { SymbolicTensor } from '@tensorflow/tfjs-layers';
import { adjustBlock, factorizedReduction } from './adjust.js';
import { ScheduledDropPath } from './drop_path.js';
import { validateCellGenotype, type BlockGene, type CellGenotype } from './genotype.js';
import { add, applyTo, batchNorm, concat, conv2d, correctPad, relu, spatialSize, zeroPad, type KerasNamer } from './keras_layers.js';
import { buildOp, type OpContext } from './ops.js';
import { STATE_P, type CellKind } from './search_space.js';

/** ScheduledDropPath parameters of one cell (see drop_path.ts); keepProb 1 adds no layers. */
export interface CellDropPath {
  readonly keepProb: number;
  readonly cellIndex: number;
  readonly totalCells: number;
}

export interface CellArgs {
  readonly kind: CellKind;
  /** Keras cell id (`block_id`): `stem_1`, `0`, `reduce_4`, ... */
  readonly id: string;
  /** Cell width F (each block output has F channels, 2F for a concat combine). */
  readonly filters: number;
  readonly namer: KerasNamer;
  readonly dropPath?: CellDropPath;
}

export interface CellOutput {
  /** The cell output (the concat layer `<kind>_concat_<id>`). */
  readonly output: SymbolicTensor;
  /** Every hidden state: [H, P, block 1, ..., block 5]. */
  readonly states: readonly SymbolicTensor[];
}

interface BlockNames {
  readonly left: string;
  readonly right: string;
  readonly combine: string | undefined;
}

/** Keras' names for block b (0-based) unless the genotype overrides them. */
function blockNames(kind: CellKind, id: string, b: number, gene: BlockGene): BlockNames {
  const fill = (template: string): string => template.replaceAll('{id}', id);
  const custom = gene.kerasNames ?? {};
  const defaultCombine = gene.combine === 'add' ? `${kind}_add_${b + 1}_${id}` : `${kind}_concat_${b + 1}_${id}`;
  return {
    left: fill(custom.left ?? `${kind}_left${b + 1}_{id}`),
    right: fill(custom.right ?? `${kind}_right${b + 1}_{id}`),
    combine: custom.combine === null ? undefined : fill(custom.combine ?? defaultCombine),
  };
}

/** Builds one cell from h_i (`ip`) and h_{i-1} (`p`, null for the first cell). */
export function buildCell(cell: CellGenotype, ip: SymbolicTensor, p: SymbolicTensor | null, args: CellArgs): CellOutput {
  validateCellGenotype(cell, `buildCell(${args.id}).cell`);
  const { kind, id, filters, namer } = args;
  const reduce = kind === 'reduction';

  const pAdjusted = adjustBlock(namer, p, ip, filters, id);
  let h = relu(namer, ip);
  h = conv2d(h, { filters, kernel: 1, name: `${kind}_conv_1_${id}` });
  h = batchNorm(h, `${kind}_bn_1_${id}`);
  const states: SymbolicTensor[] = [h, pAdjusted];

  // One zero-padded copy per (input, pool size), shared like Keras' `reduction_pad_1_<id>`.
  const pads = new Map<SymbolicTensor, Map<number, SymbolicTensor>>();
  let padCount = 0;
  const ctx: OpContext = {
    namer,
    filters,
    padForPool: (x, k) => {
      const byK = pads.get(x) ?? new Map<number, SymbolicTensor>();
      pads.set(x, byK);
      let padded = byK.get(k);
      if (padded === undefined) {
        padCount++;
        padded = zeroPad(namer, x, correctPad(spatialSize(x, `${kind}_pad_${padCount}_${id}`), k), `${kind}_pad_${padCount}_${id}`);
        byK.set(k, padded);
      }
      return padded;
    },
  };

  const dropPath = args.dropPath !== undefined && args.dropPath.keepProb < 1 ? args.dropPath : undefined;
  cell.blocks.forEach((gene, b) => {
    const names = blockNames(kind, id, b, gene);
    const branches = ([0, 1] as const).map((side) => {
      const state = gene.inputs[side];
      const op = gene.ops[side];
      const stride = reduce && state <= STATE_P ? 2 : 1;
      const out = buildOp(ctx, states[state]!, { op, stride, blockId: side === 0 ? names.left : names.right });
      if (dropPath === undefined || op === 'identity') return out;
      const layerName = `drop_path_${kind}_${b + 1}_${side === 0 ? 'left' : 'right'}_${id}`;
      return applyTo(new ScheduledDropPath({ ...dropPath, name: layerName }), out);
    });
    states.push(gene.combine === 'add' ? add(namer, branches, names.combine) : concat(namer, branches, names.combine));
  });

  // A reduction cell's output is at half size: H or P in its concat go through a factorized reduction
  // (slim `_combine_unused_states`). NASNet-A never concatenates them in a reduction cell.
  const parts = cell.concat.map((s) => {
    if (!reduce || s > STATE_P) return states[s]!;
    const tag = `${kind}_concat_reduce${s}_${id}`;
    return factorizedReduction(namer, states[s]!, filters, {
      relu: `${tag}_relu`,
      pool1: `${tag}_avg_pool_1`,
      conv1: `${tag}_conv_1`,
      pool2: `${tag}_avg_pool_2`,
      conv2: `${tag}_conv_2`,
      bn: `${tag}_bn`,
    });
  });
  const output = parts.length === 1 ? parts[0]! : concat(namer, parts, `${kind}_concat_${id}`);
  return { output, states };
}
