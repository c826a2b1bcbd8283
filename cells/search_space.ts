// The NASNet search space (Zoph et al. 2018, arXiv:1707.07012 §3): a cell has B = 5 blocks; each block
// picks two hidden states, one op for each from the 13 below, and a combine op. Hidden states are
// numbered as in TF-slim (tensorflow/models research/slim/nets/nasnet/nasnet_utils.py, `hiddenstate_indices`):
//   0 = h_i      the previous cell's output (after the cell's own relu -> 1x1 conv -> BN)
//   1 = h_{i-1}  the cell before that (shape-adjusted, see adjust.ts)
//   2 + b        the output of block b (0-based), usable by later blocks only.

/** Blocks per cell (PAPER §3: B = 5). */
export const NUM_BLOCKS = 5;

/** The 13 operations of PAPER §3, in the paper's order. */
export const OPS = [
  'identity',
  'conv_1x3_3x1',
  'conv_1x7_7x1',
  'dil_conv_3x3',
  'avg_pool_3x3',
  'max_pool_3x3',
  'max_pool_5x5',
  'max_pool_7x7',
  'conv_1x1',
  'conv_3x3',
  'sep_conv_3x3',
  'sep_conv_5x5',
  'sep_conv_7x7',
] as const;
export type OpName = (typeof OPS)[number];

/** How a block merges its two branches: element-wise add or channel concat. */
export const COMBINES = ['add', 'concat'] as const;
export type CombineOp = (typeof COMBINES)[number];

/** The two cell kinds: a normal cell keeps the spatial size, a reduction cell halves it (stride 2). */
export const CELL_KINDS = ['normal', 'reduction'] as const;
export type CellKind = (typeof CELL_KINDS)[number];

/** State index of h_i (the previous cell output). */
export const STATE_H = 0;
/** State index of h_{i-1} (the older state). */
export const STATE_P = 1;

export type OpFamily = 'identity' | 'pool' | 'conv' | 'separable';

export interface OpSpec {
  readonly family: OpFamily;
  /** Spatial kernel size (square ops) or the long side of a factorized pair. */
  readonly kernel: number;
  readonly pool?: 'avg' | 'max';
}

export const OP_SPECS: Readonly<Record<OpName, OpSpec>> = {
  identity: { family: 'identity', kernel: 1 },
  conv_1x3_3x1: { family: 'conv', kernel: 3 },
  conv_1x7_7x1: { family: 'conv', kernel: 7 },
  dil_conv_3x3: { family: 'conv', kernel: 3 },
  avg_pool_3x3: { family: 'pool', kernel: 3, pool: 'avg' },
  max_pool_3x3: { family: 'pool', kernel: 3, pool: 'max' },
  max_pool_5x5: { family: 'pool', kernel: 5, pool: 'max' },
  max_pool_7x7: { family: 'pool', kernel: 7, pool: 'max' },
  conv_1x1: { family: 'conv', kernel: 1 },
  conv_3x3: { family: 'conv', kernel: 3 },
  sep_conv_3x3: { family: 'separable', kernel: 3 },
  sep_conv_5x5: { family: 'separable', kernel: 5 },
  sep_conv_7x7: { family: 'separable', kernel: 7 },
};

/** True when `value` names one of the 13 ops. */
export function isOpName(value: unknown): value is OpName {
  return typeof value === 'string' && (OPS as readonly string[]).includes(value);
}

/** Human name of a state index, for messages: h_i, h_{i-1}, block k (1-based as in the paper's figures). */
export function stateLabel(index: number): string {
  if (index === STATE_H) return 'h_i';
  if (index === STATE_P) return 'h_{i-1}';
  return `block ${index - 1}`;
}
