// The results store of a run: one JSON file per trial id in RUN/results/, created first-write-wins. A result is
// written to a private temp file, fsynced, then hard-linked to its final name: link() fails with EEXIST when
// the name exists, so of two writers of one trial (a retry racing a slow attempt, a second worker) exactly one
// wins and the other's result is dropped; a reader never sees a partial file. The distributed runner (issue
// #19) keeps these semantics with HSETNX.
import { randomBytes } from 'node:crypto';
import { link, mkdir, open, readFile, readdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { syncDir } from '../core/checkpoint.js';
import { NasnetError } from '../core/errors.js';

export interface TrialResult {
  readonly id: string;
  readonly index: number;
  readonly seed: number;
  readonly decisions: readonly number[];
  readonly status: 'done' | 'failed';
  /** The validation accuracy (done); null when failed (never a made-up reward). */
  readonly reward: number | null;
  readonly metrics?: Readonly<Record<string, number>>;
  /** The last attempt's error (failed). */
  readonly error?: { readonly code: string; readonly message: string };
  readonly attempts: number;
}

export const resultsDir = (run: string): string => join(run, 'results');


/** Writes `result` unless one exists for its id; true when this call's result is the stored one. */
export async function writeResult(run: string, result: TrialResult): Promise<boolean> {
  const dir = resultsDir(run);
  await mkdir(dir, { recursive: true });
  const tmp = join(dir, `.${result.id}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  const handle = await open(tmp, 'wx');
  try {
    await handle.writeFile(`${JSON.stringify(result)}\n`);
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await link(tmp, join(dir, `${result.id}.json`));
    await syncDir(dir);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw new NasnetError('IO_ERROR', `writeResult: cannot store ${result.id}: ${(error as Error).message}`);
  } finally {
    await unlink(tmp).catch(() => undefined);
  }
}

export async function readResult(run: string, id: string): Promise<TrialResult | undefined> {
  const text = await readFile(join(resultsDir(run), `${id}.json`), 'utf8').catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return undefined;
    throw new NasnetError('IO_ERROR', `readResult: ${error.message}`);
  });
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as TrialResult;
  } catch (error) {
    throw new NasnetError('INVALID_JSON', `readResult: ${id}: ${(error as Error).message}`);
  }
}

/** Every stored result, by trial index. */
export async function listResults(run: string): Promise<TrialResult[]> {
  const names = await readdir(resultsDir(run)).catch(() => [] as string[]);
  const results = await Promise.all(names.filter((n) => n.endsWith('.json') && !n.startsWith('.')).map((n) => readResult(run, n.slice(0, -5))));
  return results.filter((r): r is TrialResult => r !== undefined).sort((a, b) => a.index - b.index);
}
