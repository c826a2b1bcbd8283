// Checkpoints: named weights + a JSON config in a directory, tfjs weights-manifest style.
//
//   <dir>/model.json              {format, formatVersion, config, extra?, weightsManifest, shards}
//   <dir>/group1-shard1of3.bin    the weights' bytes back to back in manifest order, little-endian,
//   <dir>/group1-shard2of3.bin    split into shards of at most 4 MiB (as tfjs `io.weightsLoaderFactory` reads them;
//   <dir>/group1-shard3of3.bin    a weight may straddle two shards)
//
// `weightsManifest` is tfjs's [{paths, weights: [{name, shape, dtype}]}]; `shards` adds each file's byte
// length and sha256 so that truncation and corruption are reported by file name.
//
// Atomic replace: everything is written and fsynced in <dir>.tmp-<pid>-<rand>, then <dir> is renamed to
// <dir>.old, the temp dir to <dir>, and <dir>.old is removed. A kill at any point leaves either the previous
// or the new checkpoint complete: before the swap <dir> is untouched; inside the two-rename window <dir> is
// missing and <dir>.old complete, which loadCheckpoint reads and the next saveCheckpoint restores.
// One writer per checkpoint directory at a time.
import { createHash, randomBytes } from 'node:crypto';
import { open, readFile, readdir, rename, rm, mkdir, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { NasnetError } from './errors.js';
import {
  CHECKPOINT_FORMAT, CHECKPOINT_VERSION, MODEL_JSON, WEIGHT_DTYPES, bytesOf, compareWeights, mismatchError, parseManifest,
  type CheckpointManifest, type WeightDtype, type WeightEntry, type WeightsGroup,
} from './checkpoint_manifest.js';

export {
  CHECKPOINT_FORMAT, CHECKPOINT_VERSION, compareWeights,
  type CheckpointManifest, type WeightComparison, type WeightDtype, type WeightEntry,
} from './checkpoint_manifest.js';

/** tfjs writes shards of 4 MiB (tfjs-converter `--weight_shard_size_bytes` default 4194304). */
export const DEFAULT_SHARD_BYTES = 4 * 1024 * 1024;

export interface NamedTensor {
  readonly name: string;
  readonly tensor: tf.Tensor;
}

export interface SaveCheckpointOptions {
  /** Any JSON value (plain objects, arrays, strings, finite numbers, booleans, null). */
  readonly config: unknown;
  readonly weights: readonly NamedTensor[] | ReadonlyMap<string, tf.Tensor>;
  /** JSON metadata: step, epoch, optimizer state, metrics... */
  readonly extra?: unknown;
  readonly shardBytes?: number;
}

export interface WeightSpec {
  readonly name: string;
  readonly shape: readonly number[];
  /** Checked only when given. */
  readonly dtype?: WeightDtype;
}

export interface LoadCheckpointOptions {
  /** The weights the model needs. Without it every stored weight is loaded. */
  readonly expected?: readonly WeightSpec[];
  /** Default true: a missing or unexpected name is an error. Shape mismatches are always errors. */
  readonly strict?: boolean;
}

export interface LoadedCheckpoint {
  readonly config: unknown;
  readonly extra: unknown;
  /** The caller owns these tensors. */
  readonly weights: Map<string, tf.Tensor>;
  /** Non-strict loads only: expected names absent from the checkpoint, and stored names not loaded. */
  readonly missing: readonly string[];
  readonly unexpected: readonly string[];
}

const oldDirOf = (dir: string): string => `${dir}.old`;
const tmpPrefixOf = (dir: string): string => `${basename(dir)}.tmp-`;

function ioError(fn: string, what: string, error: unknown): NasnetError {
  const reason = error instanceof Error ? error.message : String(error);
  return new NasnetError('IO_ERROR', `${fn}: ${what}: ${reason}`, undefined, { cause: error });
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(() => true, () => false);
}

/** Rejects anything JSON.stringify would drop or change (undefined, NaN, Map, Date, class instances...). */
function assertJson(fn: string, value: unknown, path: string): void {
  const fail = (what: string): never => {
    throw new NasnetError('INVALID_ARGUMENT', `${fn}: ${path} must be JSON data; received ${what}`, { field: path });
  };
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) fail(String(value));
    return;
  }
  if (Array.isArray(value)) {
    value.forEach((v, i) => assertJson(fn, v, `${path}[${i}]`));
    return;
  }
  if (typeof value === 'object') {
    const proto = Object.getPrototypeOf(value) as unknown;
    if (proto !== Object.prototype && proto !== null) fail(`a ${value.constructor?.name ?? 'non-plain'} object`);
    for (const [k, v] of Object.entries(value)) assertJson(fn, v, `${path}.${k}`);
    return;
  }
  fail(typeof value);
}

