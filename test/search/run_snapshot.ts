// What the fault tests compare between a run killed and resumed and the same run uninterrupted: every trial's
// result and the controller checkpoint's files, byte for byte.
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { listResults } from '../../search/results.js';

export async function runSnapshot(run: string): Promise<{ results: unknown[]; files: Record<string, string> }> {
  const results = (await listResults(run)).map((r) => ({ id: r.id, status: r.status, reward: r.reward, decisions: r.decisions, error: r.error?.message ?? null }));
  const dir = join(run, 'controller');
  const files: Record<string, string> = {};
  for (const name of (await readdir(dir)).sort()) files[name] = (await readFile(join(dir, name))).toString('base64');
  return { results, files };
}
