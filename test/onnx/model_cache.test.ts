import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadClassifier } from '../../src/api/classifier.js';
import { defaultClassifierPath } from '../../src/api/defaults.js';
import { initEngine } from '../../core/engine.js';
import { NasnetError } from '../../core/errors.js';
import { packageRoot } from '../../core/paths.js';
import { OnnxSession } from '../../src/onnx/index.js';
import { cachedOnnx, onnxCachePath, CACHE_DIR_NAME } from '../../src/onnx/model_cache.js';
import { denseOnnx } from './onnx_test_utils.js';

let root: string;
let dense: Uint8Array;

/** Opens bytes on onnxruntime and returns y for x = [3, 4] (then releases the session). */
async function openAndRun(bytes: Uint8Array): Promise<number> {
  const session = await OnnxSession.create(bytes, { threads: 1 });
  try {
    return (await session.run({ x: { data: Float32Array.from([3, 4]), dims: [1, 2] } })).y!.data[0] as number;
  } finally {
    await session.dispose();
  }
}

before(async () => {
  await initEngine({ backend: 'cpu' });
  root = mkdtempSync(join(tmpdir(), 'onnx-cache-'));
  dense = denseOnnx();
});

after(() => rmSync(root, { recursive: true, force: true }));

function weightsFile(name: string, content: string): string {
  const dir = mkdtempSync(join(root, 'w-'));
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

test('a miss exports once and writes <dir>/onnx-cache/<file>.<graph>-<key>.onnx; the next load reads it', async () => {
  const weights = weightsFile('model.h5', 'weights v1');
  let builds = 0;
  const build = () => { builds += 1; return dense; };
  const first = await cachedOnnx(weights, { graph: 'classifier', spec: { size: 32 } }, build, openAndRun);
  assert.equal(first.source, 'written');
  assert.equal(first.value, 11.5);
  assert.match(first.path!, new RegExp(`/${CACHE_DIR_NAME}/model\\.h5\\.classifier-[0-9a-f]{16}\\.onnx$`));
  assert.deepEqual(new Uint8Array(readFileSync(first.path!)), dense);
  const second = await cachedOnnx(weights, { graph: 'classifier', spec: { size: 32 } }, build, openAndRun);
  assert.deepEqual([second.source, second.value, second.path, builds], ['cache', 11.5, first.path, 1]);
  // a checkpoint directory keeps its cache inside itself
  const dir = mkdtempSync(join(root, 'ckpt-'));
  writeFileSync(join(dir, 'model.json'), '{}');
  assert.match(await onnxCachePath(dir, { graph: 'rpn', spec: 1 }), new RegExp(`^${dir}/${CACHE_DIR_NAME}/rpn-[0-9a-f]{16}\\.onnx$`));
  await assert.rejects(onnxCachePath(dir, { graph: 'a/b', spec: 1 }), (e: unknown) => e instanceof NasnetError && e.code === 'INVALID_ARGUMENT');
});

test('changed weights or spec give a new key; writing removes the graph\'s stale entry, not other graphs\'', async () => {
  const weights = weightsFile('model.h5', 'weights v1');
  const keyA = await onnxCachePath(weights, { graph: 'classifier', spec: { size: 32 } });
  assert.notEqual(await onnxCachePath(weights, { graph: 'classifier', spec: { size: 64 } }), keyA);
  await cachedOnnx(weights, { graph: 'classifier', spec: { size: 32 } }, () => dense, openAndRun);
  const other = await cachedOnnx(weights, { graph: 'head', spec: { size: 32 } }, () => dense, openAndRun);
  writeFileSync(weights, 'weights v2'); // same size, new content
  const keyB = await onnxCachePath(weights, { graph: 'classifier', spec: { size: 32 } });
  assert.notEqual(keyB, keyA);
  let builds = 0;
  const result = await cachedOnnx(weights, { graph: 'classifier', spec: { size: 32 } }, () => { builds += 1; return dense; }, openAndRun);
  assert.deepEqual([result.source, result.path, builds], ['written', keyB, 1]);
  assert.equal(existsSync(keyA), false);
  assert.equal(existsSync(other.path!), true);
});

test('a corrupt (truncated) entry is rebuilt and rewritten', async () => {
  const weights = weightsFile('model.h5', 'weights');
  const { path } = await cachedOnnx(weights, { graph: 'classifier', spec: 1 }, () => dense, openAndRun);
  writeFileSync(path!, dense.subarray(0, 40));
  let builds = 0;
  const result = await cachedOnnx(weights, { graph: 'classifier', spec: 1 }, () => { builds += 1; return dense; }, openAndRun);
  assert.deepEqual([result.source, result.value, builds], ['written', 11.5, 1]);
  assert.deepEqual(new Uint8Array(readFileSync(path!)), dense);
});

test('an unwritable cache location exports in memory with one info line, never an error', async () => {
  // a regular file where the cache directory should be: mkdir fails whoever runs the test
  const weights = weightsFile('model.h5', 'weights');
  writeFileSync(join(weights, '..', CACHE_DIR_NAME), 'not a directory');
  const lines: { level: number; msg: string }[] = [];
  const logger = { info: (o: object, msg: string) => lines.push({ level: 30, msg, ...o }), warn: () => assert.fail('no warning expected') };
  const result = await cachedOnnx(weights, { graph: 'classifier', spec: 1, logger: logger as never }, () => dense, openAndRun);
  assert.deepEqual([result.source, result.value, result.path], ['memory', 11.5, undefined]);
  assert.equal(lines.length, 1);
  assert.match(lines[0]!.msg, /not writable, exported in memory/);
});

test('a read-only weights directory (unprivileged user) exports in memory and writes nothing', () => {
  const dir = mkdtempSync(join(root, 'ro-'));
  const weights = join(dir, 'model.h5');
  writeFileSync(weights, 'weights');
  chmodSync(root, 0o755);
  chmodSync(dir, 0o555);
  try {
    const here = fileURLToPath(import.meta.url);
    const child = join(here, '..', `model_cache_child${extname(here)}`);
    const execArgv = process.execArgv.filter((a) => !a.startsWith('--test'));
    // root bypasses directory permissions: run the cache as "nobody" then, for whom the directory is read-only
    const asNobody = process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : {};
    const run = spawnSync(process.execPath, [...execArgv, child], {
      env: { ...process.env, NASNET_CACHE_CHILD_WEIGHTS: weights }, encoding: 'utf8', timeout: 30_000, cwd: packageRoot(), ...asNobody,
    });
    assert.equal(run.status, 0, run.stderr);
    const out = JSON.parse(run.stdout) as { source: string; value: number; path: string | null; builds: number; logs: { level: number; msg: string }[] };
    assert.deepEqual([out.source, out.value, out.path, out.builds], ['memory', 2, null, 1]);
    assert.equal(out.logs.length, 1);
    assert.equal(out.logs[0]!.level, 30);
    assert.match(out.logs[0]!.msg, /not writable/);
    assert.deepEqual(readdirSync(dir), ['model.h5']);
  } finally {
    chmodSync(dir, 0o755);
  }
});

test('loadClassifier (engine onnx) caches the export beside a checkpoint, reuses it, rebuilds a corrupt one', async () => {
  const weights = join(root, 'classifier');
  cpSync(defaultClassifierPath(), weights, { recursive: true });
  const image = readFileSync(join(packageRoot(), 'test', 'fixtures', 'image_io', 'photo_grace_hopper.jpg'));
  const classify = async (options: { onnxCache?: boolean } = {}) => {
    const classifier = await loadClassifier({ weights, engine: 'onnx', threads: 1, ...options });
    try {
      return (await classifier.classify(image, { topK: 10 })).predictions.map((p) => [p.classId, p.score]);
    } finally {
      classifier.dispose();
    }
  };
  const cacheDir = join(weights, CACHE_DIR_NAME);
  const first = await classify();
  const entries = readdirSync(cacheDir);
  assert.equal(entries.length, 1);
  assert.match(entries[0]!, /^classifier-[0-9a-f]{16}\.onnx$/);
  const entry = join(cacheDir, entries[0]!);
  const { mtimeMs, size } = statSync(entry);
  // the second load reads the file: unchanged (same mtime), same predictions
  assert.deepEqual(await classify(), first);
  assert.equal(statSync(entry).mtimeMs, mtimeMs);
  // a corrupt entry is replaced by a fresh export (its size within 1%: tfjs layer names carry a counter)
  writeFileSync(entry, 'garbage');
  assert.deepEqual(await classify(), first);
  assert.ok(Math.abs(statSync(entry).size - size) < size * 0.01, `${statSync(entry).size} vs ${size}`);
  // onnxCache: false neither reads nor writes the cache
  rmSync(cacheDir, { recursive: true });
  assert.deepEqual(await classify({ onnxCache: false }), first);
  assert.equal(existsSync(cacheDir), false);
  // probabilities: a distribution over the 10 classes
  assert.ok(Math.abs(first.reduce((s, [, p]) => s + (p as number), 0) - 1) < 1e-5);
});
