// Published genotypes. NASNet-A is TF-slim's NasNetANormalCell / NasNetAReductionCell
// (tensorflow/models research/slim/nets/nasnet/nasnet_utils.py, `operations`, `hiddenstate_indices`,
// `used_hiddenstates`), which Keras hard-codes in keras/src/applications/nasnet.py `_normal_a_cell` /
// `_reduction_a_cell`. NASNet-B/C exist only as figures (PAPER App. B) with no text source for their
// wiring, so they are not encoded here.
import type { Genotype } from './genotype.js';

/**
 * NASNet-A. slim's used_hiddenstates masks are hand-set, not the strict "unused" rule: the normal cell
 * concatenates h_{i-1} and all five blocks ([1,0,0,0,0,0,0], although blocks read h_{i-1}); the reduction
 * cell blocks 2..5 ([1,1,1,0,0,0,0], although block 4 reads block 2).
 * The `kerasNames` reproduce the Keras application's naming, quirks included: block 3's add is
 * `reduction_add3_` (no underscore), block 4's avg pool is `reduction_left4_` and its add is auto-named,
 * block 5's separable block id is again `reduction_left4_` and its add `reduction_add4_`.
 */
export const NASNET_A: Genotype = {
  name: 'NASNet-A',
  normal: {
    blocks: [
      { inputs: [0, 1], ops: ['sep_conv_5x5', 'sep_conv_3x3'], combine: 'add' },
      { inputs: [1, 1], ops: ['sep_conv_5x5', 'sep_conv_3x3'], combine: 'add' },
      { inputs: [0, 1], ops: ['avg_pool_3x3', 'identity'], combine: 'add' },
      { inputs: [1, 1], ops: ['avg_pool_3x3', 'avg_pool_3x3'], combine: 'add' },
      { inputs: [0, 0], ops: ['sep_conv_3x3', 'identity'], combine: 'add' },
    ],
    concat: [1, 2, 3, 4, 5, 6],
  },
  reduction: {
    blocks: [
      { inputs: [0, 1], ops: ['sep_conv_5x5', 'sep_conv_7x7'], combine: 'add' },
      { inputs: [0, 1], ops: ['max_pool_3x3', 'sep_conv_7x7'], combine: 'add' },
      { inputs: [0, 1], ops: ['avg_pool_3x3', 'sep_conv_5x5'], combine: 'add', kerasNames: { combine: 'reduction_add3_{id}' } },
      {
        inputs: [3, 2],
        ops: ['identity', 'avg_pool_3x3'],
        combine: 'add',
        kerasNames: { right: 'reduction_left4_{id}', combine: null },
      },
      {
        inputs: [2, 0],
        ops: ['sep_conv_3x3', 'max_pool_3x3'],
        combine: 'add',
        kerasNames: { left: 'reduction_left4_{id}', combine: 'reduction_add4_{id}' },
      },
    ],
    concat: [3, 4, 5, 6],
  },
};

/** Genotypes by name, for configs and the CLI. */
export const GENOTYPES: Readonly<Record<string, Genotype>> = { 'NASNet-A': NASNET_A };
