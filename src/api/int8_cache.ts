// The int8 cache: calibrating a quantized graph costs one pass of the float network over every calibration
// image, so the quantized bytes are kept and the next load (another service worker, the next start) reads them.
//
//   $NASNET_HOME/int8/<key>.onnx       the QDQ int8 graph
//   $NASNET_HOME/int8/<key>.onnx.lock  held while one loader calibrates (the others wait for the file)
//
// <key> is a SHA-256 over what the quantized bytes depend on: the float graph (onnxGraphDigest: its
// weights' bytes, its export spec and the exporter version; not its ONNX bytes, which name tensors by a
// process-wide TensorFlow.js id and so differ between two loads of the same model), the calibration files
// (their names relative to the calibration folder and their contents, in the sorted order they are fed),
// how many were asked for, the resize kernel that preprocesses them and INT8_QUANTIZER_VERSION. Contents,
// not mtimes: a re-copied folder with the same images still hits, a changed image misses.
// Writes are atomic (temp + rename). The lock lets N workers starting together calibrate once: it is
// created exclusively, its mtime refreshed while the holder works; a lock untouched for LOCK_STALE_MS (its
// holder died) is taken over. Like the ONNX cache, everything is best effort: an unwritable cache location
// calibrates in memory, a cached entry that does not open is calibrated again.
import { createHash } from 'node:crypto';
import { mkdir, open as openFile, readFile, rm, stat, utimes } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { writeFileAtomic } from '../../core/atomic_file.js';
import { silentLogger, type Logger } from '../../core/logger.js';
import { nasnetHome } from '../weights/cache.js';

/** Bump when src/onnx/quantize.ts changes its output for the same float graph and calibration. */
export const INT8_QUANTIZER_VERSION = 1;
export const INT8_CACHE_DIR_NAME = 'int8';
const LOCK_STALE_MS = 30_000;
const LOCK_HEARTBEAT_MS = 5_000;
const LOCK_POLL_MS = 200;

/** What the quantized bytes depend on. */
export interface Int8CacheInputs {
  /** Identifies the float graph (src/onnx/model_cache.ts onnxGraphDigest). */
  readonly floatGraph: string;
  /** The calibration folder; file names are hashed relative to it. */
  readonly root: string;
  /** The calibration images in the order they are fed (listCalibrationImages). */
  readonly files: readonly string[];
  /** The caller's limit (DEFAULT_CALIBRATION_IMAGES when unset). */
  readonly calibrationImages: number;
  /** The resize kernel of the preprocessing. */
  readonly kernel: string;
}

/** Where the int8 cache lives: `<NASNET_HOME>/int8`. */
export function int8CacheDir(env: Readonly<Record<string, string | undefined>> = process.env): string {
  return join(nasnetHome(env), INT8_CACHE_DIR_NAME);
}

/** The key (64 hex digits) of these inputs. */
export async function int8CacheKey(inputs: Int8CacheInputs): Promise<string> {
  const hash = createHash('sha256');
  const names = inputs.files.map((file) => relative(inputs.root, file));
  hash.update(JSON.stringify({ quantizer: INT8_QUANTIZER_VERSION, floatGraph: inputs.floatGraph, calibrationImages: inputs.calibrationImages, kernel: inputs.kernel, names }));
  for (const file of inputs.files) {
    hash.update('\0');
    hash.update(await readFile(file));
  }
  return hash.digest('hex');
}

/** Where an entry came from: read from the cache, calibrated and written, or calibrated in memory only. */
export type Int8Source = 'cache' | 'written' | 'memory';

export interface CachedInt8<T> {
  readonly value: T;
  readonly source: Int8Source;
  readonly path?: string;
}

/** Takes the lock file, or returns undefined when another loader holds a live one. Throws when unwritable. */
async function tryLock(lock: string): Promise<(() => Promise<void>) | undefined> {
  try {
    const handle = await openFile(lock, 'wx');
    await handle.writeFile(`${process.pid}\n`);
    await handle.close();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    const age = await stat(lock).then((s) => Date.now() - s.mtimeMs, () => 0);
    if (age > LOCK_STALE_MS) await rm(lock, { force: true }); // its holder died: the next poll takes it
    return undefined;
  }
  const heartbeat = setInterval(() => {
    const now = new Date();
    utimes(lock, now, now).catch(() => undefined);
  }, LOCK_HEARTBEAT_MS);
  heartbeat.unref();
  return async () => {
    clearInterval(heartbeat);
    await rm(lock, { force: true });
  };
}

/**
 * The value `open` makes of the int8 graph for `inputs`, calibrating with `quantize` on a miss (once among
 * concurrent loaders). `dir` is the cache folder (default int8CacheDir()); false calibrates at every call.
 */
export async function cachedInt8<T>(
  inputs: Int8CacheInputs,
  quantize: () => Promise<Uint8Array>,
  open: (bytes: Uint8Array) => Promise<T>,
  options: { readonly dir?: string | false; readonly logger?: Logger } = {},
): Promise<CachedInt8<T>> {
  const logger = options.logger ?? silentLogger;
  if (options.dir === false) return { value: await open(await quantize()), source: 'memory' };
  const dir = options.dir ?? int8CacheDir();
  const path = join(dir, `${await int8CacheKey(inputs)}.onnx`);
  const lock = `${path}.lock`;
  let brokenEntry = false;
  const fromCache = async (): Promise<T | undefined> => {
    const cached = await readFile(path).catch(() => undefined);
    if (cached === undefined || brokenEntry) return undefined;
    try {
      return await open(new Uint8Array(cached.buffer, cached.byteOffset, cached.byteLength));
    } catch (error) {
      brokenEntry = true;
      logger.warn({ path, err: (error as Error).message }, 'int8 cache: the cached entry did not open, calibrating again');
      return undefined;
    }
  };
  let unlock: (() => Promise<void>) | undefined;
  try {
    await mkdir(dir, { recursive: true });
    for (;;) {
      const value = await fromCache();
      if (value !== undefined) return { value, source: 'cache', path };
      unlock = await tryLock(lock);
      if (unlock !== undefined) break;
      await sleep(LOCK_POLL_MS);
    }
  } catch (error) {
    logger.info({ dir, err: (error as Error).message }, 'int8 cache: location not writable, calibrating in memory');
    return { value: await open(await quantize()), source: 'memory' };
  }
  try {
    // another loader may have written it between our last look and our lock
    const value = await fromCache();
    if (value !== undefined) return { value, source: 'cache', path };
    logger.info({ path, images: inputs.files.length }, 'int8 cache: calibrating');
    const bytes = await quantize();
    try {
      await writeFileAtomic(path, bytes);
    } catch (error) {
      logger.info({ path, err: (error as Error).message }, 'int8 cache: location not writable, calibrated in memory');
      return { value: await open(bytes), source: 'memory' };
    }
    return { value: await open(bytes), source: 'written', path };
  } finally {
    await unlock();
  }
}
