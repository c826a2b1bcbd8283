// Genotypes are plain data (as TF-slim's `operations` / `hiddenstate_indices` / `used_hiddenstates`
// lists in nasnet_utils.py): one builder (cell.ts) turns any valid genotype into layers. This module
// holds the types, the validator and the JSON round trip.
import { NasnetError } from '../core/errors.js';
import { COMBINES, NUM_BLOCKS, OPS, isOpName, stateLabel, type CombineOp, type OpName } from './search_space.js';

/**
 * Layer-name exceptions of the Keras application for one block; `{id}` stands for the cell id.
 * `combine: null` leaves the combine layer to Keras' auto-namer (`add_k`), as Keras does for block 4
 * of the NASNet-A reduction cell.
 */
export interface KerasBlockNames {
  readonly left?: string;
  readonly right?: string;
  readonly combine?: string | null;
}

export interface BlockGene {
  /** State indices read by the left and right branch (0 = h_i, 1 = h_{i-1}, 2 + b = block b). */
  readonly inputs: readonly [number, number];
  readonly ops: readonly [OpName, OpName];
  readonly combine: CombineOp;
  readonly kerasNames?: KerasBlockNames;
}

export interface CellGenotype {
  readonly blocks: readonly BlockGene[];
  /** States concatenated into the cell output, in this order (slim: the unused hidden states). */
  readonly concat: readonly number[];
}

export interface Genotype {
  readonly name: string;
  readonly normal: CellGenotype;
  readonly reduction: CellGenotype;
}

