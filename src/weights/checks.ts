// Extra checks `nasnet weights verify` runs on a cached copy, by name (WeightsEntry.checks). The OD API
// detectors list "tf-checkpoint-crc32c": every block and tensor crc32c of the unpacked TF checkpoint
// (core/tf_checkpoint.ts). A check named by an entry but not known here is reported "unavailable".
import { findCheckpointPrefix, verifyTfCheckpoint } from '../../core/tf_checkpoint.js';
import type { WeightsEntry } from './registry.js';

/** Resolves to undefined when the copy passes, or to what is wrong. */
export type WeightsCheck = (path: string, entry: WeightsEntry) => Promise<string | undefined>;

export interface CheckOutcome {
  readonly name: string;
  readonly status: 'ok' | 'failed' | 'unavailable';
  readonly detail: string;
}

/** The zoo tarballs hold model.ckpt.{index,data-*} beside pipeline.config; a crc mismatch throws (failed). */
async function tfCheckpointCrc(folder: string): Promise<string | undefined> {
  await verifyTfCheckpoint(await findCheckpointPrefix(folder));
  return undefined;
}

const CHECKS = new Map<string, WeightsCheck>([['tf-checkpoint-crc32c', tfCheckpointCrc]]);

export function registerWeightsCheck(name: string, check: WeightsCheck): void {
  CHECKS.set(name, check);
}

export function unregisterWeightsCheck(name: string): void {
  CHECKS.delete(name);
}

export async function runWeightsChecks(entry: WeightsEntry, path: string): Promise<CheckOutcome[]> {
  const outcomes: CheckOutcome[] = [];
  for (const name of entry.checks ?? []) {
    const check = CHECKS.get(name);
    if (check === undefined) {
      outcomes.push({ name, status: 'unavailable', detail: 'no reader for this check is built in yet' });
      continue;
    }
    try {
      const problem = await check(path, entry);
      outcomes.push(problem === undefined ? { name, status: 'ok', detail: 'passed' } : { name, status: 'failed', detail: problem });
    } catch (error) {
      outcomes.push({ name, status: 'failed', detail: (error as Error).message });
    }
  }
  return outcomes;
}
