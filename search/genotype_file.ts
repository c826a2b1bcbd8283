// Reading the cell for `nasnet train --genotype FILE`: an export of `nasnet search export` (its best cell) or
// a plain genotype JSON (cells/genotype.ts).
import { readFile } from 'node:fs/promises';
import { NasnetError } from '../core/errors.js';
import type { Genotype } from '../cells/genotype.js';
import { genotypeFromFile } from './report.js';

export async function readGenotypeFile(path: string, rank = 0): Promise<Genotype> {
  const text = await readFile(path, 'utf8').catch((error: Error) => {
    throw new NasnetError('IO_ERROR', `cannot read --genotype ${path}: ${error.message}`, { path });
  });
  return genotypeFromFile(text, path, rank);
}
