// The weights cache: published weights by name, fetched only when asked, checked, placed atomically.
//
//   $NASNET_HOME (default ~/.cache/nasnet-ts)
//     weights/<name>/<file>          a Keras .h5 (nasnet-mobile/NASNet-mobile.h5, ...)
//     weights/<name>/<folder>/...    an unpacked OD API tarball (the .tar.gz itself is not kept)
//     weights/<name>.json            the record: URL, size, MD5, SHA-256, how it was checked, file list
//     downloads/<name>/<file>.part   a download in progress (resumed by the next fetch)
//     downloads/<name>/.lock         the pid of the process fetching <name> (one fetch at a time)
//     int8/<sha256>.onnx             calibrated int8 classifier graphs (src/api/int8_cache.ts)
//
// A name is cached when its record and its path exist. Placement builds weights/.<name>.staging-*,
// renames it over weights/<name>, then writes the record (temp + rename): an interrupted fetch leaves
// no half-placed weights. A file whose checksum is wrong is deleted and nothing of it stays.
// Keras files are held to their published MD5. The tarballs have none: the SHA-256 of the first copy is
// recorded (trust on first use) and later fetches and adds of that name must match it; `verify`
// re-hashes every unpacked file against the record and runs the entry's extra checks (checks.ts).
import { copyFile, mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { writeFileAtomic } from '../../core/atomic_file.js';
import { NasnetError } from '../../core/errors.js';
import { runWeightsChecks, type CheckOutcome } from './checks.js';
import { DownloadError, describeFailure, downloadToFile, hashFile, type DownloadOptions } from './download.js';
import { DEFAULT_WEIGHTS_REGISTRY, type WeightsEntry, type WeightsRegistry } from './registry.js';
import { unpackTarGz } from './unpack.js';

type Env = Readonly<Record<string, string | undefined>>;

export interface CacheOptions {
  /** The cache root (default: NASNET_HOME, else ~/.cache/nasnet-ts). */
  readonly home?: string;
  readonly registry?: WeightsRegistry;
  /** NASNET_HOME, NASNET_FETCH and the proxy variables are read here (default process.env). */
  readonly env?: Env;
}

export interface FetchOptions extends CacheOptions, Pick<DownloadOptions, 'timeoutMs' | 'attempts' | 'onProgress'> {
  /** Download again even when cached. */
  readonly force?: boolean;
}

export type CheckedBy = 'md5' | 'sha256' | 'sha256-first-use';

/** weights/<name>.json */
export interface WeightsRecord {
  readonly name: string;
  readonly url: string;
  readonly file: string;
  readonly bytes: number;
  readonly md5: string;
  readonly sha256: string;
  readonly checkedBy: CheckedBy;
  readonly source: 'fetch' | 'add';
  readonly placedAt: string;
  /** The path relative to weights/<name>/ that loaders get: the .h5, or the archive's top folder. */
  readonly path: string;
  /** Unpacked archives: every file with its size and SHA-256, for verify. */
  readonly files?: readonly { path: string; bytes: number; sha256: string }[];
}

export function nasnetHome(env: Env = process.env): string {
  const home = env.NASNET_HOME;
  return home !== undefined && home !== '' ? home : join(homedir(), '.cache', 'nasnet-ts');
}

/** NASNET_FETCH=1 (or true/yes) lets commands that take weights fetch a missing name. */
export function fetchAllowedByEnv(env: Env = process.env): boolean {
  return ['1', 'true', 'yes'].includes((env.NASNET_FETCH ?? '').toLowerCase());
}

function homeOf(options: CacheOptions): string {
  return options.home ?? nasnetHome(options.env ?? process.env);
}

function entryOf(name: string, options: CacheOptions): WeightsEntry {
  const registry = options.registry ?? DEFAULT_WEIGHTS_REGISTRY;
  const entry = registry.get(name);
  if (entry === undefined) {
    throw new NasnetError('INVALID_ARGUMENT', `unknown weights name ${JSON.stringify(name)}; known: ${[...registry.keys()].join(', ')}`);
  }
  return entry;
}

const recordFile = (home: string, name: string): string => join(home, 'weights', `${name}.json`);
const entryDir = (home: string, name: string): string => join(home, 'weights', name);
const partialFile = (home: string, entry: WeightsEntry): string => join(home, 'downloads', entry.name, `${entry.file}.part`);

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

export async function readRecord(name: string, options: CacheOptions = {}): Promise<WeightsRecord | undefined> {
  try {
    return JSON.parse(await readFile(recordFile(homeOf(options), name), 'utf8')) as WeightsRecord;
  } catch {
    return undefined;
  }
}

/** The cached path of `name` (the .h5, or the unpacked folder), or undefined when not cached. */
export async function cachedWeightsPath(name: string, options: CacheOptions = {}): Promise<string | undefined> {
  entryOf(name, options);
  const record = await readRecord(name, options);
  if (record === undefined) return undefined;
  const path = join(entryDir(homeOf(options), name), record.path);
  return (await exists(path)) ? path : undefined;
}

function addCommand(name: string): string {
  return `nasnet weights add ${name} FILE`;
}

/** The checksum a file must have, or the reason it is refused. */
function checkHashes(entry: WeightsEntry, hashes: { md5: string; sha256: string }, previous: WeightsRecord | undefined): CheckedBy {
  const fail = (what: string, expected: string, received: string): never => {
    throw new NasnetError('CHECKSUM_MISMATCH', `${entry.name}: ${what} is ${received}, expected ${expected}`, { name: entry.name, expected, received });
  };
  if (entry.md5 !== undefined) {
    if (hashes.md5 !== entry.md5) fail('MD5', entry.md5, hashes.md5);
    return 'md5';
  }
  if (entry.sha256 !== undefined) {
    if (hashes.sha256 !== entry.sha256) fail('SHA-256', entry.sha256, hashes.sha256);
    return 'sha256';
  }
  if (previous !== undefined) {
    if (hashes.sha256 !== previous.sha256) fail('SHA-256 (recorded on first use)', previous.sha256, hashes.sha256);
  }
  return 'sha256-first-use';
}

/** The archive's single top folder ("faster_rcnn_nas_coco_2018_01_28"), or "." when files sit at the top. */
function archiveRoot(files: readonly string[]): string {
  const tops = new Set(files.map((f) => (f.includes('/') ? f.slice(0, f.indexOf('/')) : '')));
  const [top] = tops;
  return tops.size === 1 && top !== undefined && top !== '' ? top : '.';
}

/**
 * Checks `file` and moves (fetch) or copies (add) it into the cache under `entry.name`. On a checksum
 * mismatch a fetched file is deleted; nothing is placed either way.
 */
async function place(entry: WeightsEntry, file: string, source: 'fetch' | 'add', options: CacheOptions): Promise<{ path: string; record: WeightsRecord }> {
  const home = homeOf(options);
  const previous = await readRecord(entry.name, options);
  const hashes = await hashFile(file);
  let checkedBy: CheckedBy;
  try {
    checkedBy = checkHashes(entry, hashes, previous);
  } catch (error) {
    if (source === 'fetch') await rm(file, { force: true });
    throw error;
  }
  const staging = join(home, 'weights', `.${entry.name}.staging-${process.pid}-${randomBytes(4).toString('hex')}`);
  await mkdir(staging, { recursive: true });
  try {
    let path = entry.file;
    let files: WeightsRecord['files'];
    if (entry.format === 'keras-h5') {
      if (source === 'fetch') await rename(file, join(staging, entry.file));
      else await copyFile(file, join(staging, entry.file));
    } else {
      let unpacked: readonly string[];
      try {
        unpacked = (await unpackTarGz(file, staging)).files;
      } catch (error) {
        throw new NasnetError('INVALID_DATA', `${entry.name}: cannot unpack ${file}: ${(error as Error).message}`);
      }
      files = await Promise.all(unpacked.map(async (f) => ({ path: f, ...(({ bytes, sha256 }) => ({ bytes, sha256 }))(await hashFile(join(staging, f))) })));
      path = archiveRoot(unpacked);
      if (source === 'fetch') await rm(file, { force: true });
    }
    const dir = entryDir(home, entry.name);
    await rm(recordFile(home, entry.name), { force: true });
    await rm(dir, { recursive: true, force: true });
    await rename(staging, dir);
    const record: WeightsRecord = {
      name: entry.name,
      url: entry.url,
      file: entry.file,
      bytes: hashes.bytes,
      md5: hashes.md5,
      sha256: hashes.sha256,
      checkedBy,
      source,
      placedAt: new Date().toISOString(),
      path,
      ...(files === undefined ? {} : { files }),
    };
    await writeFileAtomic(recordFile(home, entry.name), `${JSON.stringify(record, null, 2)}\n`);
    return { path: join(dir, path), record };
  } catch (error) {
    await rm(staging, { recursive: true, force: true });
    throw error;
  }
}

export interface FetchResult {
  readonly name: string;
  readonly path: string;
  /** False when the name was already cached (nothing downloaded). */
  readonly downloaded: boolean;
  readonly record: WeightsRecord;
  /** Bytes already on disk from an earlier, interrupted fetch. */
  readonly resumedFrom: number;
}

/** Downloads `name` into the cache (unless cached and not `force`). Failures: WEIGHTS_UNAVAILABLE naming the URL and the `add` command. */
export async function fetchWeights(name: string, options: FetchOptions = {}): Promise<FetchResult> {
  const entry = entryOf(name, options);
  const cached = await cachedWeightsPath(name, options);
  if (cached !== undefined && options.force !== true) {
    return { name, path: cached, downloaded: false, record: (await readRecord(name, options)) as WeightsRecord, resumedFrom: 0 };
  }
  const home = homeOf(options);
  const part = partialFile(home, entry);
  await mkdir(dirname(part), { recursive: true });
  const release = await lockDownload(join(dirname(part), '.lock'), name);
  try {
    return await downloadAndPlace(entry, part, options);
  } finally {
    await release();
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** One fetch of a name at a time (processes sharing a cache): a lock file holding the pid; a dead owner's lock is taken over. */
async function lockDownload(path: string, name: string): Promise<() => Promise<void>> {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      await writeFile(path, String(process.pid), { flag: 'wx' });
      return () => rm(path, { force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const owner = Number(await readFile(path, 'utf8').catch(() => ''));
      if (Number.isInteger(owner) && owner > 0 && owner !== process.pid && processAlive(owner)) {
        throw new NasnetError('WEIGHTS_UNAVAILABLE', `another process (pid ${owner}) is fetching ${name} into this cache; wait for it, or remove ${path} if it is gone`);
      }
      await rm(path, { force: true });
    }
  }
  throw new NasnetError('WEIGHTS_UNAVAILABLE', `cannot lock ${path} to fetch ${name}`);
}

async function downloadAndPlace(entry: WeightsEntry, part: string, options: FetchOptions): Promise<FetchResult> {
  const name = entry.name;
  let resumedFrom: number;
  try {
    ({ resumedFrom } = await downloadToFile(entry.url, part, {
      env: options.env ?? process.env,
      ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
      ...(options.attempts === undefined ? {} : { attempts: options.attempts }),
      ...(options.onProgress === undefined ? {} : { onProgress: options.onProgress }),
    }));
  } catch (error) {
    // An HTTP error status leaves nothing worth resuming; a cut or a timeout keeps a non-empty partial file.
    const httpError = error instanceof DownloadError && error.status !== undefined;
    if (httpError || !(await stat(part).then((s) => s.size > 0, () => false))) await rm(dirname(part), { recursive: true, force: true });
    const reason = error instanceof DownloadError ? error.message : describeFailure(error);
    throw new NasnetError(
      'WEIGHTS_UNAVAILABLE',
      `cannot fetch ${name} from ${entry.url}: ${reason}. If this machine is offline or behind a firewall, download the file elsewhere and run: ${addCommand(name)}`,
      { name, url: entry.url },
    );
  }
  try {
    const placed = await place(entry, part, 'fetch', options);
    return { name, path: placed.path, downloaded: true, record: placed.record, resumedFrom };
  } finally {
    await rm(dirname(part), { recursive: true, force: true });
  }
}

/** Places a file obtained elsewhere under `name`, checked exactly as a download would be. */
export async function addWeights(name: string, file: string, options: CacheOptions = {}): Promise<{ path: string; record: WeightsRecord }> {
  const entry = entryOf(name, options);
  try {
    const info = await stat(file);
    if (!info.isFile()) throw new Error('not a regular file');
  } catch (error) {
    throw new NasnetError('IO_ERROR', `weights add ${name}: cannot read ${file}: ${(error as Error).message}`);
  }
  return place(entry, file, 'add', options);
}

export interface VerifyResult {
  readonly name: string;
  readonly ok: boolean;
  readonly problems: readonly string[];
  readonly checks: readonly CheckOutcome[];
}

/** Re-hashes the cached copy of `name` against its record (and the published MD5), then runs the extra checks. */
export async function verifyWeights(name: string, options: CacheOptions = {}): Promise<VerifyResult> {
  const entry = entryOf(name, options);
  const path = await cachedWeightsPath(name, options);
  const record = await readRecord(name, options);
  if (path === undefined || record === undefined) throw notCached(name, options);
  const problems: string[] = [];
  const dir = entryDir(homeOf(options), name);
  if (record.files === undefined) {
    const hashes = await hashFile(join(dir, record.path));
    if (hashes.sha256 !== record.sha256) problems.push(`${record.path}: SHA-256 ${hashes.sha256}, recorded ${record.sha256}`);
    if (entry.md5 !== undefined && hashes.md5 !== entry.md5) problems.push(`${record.path}: MD5 ${hashes.md5}, published ${entry.md5}`);
  } else {
    for (const file of record.files) {
      try {
        const hashes = await hashFile(join(dir, file.path));
        if (hashes.sha256 !== file.sha256) problems.push(`${file.path}: SHA-256 ${hashes.sha256}, recorded ${file.sha256}`);
      } catch (error) {
        problems.push(`${file.path}: ${(error as Error).message}`);
      }
    }
  }
  const checks = await runWeightsChecks(entry, path);
  for (const check of checks) if (check.status === 'failed') problems.push(`${check.name}: ${check.detail}`);
  return { name, ok: problems.length === 0, problems, checks };
}

export function notCached(name: string, options: CacheOptions = {}): NasnetError {
  return new NasnetError(
    'WEIGHTS_UNAVAILABLE',
    `weights ${name} are not in the cache (${join(homeOf(options), 'weights')}); fetch them with: nasnet weights fetch ${name} ` +
      `(or pass --fetch, or set NASNET_FETCH=1); offline: ${addCommand(name)}`,
    { name },
  );
}

export interface ResolvedWeights {
  readonly path: string;
  /** The registry entry when `value` was a name. */
  readonly entry?: WeightsEntry;
}

/**
 * What a weights argument means: a published name (resolved to its cached path; fetched first only when
 * `fetch` is true or NASNET_FETCH=1) or a path (returned unchanged). Uncached names: WEIGHTS_UNAVAILABLE.
 */
export async function resolveWeights(value: string, options: CacheOptions & { fetch?: boolean } = {}): Promise<ResolvedWeights> {
  const registry = options.registry ?? DEFAULT_WEIGHTS_REGISTRY;
  const entry = registry.get(value);
  if (entry === undefined) return { path: value };
  const cached = await cachedWeightsPath(value, options);
  if (cached !== undefined) return { path: cached, entry };
  if (options.fetch ?? fetchAllowedByEnv(options.env ?? process.env)) return { path: (await fetchWeights(value, options)).path, entry };
  throw notCached(value, options);
}

export interface ListedWeights {
  readonly entry: WeightsEntry;
  readonly record?: WeightsRecord;
  readonly path?: string;
}

export async function listWeights(options: CacheOptions = {}): Promise<ListedWeights[]> {
  const registry = options.registry ?? DEFAULT_WEIGHTS_REGISTRY;
  return Promise.all(
    [...registry.values()].map(async (entry) => {
      const path = await cachedWeightsPath(entry.name, options);
      const record = path === undefined ? undefined : await readRecord(entry.name, options);
      return { entry, ...(record === undefined ? {} : { record }), ...(path === undefined ? {} : { path }) };
    }),
  );
}
