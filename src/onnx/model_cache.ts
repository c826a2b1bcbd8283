// The ONNX cache: a model exported on load is kept beside its weights, so the next load skips the export.
//
//   <checkpoint dir>/onnx-cache/<graph>-<key>.onnx          weights = a checkpoint directory
//   <dir of file>/onnx-cache/<file name>.<graph>-<key>.onnx  weights = a file (Keras .h5)
//
// <key> (16 hex digits of a sha256) covers the weights' bytes (every file of a checkpoint directory, the
// file otherwise), the caller's `spec` (model config, export options: whatever the bytes depend on besides
// the weights) and ONNX_EXPORTER_VERSION, so any change to them misses and rebuilds. Content, not mtime:
// npm packs every file with the same fixed mtime, so a retrained model of the same size would otherwise hit.
// Writes are atomic (temp file in the cache dir + rename), so concurrent loaders (service workers) never see
// a partial file; the last rename wins and both contents are equal. After a write the graph's older entries
// are removed. Everything is best effort: an unwritable location (read-only package or container mount)
// exports in memory and logs one info line; an entry that `open` rejects (corrupt, truncated) is rebuilt.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, readFile, readdir, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { writeFileAtomic } from '../../core/atomic_file.js';
import { NasnetError } from '../../core/errors.js';
import { silentLogger, type Logger } from '../../core/logger.js';

/** Bump when the exporter's output changes for the same weights and options (a converter or a pass). */
export const ONNX_EXPORTER_VERSION = 1;
export const CACHE_DIR_NAME = 'onnx-cache';

export interface OnnxCacheOptions {
  /** Which graph of these weights ("classifier", "rpn", "head"): names the file, scopes the clean-up. */
  readonly graph: string;
  /** JSON-serialisable: everything besides the weights that the exported bytes depend on. */
  readonly spec: unknown;
  readonly logger?: Logger;
}

/** Where an entry came from: read from the cache, exported and written to it, or exported in memory only. */
export type CacheSource = 'cache' | 'written' | 'memory';

export interface CachedOnnx<T> {
  readonly value: T;
  readonly source: CacheSource;
  /** The cache file (absent when the location is unwritable). */
  readonly path?: string;
}

async function hashFile(hash: ReturnType<typeof createHash>, path: string): Promise<void> {
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
}

/** sha256 over the weights: a file, or every regular file of a directory (cache dir excluded) by name. */
async function weightsDigest(weightsPath: string, isDir: boolean): Promise<string> {
  const hash = createHash('sha256');
  if (!isDir) {
    await hashFile(hash, weightsPath);
    return hash.digest('hex');
  }
  const entries = (await readdir(weightsPath, { withFileTypes: true })).filter((e) => e.isFile()).map((e) => e.name).sort();
  for (const name of entries) {
    hash.update(`${name}\0`);
    await hashFile(hash, join(weightsPath, name));
    hash.update('\0');
  }
  return hash.digest('hex');
}

async function graphDigest(weightsPath: string, isDir: boolean, spec: unknown): Promise<string> {
  return createHash('sha256')
    .update(JSON.stringify({ exporter: ONNX_EXPORTER_VERSION, weights: await weightsDigest(weightsPath, isDir), spec }))
    .digest('hex');
}

/**
 * What identifies an exported float graph (64 hex digits): its weights' bytes, `spec` and the exporter version.
 * Not the ONNX bytes themselves: they name tensors by TensorFlow.js tensor ids, a process-wide counter, so
 * two exports of the same model in one process differ.
 */
export async function onnxGraphDigest(weightsPath: string, spec: unknown): Promise<string> {
  const info = await stat(weightsPath).catch((error: Error) => {
    throw new NasnetError('IO_ERROR', `onnxGraphDigest: cannot read weights ${weightsPath}: ${error.message}`, { path: weightsPath });
  });
  return graphDigest(weightsPath, info.isDirectory(), spec);
}

/** The cache file for `weightsPath` and `options` (the weights are hashed; the file may not exist). */
export async function onnxCachePath(weightsPath: string, options: Pick<OnnxCacheOptions, 'graph' | 'spec'>): Promise<string> {
  if (!/^[A-Za-z0-9_]+$/.test(options.graph)) {
    throw new NasnetError('INVALID_ARGUMENT', `onnxCachePath: graph must match [A-Za-z0-9_]+; received ${JSON.stringify(options.graph)}`);
  }
  const info = await stat(weightsPath).catch((error: Error) => {
    throw new NasnetError('IO_ERROR', `onnxCachePath: cannot read weights ${weightsPath}: ${error.message}`, { path: weightsPath });
  });
  const isDir = info.isDirectory();
  const key = (await graphDigest(weightsPath, isDir, options.spec)).slice(0, 16);
  const dir = isDir ? join(weightsPath, CACHE_DIR_NAME) : join(dirname(weightsPath), CACHE_DIR_NAME);
  return join(dir, `${isDir ? '' : `${basename(weightsPath)}.`}${options.graph}-${key}.onnx`);
}

/** Writes `bytes` to `path` atomically, then removes the graph's other entries; throws when unwritable. */
async function writeEntry(path: string, bytes: Uint8Array): Promise<void> {
  const dir = dirname(path);
  await mkdir(dir, { recursive: true });
  await writeFileAtomic(path, bytes);
  const name = basename(path);
  const prefix = name.slice(0, name.lastIndexOf('-') + 1);
  for (const entry of await readdir(dir)) {
    if (entry !== name && entry.startsWith(prefix) && /-[0-9a-f]{16}\.onnx$/.test(entry)) await rm(join(dir, entry), { force: true });
  }
}

/**
 * The value `open` makes of the cached ONNX bytes for these weights, exporting with `build` on a miss.
 * `open` (e.g. OnnxSession.create) is the validity check: if it rejects cached bytes, they are rebuilt and
 * rewritten; if it rejects freshly built bytes, that error propagates. Cache I/O never fails the load.
 */
export async function cachedOnnx<T>(
  weightsPath: string,
  options: OnnxCacheOptions,
  build: () => Uint8Array | Promise<Uint8Array>,
  open: (bytes: Uint8Array) => Promise<T>,
): Promise<CachedOnnx<T>> {
  const logger = options.logger ?? silentLogger;
  const path = await onnxCachePath(weightsPath, options);
  const cached = await readFile(path).catch(() => undefined);
  if (cached !== undefined) {
    try {
      return { value: await open(new Uint8Array(cached.buffer, cached.byteOffset, cached.byteLength)), source: 'cache', path };
    } catch (error) {
      logger.warn({ path, err: (error as Error).message }, 'onnx cache: the cached entry did not open, exporting again');
    }
  }
  const bytes = await build();
  try {
    await writeEntry(path, bytes);
  } catch (error) {
    logger.info({ path, err: (error as Error).message }, 'onnx cache: location not writable, exported in memory');
    return { value: await open(bytes), source: 'memory' };
  }
  return { value: await open(bytes), source: 'written', path };
}
