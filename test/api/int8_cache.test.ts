// The int8 cache: one calibration per (float graph, calibration images, count, kernel), reused by the next
// load, missed by any change to what the int8 bytes depend on; concurrent loaders calibrate once; a stale
// lock or a corrupt entry does not block a load; an unwritable location calibrates in memory.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { loadClassifier } from '../../src/api/classifier.js';
import { defaultClassifierPath } from '../../src/api/defaults.js';
import { cachedInt8, int8CacheKey, type Int8CacheInputs } from '../../src/api/int8_cache.js';
import { initEngine } from '../../core/engine.js';
import { generateSyntheticClasses } from '../../data/synthetic_classes.js';

let root: string;

before(async () => {
  await initEngine({ backend: 'wasm' });
  root = mkdtempSync(join(tmpdir(), 'int8-cache-'));
});

after(() => rmSync(root, { recursive: true, force: true }));

/** A calibration folder of `n` small files (the key reads their bytes; they need not be images here). */
function calibrationFolder(name: string, n: number): { dir: string; files: string[] } {
  const dir = join(root, name);
  const files = Array.from({ length: n }, (_, i) => join(dir, `img${i}.png`));
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  files.forEach((file, i) => writeFileSync(file, `image ${i}`));
  return { dir, files };
}

/** A quantizer that counts its calls and answers distinct bytes each time. */
function countingQuantizer(delayMs = 0): { quantize: () => Promise<Uint8Array>; calls: () => number } {
  let calls = 0;
  return {
    quantize: async () => {
      calls += 1;
      if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs));
      return Uint8Array.from([0x08, calls]);
    },
    calls: () => calls,
  };
}

const identity = async (bytes: Uint8Array): Promise<Uint8Array> => Uint8Array.from(bytes);

test('a second load with the same inputs reads the cache; each input of the key, changed alone, calibrates again', async () => {
  const cache = join(root, 'cache-a');
  const { dir, files } = calibrationFolder('calib-a', 3);
  const base: Int8CacheInputs = { floatGraph: 'a'.repeat(64), root: dir, files, calibrationImages: 300, kernel: 'pil-nearest' };
  const q = countingQuantizer();
  const first = await cachedInt8(base, q.quantize, identity, { dir: cache });
  assert.equal(first.source, 'written');
  assert.equal(first.path, join(cache, `${await int8CacheKey(base)}.onnx`));
  assert.deepEqual([...readFileSync(first.path!)], [0x08, 1]);
  assert.deepEqual(readdirSync(cache), [`${await int8CacheKey(base)}.onnx`]); // no temp file, no lock left
  const second = await cachedInt8(base, q.quantize, identity, { dir: cache });
  assert.equal(second.source, 'cache');
  assert.deepEqual([...second.value], [0x08, 1]);
  assert.equal(q.calls(), 1);

  const variants: [string, Int8CacheInputs][] = [
    ['float graph', { ...base, floatGraph: 'b'.repeat(64) }],
    ['kernel', { ...base, kernel: 'linear' }],
    ['calibration count', { ...base, calibrationImages: 299 }],
    ['one file fewer', { ...base, files: files.slice(0, 2) }],
  ];
  for (const [what, inputs] of variants) {
    const before = q.calls();
    assert.equal((await cachedInt8(inputs, q.quantize, identity, { dir: cache })).source, 'written', what);
    assert.equal(q.calls(), before + 1, what);
  }
  // the same names and sizes, one image's pixels changed: the contents are in the key
  writeFileSync(files[1]!, 'image X');
  const before = q.calls();
  assert.equal((await cachedInt8(base, q.quantize, identity, { dir: cache })).source, 'written');
  assert.equal(q.calls(), before + 1);
  assert.equal((await cachedInt8(base, q.quantize, identity, { dir: cache })).source, 'cache');
  assert.equal(q.calls(), before + 1);
});

test('concurrent loaders (service workers starting together) calibrate once', async () => {
  const cache = join(root, 'cache-b');
  const { dir, files } = calibrationFolder('calib-b', 2);
  const inputs: Int8CacheInputs = { floatGraph: '9'.repeat(64), root: dir, files, calibrationImages: 2, kernel: 'linear' };
  const q = countingQuantizer(300);
  const results = await Promise.all([0, 1, 2].map(() => cachedInt8(inputs, q.quantize, identity, { dir: cache })));
  assert.equal(q.calls(), 1);
  assert.deepEqual(results.map((r) => r.source).sort(), ['cache', 'cache', 'written']);
  for (const r of results) assert.deepEqual([...r.value], [0x08, 1]);
  assert.equal(readdirSync(cache).length, 1); // the lock is gone
});