/** The states no block reads: the paper's "unused hidden states are concatenated" rule. */
export function unusedStates(blocks: readonly BlockGene[]): number[] {
  const used = new Set(blocks.flatMap((b) => b.inputs));
  const unused: number[] = [];
  for (let s = 0; s < blocks.length + 2; s++) if (!used.has(s)) unused.push(s);
  return unused;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function show(value: unknown): string {
  return JSON.stringify(value) ?? String(value);
}

function checkKerasNames(value: unknown, where: string, issues: string[]): void {
  if (value === undefined) return;
  if (!isRecord(value)) {
    issues.push(`${where}.kerasNames must be an object; received ${show(value)}`);
    return;
  }
  for (const [key, name] of Object.entries(value)) {
    if (!['left', 'right', 'combine'].includes(key)) {
      issues.push(`${where}.kerasNames.${key} is not a field (left, right, combine)`);
    } else if (name === null && key === 'combine') {
      continue;
    } else if (typeof name !== 'string' || !name.includes('{id}')) {
      issues.push(`${where}.kerasNames.${key} must be a string containing "{id}"; received ${show(name)}`);
    }
  }
}

function checkBlock(value: unknown, b: number, where: string, issues: string[]): void {
  if (!isRecord(value)) {
    issues.push(`${where} must be an object {inputs, ops, combine}; received ${show(value)}`);
    return;
  }
  const { inputs, ops, combine } = value;
  const maxState = b + 1; // h_i, h_{i-1} and the outputs of blocks 0..b-1
  if (!Array.isArray(inputs) || inputs.length !== 2) {
    issues.push(`${where}.inputs must be a pair of state indices; received ${show(inputs)}`);
  } else {
    inputs.forEach((s: unknown, side) => {
      if (!Number.isInteger(s) || (s as number) < 0 || (s as number) > maxState) {
        const allowed = maxState === 1 ? '0 (h_i) or 1 (h_{i-1})' : `0 (h_i), 1 (h_{i-1}) or an earlier block 2..${maxState}`;
        issues.push(`${where}.inputs[${side}] must be ${allowed}; received ${show(s)}`);
      }
    });
  }
  if (!Array.isArray(ops) || ops.length !== 2) {
    issues.push(`${where}.ops must be a pair of op names; received ${show(ops)}`);
  } else {
    ops.forEach((op: unknown, side) => {
      if (!isOpName(op)) issues.push(`${where}.ops[${side}] must be one of ${OPS.join(', ')}; received ${show(op)}`);
    });
  }
  if (!(COMBINES as readonly unknown[]).includes(combine)) {
    issues.push(`${where}.combine must be one of ${COMBINES.join(', ')}; received ${show(combine)}`);
  }
  checkKerasNames(value.kerasNames, where, issues);
}

function checkCell(value: unknown, where: string, issues: string[]): void {
  if (!isRecord(value)) {
    issues.push(`${where} must be an object {blocks, concat}; received ${show(value)}`);
    return;
  }
  const { blocks, concat } = value;
  if (!Array.isArray(blocks) || blocks.length !== NUM_BLOCKS) {
    issues.push(`${where}.blocks must be an array of ${NUM_BLOCKS} blocks; received ${Array.isArray(blocks) ? `${blocks.length} blocks` : show(blocks)}`);
    return;
  }
  blocks.forEach((block, b) => checkBlock(block, b, `${where}.blocks[${b}]`, issues));
  const numStates = NUM_BLOCKS + 2;
  if (!Array.isArray(concat) || concat.length === 0) {
    issues.push(`${where}.concat must be a non-empty array of state indices; received ${show(concat)}`);
    return;
  }
  const seen = new Set<number>();
  concat.forEach((s: unknown, k) => {
    if (!Number.isInteger(s) || (s as number) < 0 || (s as number) >= numStates) {
      issues.push(`${where}.concat[${k}] must be a state index 0..${numStates - 1}; received ${show(s)}`);
    } else if (seen.has(s as number)) {
      issues.push(`${where}.concat[${k}] repeats state ${show(s)} (${stateLabel(s as number)})`);
    } else {
      seen.add(s as number);
    }
  });
  // A block output that nothing reads and that is not concatenated would be dead computation.
  const read = new Set<number>(blocks.flatMap((blk: unknown) => (isRecord(blk) && Array.isArray(blk.inputs) ? blk.inputs : [])));
  for (let s = 2; s < numStates; s++) {
    if (!read.has(s) && !seen.has(s)) {
      issues.push(`${where}: the output of ${stateLabel(s)} is neither read by a later block nor in concat`);
    }
  }
}

/** Every problem of a genotype-shaped value, as messages naming the field (empty when valid). */
export function genotypeIssues(value: unknown): string[] {
  const issues: string[] = [];
  if (!isRecord(value)) return [`genotype must be an object {name, normal, reduction}; received ${show(value)}`];
  if (typeof value.name !== 'string' || value.name === '') {
    issues.push(`genotype.name must be a non-empty string; received ${show(value.name)}`);
  }
  checkCell(value.normal, 'genotype.normal', issues);
  checkCell(value.reduction, 'genotype.reduction', issues);
  return issues;
}

/** Throws INVALID_DATA listing every problem; returns the value typed as a Genotype otherwise. */
export function validateGenotype(value: unknown): Genotype {
  const issues = genotypeIssues(value);
  if (issues.length > 0) {
    throw new NasnetError('INVALID_DATA', `validateGenotype: ${issues.join('; ')}`, { issues });
  }
  return value as Genotype;
}

/** Throws INVALID_DATA listing every problem of one cell genotype (`where` prefixes the messages). */
export function validateCellGenotype(value: unknown, where = 'cell'): CellGenotype {
  const issues: string[] = [];
  checkCell(value, where, issues);
  if (issues.length > 0) throw new NasnetError('INVALID_DATA', `validateGenotype: ${issues.join('; ')}`, { issues });
  return value as CellGenotype;
}

/** Stable JSON text of a genotype (2-space indented). */
export function genotypeToJson(genotype: Genotype): string {
  return JSON.stringify(validateGenotype(genotype), null, 2);
}

/** Parses and validates genotype JSON; INVALID_JSON for bad syntax, INVALID_DATA for a bad genotype. */
export function parseGenotype(text: string): Genotype {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new NasnetError('INVALID_JSON', `parseGenotype: the text is not JSON (${(error as Error).message})`);
  }
  return validateGenotype(value);
}