function namedTensors(fn: string, weights: SaveCheckpointOptions['weights']): NamedTensor[] {
  const list = weights instanceof Map ? [...weights].map(([name, tensor]) => ({ name, tensor })) : [...(weights as readonly NamedTensor[])];
  const seen = new Set<string>();
  for (const { name, tensor } of list) {
    if (typeof name !== 'string' || name === '') throw new NasnetError('INVALID_ARGUMENT', `${fn}: weight names must be non-empty strings`, { field: 'weights' });
    if (seen.has(name)) throw new NasnetError('INVALID_ARGUMENT', `${fn}: weight ${JSON.stringify(name)} appears twice`, { field: 'weights', name });
    seen.add(name);
    if (!(tensor instanceof tf.Tensor) || tensor.isDisposed) {
      throw new NasnetError('INVALID_ARGUMENT', `${fn}: weight ${JSON.stringify(name)} is not a live tensor`, { field: 'weights', name });
    }
    if (!(WEIGHT_DTYPES as readonly string[]).includes(tensor.dtype)) {
      throw new NasnetError('INVALID_ARGUMENT', `${fn}: weight ${JSON.stringify(name)} has dtype ${tensor.dtype}; expected one of ${WEIGHT_DTYPES.join(', ')}`, { field: 'weights', name });
    }
  }
  return list;
}

