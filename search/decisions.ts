// The 50 decisions a sampler makes for one architecture (PAPER §3, Fig. 3): for each of the B = 5 blocks of
// the normal cell, then of the reduction cell, (1) the first hidden state, (2) the second, (3) the op on the
// first, (4) the op on the second, (5) the combine op. Input choices grow with the block index: block b picks
// among h_i, h_{i-1} and the outputs of blocks 0..b-1 (b + 2 choices). A decision vector is plain data
// (integers); `decisionsToGenotype` turns it into the genotype the cell builder takes, concatenating the
// unused states (the paper's rule), so every vector gives a valid genotype.
import { NasnetError } from '../core/errors.js';
import { unusedStates, validateGenotype, type BlockGene, type CellGenotype, type Genotype } from '../cells/genotype.js';
import { CELL_KINDS, COMBINES, NUM_BLOCKS, OPS, type CellKind } from '../cells/search_space.js';

export type DecisionKind = 'input' | 'op' | 'combine';

export interface DecisionSpec {
  readonly kind: DecisionKind;
  readonly cell: CellKind;
  readonly block: number;
  /** 0/1 for the two inputs and the two ops; 0 for the combine. */
  readonly side: number;
  /** How many choices: b + 2 (inputs), 13 (ops), 2 (combine). */
  readonly choices: number;
}

/** Decisions per block: input, input, op, op, combine. */
export const DECISIONS_PER_BLOCK = 5;

function buildSpecs(): DecisionSpec[] {
  const specs: DecisionSpec[] = [];
  for (const cell of CELL_KINDS) {
    for (let block = 0; block < NUM_BLOCKS; block++) {
      for (const side of [0, 1]) specs.push({ kind: 'input', cell, block, side, choices: block + 2 });
      for (const side of [0, 1]) specs.push({ kind: 'op', cell, block, side, choices: OPS.length });
      specs.push({ kind: 'combine', cell, block, side: 0, choices: COMBINES.length });
    }
  }
  return specs;
}

/** The 50 decisions in sampling order. */
export const DECISIONS: readonly DecisionSpec[] = buildSpecs();
export const NUM_DECISIONS = DECISIONS.length;
/** Most input choices of any block (the last block: 2 + 4). */
export const MAX_INPUT_CHOICES = NUM_BLOCKS + 1;

/** log of the number of architectures: sum of log(choices). */
export const LOG_SPACE_SIZE = DECISIONS.reduce((sum, d) => sum + Math.log(d.choices), 0);

/** Throws INVALID_DATA unless `decisions` is 50 integers each within its decision's choices. */
export function checkDecisions(decisions: readonly number[], where = 'decisions'): void {
  if (!Array.isArray(decisions) || decisions.length !== NUM_DECISIONS) {
    throw new NasnetError('INVALID_DATA', `${where} must be ${NUM_DECISIONS} integers; received ${Array.isArray(decisions) ? decisions.length : typeof decisions}`);
  }
  decisions.forEach((value, t) => {
    const spec = DECISIONS[t]!;
    if (!Number.isInteger(value) || value < 0 || value >= spec.choices) {
      throw new NasnetError('INVALID_DATA', `${where}[${t}] (${spec.cell} block ${spec.block} ${spec.kind}) must be an integer in [0, ${spec.choices - 1}]; received ${value}`);
    }
  });
}

function cellFrom(decisions: readonly number[], offset: number): CellGenotype {
  const blocks: BlockGene[] = [];
  for (let b = 0; b < NUM_BLOCKS; b++) {
    const d = decisions.slice(offset + b * DECISIONS_PER_BLOCK, offset + (b + 1) * DECISIONS_PER_BLOCK) as number[];
    blocks.push({ inputs: [d[0]!, d[1]!], ops: [OPS[d[2]!]!, OPS[d[3]!]!], combine: COMBINES[d[4]!]! });
  }
  return { blocks, concat: unusedStates(blocks) };
}

/** The genotype of a decision vector (validated). */
export function decisionsToGenotype(decisions: readonly number[], name = 'searched'): Genotype {
  checkDecisions(decisions);
  const half = NUM_DECISIONS / 2;
  return validateGenotype({ name, normal: cellFrom(decisions, 0), reduction: cellFrom(decisions, half) });
}

/** The decision vector of a genotype (its concat list is not a decision: it follows from the blocks). */
export function genotypeToDecisions(genotype: Genotype): number[] {
  const out: number[] = [];
  for (const cell of [genotype.normal, genotype.reduction]) {
    for (const block of cell.blocks) {
      out.push(block.inputs[0], block.inputs[1], OPS.indexOf(block.ops[0]), OPS.indexOf(block.ops[1]), COMBINES.indexOf(block.combine));
    }
  }
  checkDecisions(out);
  return out;
}