test('a stale lock (its holder died) is taken over; a live one is waited for', async () => {
  const cache = join(root, 'cache-c');
  const { dir, files } = calibrationFolder('calib-c', 1);
  const inputs: Int8CacheInputs = { floatGraph: '7'.repeat(64), root: dir, files, calibrationImages: 1, kernel: 'linear' };
  mkdirSync(cache, { recursive: true });
  const lock = join(cache, `${await int8CacheKey(inputs)}.onnx.lock`);
  writeFileSync(lock, '12345\n');
  const old = new Date(Date.now() - 60_000);
  utimesSync(lock, old, old);
  const q = countingQuantizer();
  const result = await cachedInt8(inputs, q.quantize, identity, { dir: cache });
  assert.equal(result.source, 'written');
  assert.equal(q.calls(), 1);
  assert.deepEqual(readdirSync(cache), [`${await int8CacheKey(inputs)}.onnx`]);
});

test('a cached entry that does not open is calibrated again; false and an unwritable location calibrate in memory', async () => {
  const cache = join(root, 'cache-d');
  const { dir, files } = calibrationFolder('calib-d', 1);
  const inputs: Int8CacheInputs = { floatGraph: '5'.repeat(64), root: dir, files, calibrationImages: 1, kernel: 'linear' };
  const q = countingQuantizer();
  await cachedInt8(inputs, q.quantize, identity, { dir: cache });
  const path = join(cache, `${await int8CacheKey(inputs)}.onnx`);
  writeFileSync(path, 'truncated');
  const strict = async (bytes: Uint8Array): Promise<Uint8Array> => {
    if (bytes[0] !== 0x08) throw new Error('not an ONNX model');
    return bytes;
  };
  const rebuilt = await cachedInt8(inputs, q.quantize, strict, { dir: cache });
  assert.equal(rebuilt.source, 'written');
  assert.equal(q.calls(), 2);
  assert.deepEqual([...readFileSync(path)], [0x08, 2]);

  assert.equal((await cachedInt8(inputs, q.quantize, identity, { dir: false })).source, 'memory');
  assert.equal(q.calls(), 3);
  const file = join(root, 'a-file');
  writeFileSync(file, '');
  const unwritable = await cachedInt8(inputs, q.quantize, identity, { dir: join(file, 'int8') });
  assert.equal(unwritable.source, 'memory');
  assert.equal(q.calls(), 4);
});

test('loadClassifier onnx-int8: the second load reads the cached int8 graph and answers the same; other images calibrate again', async () => {
  const images = join(root, 'synthetic');
  await generateSyntheticClasses({ outDir: images, trainPerClass: 1, valPerClass: 0, seed: 7, size: 32 });
  const cache = join(root, 'cache-e');
  const messages: string[] = [];
  const logger = pino({ level: 'info' }, new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n').filter(Boolean)) messages.push((JSON.parse(line) as { msg: string }).msg);
      done();
    },
  }));
  const options = { weights: defaultClassifierPath(), engine: 'onnx-int8' as const, calibrate: join(images, 'train'), calibrationImages: 4, int8Cache: cache, logger, onnxCache: false };
  const probe = new Uint8Array(readFileSync(join(images, 'train', 'circle', readdirSync(join(images, 'train', 'circle'))[0]!)));
  const calibrations = (): number => messages.filter((m) => m === 'int8 cache: calibrating').length;

  const first = await loadClassifier(options);
  const a = await first.classify(probe, { topK: 3 });
  first.dispose();
  assert.equal(calibrations(), 1);
  assert.equal(first.info.calibrationImages, 4);
  const entries = readdirSync(cache);
  assert.equal(entries.length, 1);

  const second = await loadClassifier(options);
  const b = await second.classify(probe, { topK: 3 });
  second.dispose();
  assert.equal(calibrations(), 1, 'the second load did not calibrate');
  assert.equal(second.info.engine, 'onnxruntime-node-int8');
  assert.deepEqual(b.predictions, a.predictions);
  assert.deepEqual(readdirSync(cache), entries);

  const third = await loadClassifier({ ...options, calibrationImages: 3 });
  third.dispose();
  assert.equal(calibrations(), 2);
  assert.equal(readdirSync(cache).length, 2);
});