async function writeDurable(path: string, bytes: Uint8Array): Promise<void> {
  const handle = await open(path, 'wx');
  try {
    await handle.writeFile(bytes);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** fsync a directory, so that a rename or link in it survives a crash. */
export async function syncDir(path: string): Promise<void> {
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Streams the tensors' bytes into fixed-size shard files, hashing each. Peak memory: one tensor + one shard. */
async function writeShards(tmp: string, tensors: NamedTensor[], totalBytes: number, shardBytes: number) {
  const count = Math.max(1, Math.ceil(totalBytes / shardBytes));
  const paths = Array.from({ length: count }, (_, i) => `group1-shard${i + 1}of${count}.bin`);
  const shards: { path: string; byteLength: number; sha256: string }[] = [];
  let buffer = new Uint8Array(Math.min(shardBytes, totalBytes));
  let filled = 0;
  let written = 0;
  const flush = async (): Promise<void> => {
    const path = paths[shards.length]!;
    await writeDurable(join(tmp, path), buffer);
    shards.push({ path, byteLength: buffer.length, sha256: createHash('sha256').update(buffer).digest('hex') });
    written += buffer.length;
    buffer = new Uint8Array(Math.min(shardBytes, totalBytes - written));
    filled = 0;
  };
  for (const { tensor } of tensors) {
    const values = await tensor.data();
    // Typed arrays are in platform order; every platform Node and tfjs run on is little-endian.
    let bytes = new Uint8Array(values.buffer as ArrayBuffer, values.byteOffset, values.byteLength);
    while (bytes.length > 0) {
      const n = Math.min(bytes.length, buffer.length - filled);
      buffer.set(bytes.subarray(0, n), filled);
      filled += n;
      bytes = bytes.subarray(n);
      if (filled === buffer.length) await flush();
    }
  }
  if (shards.length === 0) await flush(); // a checkpoint without weight bytes still gets its one (empty) shard
  return { paths, shards };
}

/** Removes temp dirs of saves whose process is gone, and finishes a swap that a kill interrupted. */
async function tidyBeforeSave(dir: string): Promise<void> {
  const parent = dirname(dir);
  const prefix = tmpPrefixOf(dir);
  for (const entry of await readdir(parent)) {
    if (!entry.startsWith(prefix)) continue;
    const pid = Number(entry.slice(prefix.length).split('-')[0]);
    if (Number.isInteger(pid) && pid !== process.pid && !isAlive(pid)) await rm(join(parent, entry), { recursive: true, force: true });
  }
  if (!(await exists(dir)) && (await exists(join(oldDirOf(dir), MODEL_JSON)))) await rename(oldDirOf(dir), dir);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Refuses to replace a directory that is not a checkpoint (a typo must not delete someone's files). */
async function checkReplaceable(fn: string, dir: string): Promise<void> {
  // Only "does not exist" counts as absent: any other failure must not skip the check.
  const absent = <T>(fallback: T) => (e: unknown): T => {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return fallback;
    throw ioError(fn, `cannot read ${dir}`, e);
  };
  const info = await stat(dir).catch(absent(undefined));
  if (info === undefined) return;
  if (!info.isDirectory()) throw new NasnetError('INVALID_ARGUMENT', `${fn}: ${dir} exists and is not a directory`, { dir });
  const entries = await readdir(dir).catch(absent([]));
  if (entries.length === 0) return;
  const manifest = await readFile(join(dir, MODEL_JSON), 'utf8').catch(absent(''));
  if (!manifest.includes(`"${CHECKPOINT_FORMAT}"`)) {
    throw new NasnetError('INVALID_ARGUMENT', `${fn}: ${dir} is a non-empty directory without a ${CHECKPOINT_FORMAT} ${MODEL_JSON}; refusing to replace it`, { dir });
  }
}

/** Writes a checkpoint atomically (see the file comment); returns the manifest written. */
export async function saveCheckpoint(dir: string, options: SaveCheckpointOptions): Promise<CheckpointManifest> {
  const fn = 'saveCheckpoint';
  const target = resolve(dir);
  assertJson(fn, options.config, 'config');
  if (options.extra !== undefined) assertJson(fn, options.extra, 'extra');
  const shardBytes = options.shardBytes ?? DEFAULT_SHARD_BYTES;
  if (!Number.isInteger(shardBytes) || shardBytes < 4) {
    throw new NasnetError('INVALID_ARGUMENT', `${fn}: shardBytes must be an integer >= 4; received ${shardBytes}`, { field: 'shardBytes' });
  }
  const tensors = namedTensors(fn, options.weights);
  const weights: WeightEntry[] = tensors.map(({ name, tensor }) => ({ name, shape: [...tensor.shape], dtype: tensor.dtype as WeightDtype }));
  const totalBytes = weights.reduce((sum, w) => sum + bytesOf(w), 0);

  await mkdir(dirname(target), { recursive: true }).catch((e: unknown) => { throw ioError(fn, `cannot create ${dirname(target)}`, e); });
  await checkReplaceable(fn, target);
  await tidyBeforeSave(target).catch((e: unknown) => { throw ioError(fn, `cannot tidy ${dirname(target)}`, e); });
  const tmp = join(dirname(target), `${tmpPrefixOf(target)}${process.pid}-${randomBytes(4).toString('hex')}`);
  let manifest: CheckpointManifest;
  try {
    await mkdir(tmp);
    const { paths, shards } = await writeShards(tmp, tensors, totalBytes, shardBytes);
    manifest = {
      format: CHECKPOINT_FORMAT,
      formatVersion: CHECKPOINT_VERSION,
      config: options.config,
      ...(options.extra !== undefined ? { extra: options.extra } : {}),
      weightsManifest: [{ paths, weights }],
      shards,
    };
    await writeDurable(join(tmp, MODEL_JSON), Buffer.from(JSON.stringify(manifest, null, 1)));
    await syncDir(tmp);
  } catch (error) {
    await rm(tmp, { recursive: true, force: true });
    throw error instanceof NasnetError ? error : ioError(fn, `cannot write ${tmp}`, error);
  }
  try {
    const old = oldDirOf(target);
    if (await exists(target)) {
      await rm(old, { recursive: true, force: true });
      await rename(target, old);
    }
    await rename(tmp, target);
    await syncDir(dirname(target));
    await rm(old, { recursive: true, force: true });
  } catch (error) {
    throw ioError(fn, `cannot move ${tmp} to ${target}`, error);
  }
  return manifest;
}

/** The directory to read: <dir>, or <dir>.old when a save was killed between its two renames. */
async function checkpointDir(fn: string, dir: string): Promise<string> {
  const target = resolve(dir);
  if (await exists(join(target, MODEL_JSON))) return target;
  if (!(await exists(target))) {
    if (await exists(join(oldDirOf(target), MODEL_JSON))) return oldDirOf(target);
    // A path that is not there is an unreadable file (exit 3), like every other missing input.
    throw new NasnetError('IO_ERROR', `${fn}: no checkpoint at ${target} (no such file or directory)`, { dir: target });
  }
  throw new NasnetError('CHECKPOINT_INVALID', `${fn}: no checkpoint at ${target} (${MODEL_JSON} not found)`, { dir: target });
}

/** Reads and validates model.json only (no weights). */
export async function readCheckpointManifest(dir: string): Promise<CheckpointManifest> {
  const fn = 'readCheckpointManifest';
  const source = await checkpointDir(fn, dir);
  return parseManifest(fn, join(source, MODEL_JSON), await readFile(join(source, MODEL_JSON), 'utf8'));
}

/**
 * Reads one group's shards in order and copies each wanted weight's bytes out (a weight may straddle
 * shards). Unwanted weights are skipped but their shards are still size- and hash-checked.
 */
async function readGroup(
  fn: string, source: string, group: WeightsGroup, manifest: CheckpointManifest, wanted: ReadonlySet<string>,
): Promise<Map<string, ArrayBuffer>> {
  const invalid = (message: string, shard?: string): NasnetError =>
    new NasnetError('CHECKPOINT_INVALID', `${fn}: ${message}`, { dir: source, ...(shard !== undefined ? { shard } : {}) });
  const targets = group.weights.map((w) => ({ w, need: bytesOf(w), bytes: new Uint8Array(wanted.has(w.name) ? bytesOf(w) : 0) }));
  const groupBytes = targets.reduce((sum, x) => sum + x.need, 0);
  let t = 0; // weight being filled
  let done = 0; // its bytes filled so far
  let read = 0;
  for (const path of group.paths) {
    const data = await readFile(join(source, path)).catch((e: unknown) => {
      throw invalid(`shard ${path} of ${source} cannot be read (${(e as Error).message})`, path);
    });
    const integrity = manifest.shards?.find((s) => s.path === path);
    if (integrity !== undefined && data.length !== integrity.byteLength) {
      throw invalid(`shard ${path} of ${source} has ${data.length} bytes, expected ${integrity.byteLength} (truncated?)`, path);
    }
    if (integrity !== undefined && createHash('sha256').update(data).digest('hex') !== integrity.sha256) {
      throw invalid(`shard ${path} of ${source} is corrupt (sha256 mismatch)`, path);
    }
    read += data.length;
    let offset = 0;
    while (offset < data.length && t < targets.length) {
      const target = targets[t]!;
      const n = Math.min(target.need - done, data.length - offset);
      if (target.bytes.length > 0) target.bytes.set(data.subarray(offset, offset + n), done);
      offset += n;
      done += n;
      if (done === target.need) [t, done] = [t + 1, 0];
    }
  }
  if (read !== groupBytes) throw invalid(`the shards of ${source} hold ${read} bytes; the manifest needs ${groupBytes}`);
  return new Map(targets.filter((x) => wanted.has(x.w.name)).map((x) => [x.w.name, x.bytes.buffer]));
}

function toTensor(w: WeightEntry, buffer: ArrayBuffer): tf.Tensor {
  const values = w.dtype === 'float32' ? new Float32Array(buffer) : w.dtype === 'int32' ? new Int32Array(buffer) : new Uint8Array(buffer);
  return tf.tensor(values, [...w.shape], w.dtype);
}

/**
 * Loads a checkpoint. With `expected`, names and shapes are checked before any weight is read, and all
 * problems are reported together in one WEIGHTS_MISMATCH. Corrupt or truncated files are CHECKPOINT_INVALID.
 * No tensor is created unless the whole load succeeds.
 */
export async function loadCheckpoint(dir: string, options: LoadCheckpointOptions = {}): Promise<LoadedCheckpoint> {
  const fn = 'loadCheckpoint';
  const source = await checkpointDir(fn, dir);
  const manifest = parseManifest(fn, join(source, MODEL_JSON), await readFile(join(source, MODEL_JSON), 'utf8'));
  const stored = manifest.weightsManifest.flatMap((g) => g.weights);
  let wanted = new Set(stored.map((w) => w.name));
  let missing: string[] = [];
  let unexpected: string[] = [];
  if (options.expected !== undefined) {
    const comparison = compareWeights(options.expected, stored);
    const strict = options.strict ?? true;
    if (comparison.mismatched.length > 0 || (strict && (comparison.missing.length > 0 || comparison.unexpected.length > 0))) {
      throw mismatchError(fn, source, comparison, strict);
    }
    ({ missing, unexpected } = comparison);
    const skip = new Set(unexpected);
    wanted = new Set(stored.map((w) => w.name).filter((name) => !skip.has(name)));
  }
  const buffers = new Map<string, ArrayBuffer>();
  for (const group of manifest.weightsManifest) {
    for (const [name, buffer] of await readGroup(fn, source, group, manifest, wanted)) buffers.set(name, buffer);
  }
  const weights = new Map<string, tf.Tensor>();
  for (const w of stored) {
    const buffer = buffers.get(w.name);
    if (buffer !== undefined) weights.set(w.name, toTensor(w, buffer));
  }
  return { config: manifest.config, extra: manifest.extra, weights, missing, unexpected };
}
