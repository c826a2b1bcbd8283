// Extra checks `nasnet weights verify` runs on a cached copy, by name (WeightsEntry.checks). The OD API
// detectors list "tf-checkpoint-crc32c": the TF checkpoint reader (another branch) registers it with
// registerWeightsCheck('tf-checkpoint-crc32c', (folder) => ...) to check every tensor's crc32c. Until a
// check is registered, verify reports it as "unavailable" without failing.
import type { WeightsEntry } from './registry.js';

/** Resolves to undefined when the copy passes, or to what is wrong. */
export type WeightsCheck = (path: string, entry: WeightsEntry) => Promise<string | undefined>;

export interface CheckOutcome {
  readonly name: string;
  readonly status: 'ok' | 'failed' | 'unavailable';
  readonly detail: string;
}

const CHECKS = new Map<string, WeightsCheck>();

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
