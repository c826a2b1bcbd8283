import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, rename, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { initEngine } from '../../core/engine.js';
import { NasnetError, type ErrorCode } from '../../core/errors.js';
import {
  CHECKPOINT_FORMAT, DEFAULT_SHARD_BYTES, loadCheckpoint, readCheckpointManifest, saveCheckpoint, type LoadedCheckpoint,
} from '../../core/checkpoint.js';
import { CHILD_WEIGHTS, CHILD_WEIGHT_SHAPE } from './checkpoint_kill_child.js';

let root: string;
let counter = 0;
const freshDir = (): string => join(root, `ckpt${counter++}`);

function isError(code: ErrorCode, ...patterns: RegExp[]) {
  return (e: unknown): boolean => {
    assert.ok(e instanceof NasnetError, `expected NasnetError ${code}, received ${String(e)}`);
    assert.equal(e.code, code, e.message);
    for (const p of patterns) assert.match(e.message, p);
    return true;
  };
}

function disposeAll(loaded: LoadedCheckpoint): void {
  for (const t of loaded.weights.values()) t.dispose();
}

/** A small checkpoint: float32 [2,3], int32 [3], bool [2], a scalar and an empty tensor. */
function smallWeights() {
  return [
    { name: 'conv/kernel:0', tensor: tf.tensor2d([[1, -2.5, 3], [4e-8, 5, 6]]) },
    { name: 'step', tensor: tf.tensor1d([7, -8, 2147483647], 'int32') },
    { name: 'mask', tensor: tf.tensor1d([true, false], 'bool') },
    { name: 'scalar', tensor: tf.scalar(0.25) },
    { name: 'empty', tensor: tf.zeros([0, 3]) },
  ];
}

before(async () => {
  await initEngine({ backend: 'cpu' });
  root = await mkdtemp(join(tmpdir(), 'nasnet-ckpt-'));
});

after(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('save and load', () => {
  test('round-trips float32, int32, bool, scalars and empty tensors with config and extra', async () => {
    const dir = freshDir();
    const weights = smallWeights();
    await saveCheckpoint(dir, { config: { backbone: 'mobile', cells: [4, 4], dropPath: null }, weights, extra: { step: 1200, epoch: 3 } });
    const loaded = await loadCheckpoint(dir);
    assert.deepEqual(loaded.config, { backbone: 'mobile', cells: [4, 4], dropPath: null });
    assert.deepEqual(loaded.extra, { step: 1200, epoch: 3 });
    assert.deepEqual([...loaded.weights.keys()], weights.map((w) => w.name));
    for (const { name, tensor } of weights) {
      const got = loaded.weights.get(name)!;
      assert.equal(got.dtype, tensor.dtype, name);
      assert.deepEqual(got.shape, tensor.shape, name);
      assert.deepEqual(Array.from(got.dataSync()), Array.from(tensor.dataSync()), name);
    }
    assert.equal(loaded.weights.get('conv/kernel:0')!.dataSync()[3], Math.fround(4e-8));
    disposeAll(loaded);
    weights.forEach((w) => w.tensor.dispose());
  });

  test('accepts a Map; extra is undefined when not saved', async () => {
    const dir = freshDir();
    const a = tf.tensor1d([1, 2]);
    await saveCheckpoint(dir, { config: 'plain string config', weights: new Map([['a', a]]) });
    const loaded = await loadCheckpoint(dir);
    assert.equal(loaded.config, 'plain string config');
    assert.equal(loaded.extra, undefined);
    assert.deepEqual(Array.from(loaded.weights.get('a')!.dataSync()), [1, 2]);
    disposeAll(loaded);
    a.dispose();
  });

  test('layout: tfjs manifest, little-endian bytes in order, shards split mid-weight', async () => {
    const dir = freshDir();
    // 10 floats (40 bytes) + 3 int32 (12 bytes) = 52 bytes in 16-byte shards: 16, 16, 16, 4.
    const f = tf.tensor1d([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    const i = tf.tensor1d([1, 256, -1], 'int32');
    await saveCheckpoint(dir, { config: {}, weights: [{ name: 'f', tensor: f }, { name: 'i', tensor: i }], shardBytes: 16 });
    const manifest = JSON.parse(await readFile(join(dir, 'model.json'), 'utf8'));
    assert.equal(manifest.format, CHECKPOINT_FORMAT);
    assert.equal(manifest.formatVersion, 1);
    const paths = ['group1-shard1of4.bin', 'group1-shard2of4.bin', 'group1-shard3of4.bin', 'group1-shard4of4.bin'];
    assert.deepEqual(manifest.weightsManifest, [{ paths, weights: [{ name: 'f', shape: [10], dtype: 'float32' }, { name: 'i', shape: [3], dtype: 'int32' }] }]);
    assert.deepEqual(manifest.shards.map((s: { byteLength: number }) => s.byteLength), [16, 16, 16, 4]);
    assert.deepEqual((await readdir(dir)).sort(), [...paths, 'model.json']);
    const bytes = Buffer.concat(await Promise.all(paths.map((p) => readFile(join(dir, p)))));
    assert.deepEqual([...bytes.subarray(0, 4)], [0x00, 0x00, 0x80, 0x3f]); // 1.0f little-endian
    assert.deepEqual([...bytes.subarray(40, 52)], [1, 0, 0, 0, 0, 1, 0, 0, 0xff, 0xff, 0xff, 0xff]); // 1, 256, -1
    const loaded = await loadCheckpoint(dir);
    assert.deepEqual(Array.from(loaded.weights.get('f')!.dataSync()), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    assert.deepEqual(Array.from(loaded.weights.get('i')!.dataSync()), [1, 256, -1]);
    disposeAll(loaded);
    f.dispose();
    i.dispose();
  });

  test('default shards are 4 MiB like tfjs', async () => {
    const dir = freshDir();
    const big = tf.ones([1_500_000]); // 6,000,000 bytes -> 4,194,304 + 1,805,696
    const manifest = await saveCheckpoint(dir, { config: {}, weights: [{ name: 'big', tensor: big }] });
    assert.equal(DEFAULT_SHARD_BYTES, 4_194_304);
    assert.deepEqual(manifest.shards?.map((s) => s.byteLength), [4_194_304, 1_805_696]);
    assert.deepEqual((await readCheckpointManifest(dir)).shards, manifest.shards);
    big.dispose();
  });

  test('no tensor leaks: save creates none, each load creates exactly one per weight', async () => {
    const dir = freshDir();
    const weights = smallWeights();
    const start = tf.memory().numTensors;
    for (let k = 0; k < 3; k++) {
      await saveCheckpoint(dir, { config: { k }, weights });
      assert.equal(tf.memory().numTensors, start);
      const loaded = await loadCheckpoint(dir);
      assert.equal(tf.memory().numTensors, start + weights.length);
      disposeAll(loaded);
    }
    assert.equal(tf.memory().numTensors, start);
    weights.forEach((w) => w.tensor.dispose());
  });

  test('saving again replaces the checkpoint and leaves no .old or temp directories', async () => {
    const dir = freshDir();
    const a = tf.tensor1d([1]);
    const b = tf.tensor1d([2, 3]);
    await saveCheckpoint(dir, { config: { v: 1 }, weights: [{ name: 'x', tensor: a }] });
    await saveCheckpoint(dir, { config: { v: 2 }, weights: [{ name: 'x', tensor: b }] });
    const loaded = await loadCheckpoint(dir);
    assert.deepEqual([loaded.config, Array.from(loaded.weights.get('x')!.dataSync())], [{ v: 2 }, [2, 3]]);
    assert.deepEqual((await readdir(root)).filter((e) => e.startsWith(`${dir.split('/').pop()}.`)), []);
    disposeAll(loaded);
    a.dispose();
    b.dispose();
  });
});

describe('strict loading', () => {
  let dir: string;
  before(async () => {
    dir = freshDir();
    const weights = [
      { name: 'stem_conv1/kernel:0', tensor: tf.zeros([3, 3, 3, 32]) },
      { name: 'stem_bn1/gamma:0', tensor: tf.ones([32]) },
      { name: 'old_head/bias:0', tensor: tf.zeros([10]) },
      { name: 'predictions/kernel:0', tensor: tf.zeros([1056, 10]) },
    ];
    await saveCheckpoint(dir, { config: {}, weights });
    weights.forEach((w) => w.tensor.dispose());
  });

  const expected = [
    { name: 'stem_conv1/kernel:0', shape: [3, 3, 3, 32] },
    { name: 'stem_bn1/gamma:0', shape: [32] },
    { name: 'stem_bn1/beta:0', shape: [32] },
    { name: 'predictions/kernel:0', shape: [1056, 1000] },
  ];

  test('reports missing, unexpected and shape-mismatched names in one WEIGHTS_MISMATCH, creating no tensor', async () => {
    const before = tf.memory().numTensors;
    await assert.rejects(loadCheckpoint(dir, { expected }), (e: unknown) => {
      isError('WEIGHTS_MISMATCH', /1 missing \(stem_bn1\/beta:0\)/, /1 unexpected \(old_head\/bias:0\)/,
        /1 shape mismatch \(predictions\/kernel:0: expected \[1056,1000\], received \[1056,10\]\)/)(e);
      assert.deepEqual((e as NasnetError).details, {
        dir,
        missing: ['stem_bn1/beta:0'],
        unexpected: ['old_head/bias:0'],
        mismatched: [{ name: 'predictions/kernel:0', expected: '[1056,1000]', received: '[1056,10]' }],
      });
      return true;
    });
    assert.equal(tf.memory().numTensors, before);
  });

  test('non-strict loads the intersection and reports the rest; a shape mismatch is still an error', async () => {
    const fixed = expected.map((w) => (w.name === 'predictions/kernel:0' ? { ...w, shape: [1056, 10] } : w));
    const loaded = await loadCheckpoint(dir, { expected: fixed, strict: false });
    assert.deepEqual([...loaded.weights.keys()].sort(), ['predictions/kernel:0', 'stem_bn1/gamma:0', 'stem_conv1/kernel:0']);
    assert.deepEqual([loaded.missing, loaded.unexpected], [['stem_bn1/beta:0'], ['old_head/bias:0']]);
    disposeAll(loaded);
    await assert.rejects(loadCheckpoint(dir, { expected, strict: false }), isError('WEIGHTS_MISMATCH', /predictions\/kernel:0/));
  });

  test('a dtype named in the expectation is checked', async () => {
    const exact = [
      { name: 'stem_conv1/kernel:0', shape: [3, 3, 3, 32], dtype: 'int32' as const },
      { name: 'stem_bn1/gamma:0', shape: [32] },
      { name: 'old_head/bias:0', shape: [10] },
      { name: 'predictions/kernel:0', shape: [1056, 10] },
    ];
    await assert.rejects(loadCheckpoint(dir, { expected: exact }), isError('WEIGHTS_MISMATCH', /expected \[3,3,3,32\] int32, received \[3,3,3,32\] float32/));
  });

  test('long lists are cut in the message and complete in details', async () => {
    const many = Array.from({ length: 25 }, (_, k) => ({ name: `extra_${k}`, shape: [1] }));
    await assert.rejects(loadCheckpoint(dir, { expected: many }), (e: unknown) => {
      isError('WEIGHTS_MISMATCH', /25 missing \(extra_0, .*extra_9, \.\.\. \(15 more\)\)/, /4 unexpected/)(e);
      assert.equal(((e as NasnetError).details!.missing as string[]).length, 25);
      return true;
    });
  });
});

describe('corrupt checkpoints and bad arguments', () => {
  async function saved(): Promise<string> {
    const dir = freshDir();
    const w = tf.range(0, 300);
    await saveCheckpoint(dir, { config: {}, weights: [{ name: 'w', tensor: w }], shardBytes: 512 });
    w.dispose();
    return dir;
  }

  test('a flipped byte, a truncated shard and a missing shard are CHECKPOINT_INVALID naming the shard', async () => {
    const before = tf.memory().numTensors;
    const flipped = await saved();
    const shard = join(flipped, 'group1-shard2of3.bin');
    const bytes = await readFile(shard);
    bytes[10] = bytes[10]! ^ 0x01;
    await writeFile(shard, bytes);
    await assert.rejects(loadCheckpoint(flipped), isError('CHECKPOINT_INVALID', /group1-shard2of3\.bin .* corrupt \(sha256 mismatch\)/));
    const cut = await saved();
    await truncate(join(cut, 'group1-shard3of3.bin'), 100);
    await assert.rejects(loadCheckpoint(cut), isError('CHECKPOINT_INVALID', /group1-shard3of3\.bin .* has 100 bytes, expected 176/));
    const gone = await saved();
    await rm(join(gone, 'group1-shard1of3.bin'));
    await assert.rejects(loadCheckpoint(gone), isError('CHECKPOINT_INVALID', /group1-shard1of3\.bin .* cannot be read/));
    assert.equal(tf.memory().numTensors, before);
  });

  test('without integrity records (a plain tfjs manifest) a size mismatch is still caught', async () => {
    const dir = await saved();
    const manifest = JSON.parse(await readFile(join(dir, 'model.json'), 'utf8'));
    delete manifest.shards;
    await writeFile(join(dir, 'model.json'), JSON.stringify(manifest));
    await truncate(join(dir, 'group1-shard3of3.bin'), 100);
    await assert.rejects(loadCheckpoint(dir), isError('CHECKPOINT_INVALID', /hold 1124 bytes; the manifest needs 1200/));
  });

  test('a bad model.json is CHECKPOINT_INVALID naming the field', async () => {
    const cases: Array<[(m: Record<string, unknown>) => unknown, RegExp]> = [
      [() => '{ not json', /not valid JSON/],
      [(m) => ({ ...m, format: 'tfjs-layers' }), /format must be "nasnet-ts-checkpoint"/],
      [(m) => ({ ...m, formatVersion: 2 }), /formatVersion 2 is not supported/],
      [(m) => ({ ...m, weightsManifest: [{ paths: ['../../etc/passwd'], weights: [] }] }), /weightsManifest\[0\]\.paths must be an array of file names/],
      [(m) => ({ ...m, weightsManifest: [{ paths: [], weights: [{ name: 'w', shape: [-1], dtype: 'float32' }] }] }), /weights\[0\]\.shape/],
      [(m) => ({ ...m, weightsManifest: [{ paths: [], weights: [{ name: 'w', shape: [1], dtype: 'complex64' }] }] }), /dtype must be one of float32, int32, bool/],
    ];
    for (const [edit, pattern] of cases) {
      const dir = await saved();
      const manifest = JSON.parse(await readFile(join(dir, 'model.json'), 'utf8'));
      const edited = edit(manifest);
      await writeFile(join(dir, 'model.json'), typeof edited === 'string' ? edited : JSON.stringify(edited));
      await assert.rejects(loadCheckpoint(dir), isError('CHECKPOINT_INVALID', /model\.json/, pattern));
    }
  });

  test('a directory without model.json is CHECKPOINT_INVALID; a path that does not exist is IO_ERROR', async () => {
    const empty = freshDir();
    await mkdir(empty);
    await assert.rejects(loadCheckpoint(empty), isError('CHECKPOINT_INVALID', /model\.json not found/));
    await assert.rejects(loadCheckpoint(join(root, 'does-not-exist')), isError('IO_ERROR', /no such file or directory/));
  });

  test('save rejects non-JSON config, duplicate names, disposed tensors and unsupported dtypes', async () => {
    const t = tf.tensor1d([1]);
    const dir = freshDir();
    const save = (options: Partial<Parameters<typeof saveCheckpoint>[1]>) =>
      saveCheckpoint(dir, { config: {}, weights: [{ name: 't', tensor: t }], ...options });
    await assert.rejects(save({ config: { lr: Number.NaN } }), isError('INVALID_ARGUMENT', /config\.lr must be JSON data; received NaN/));
    await assert.rejects(save({ extra: { seen: new Map() } }), isError('INVALID_ARGUMENT', /extra\.seen .*Map/));
    await assert.rejects(save({ config: { a: [1, undefined] } }), isError('INVALID_ARGUMENT', /config\.a\[1\]/));
    await assert.rejects(save({ weights: [{ name: 't', tensor: t }, { name: 't', tensor: t }] }), isError('INVALID_ARGUMENT', /"t" appears twice/));
    const gone = tf.tensor1d([1]);
    gone.dispose();
    await assert.rejects(save({ weights: [{ name: 'gone', tensor: gone }] }), isError('INVALID_ARGUMENT', /"gone" is not a live tensor/));
    const c = tf.complex([1], [2]);
    await assert.rejects(save({ weights: [{ name: 'c', tensor: c }] }), isError('INVALID_ARGUMENT', /complex64/));
    assert.equal(existsSync(dir), false);
    t.dispose();
    c.dispose();
  });

  test('refuses to replace a directory that is not a checkpoint', async () => {
    const dir = freshDir();
    await mkdir(dir);
    await writeFile(join(dir, 'notes.txt'), 'precious');
    const t = tf.tensor1d([1]);
    await assert.rejects(saveCheckpoint(dir, { config: {}, weights: [{ name: 't', tensor: t }] }), isError('INVALID_ARGUMENT', /refusing to replace/));
    assert.equal(await readFile(join(dir, 'notes.txt'), 'utf8'), 'precious');
    t.dispose();
  });
});

describe('crash safety', () => {
  const A = { config: { version: 'A' }, values: [1, 2, 3] };

  async function saveA(dir: string): Promise<void> {
    const t = tf.tensor1d(A.values);
    await saveCheckpoint(dir, { config: A.config, weights: [{ name: 'a', tensor: t }] });
    t.dispose();
  }

  async function assertIsA(dir: string): Promise<void> {
    const loaded = await loadCheckpoint(dir);
    assert.deepEqual(loaded.config, A.config);
    assert.deepEqual(Array.from(loaded.weights.get('a')!.dataSync()), A.values);
    disposeAll(loaded);
  }

  test('killed between the two renames: <dir>.old is loaded, and the next save restores and replaces it', async () => {
    const dir = freshDir();
    await saveA(dir);
    // The state a SIGKILL leaves after `rename(dir, dir.old)` and before `rename(tmp, dir)`.
    await rename(dir, `${dir}.old`);
    await assertIsA(dir);
    const b = tf.tensor1d([9]);
    await saveCheckpoint(dir, { config: { version: 'B' }, weights: [{ name: 'b', tensor: b }] });
    b.dispose();
    const loaded = await loadCheckpoint(dir);
    assert.deepEqual(loaded.config, { version: 'B' });
    disposeAll(loaded);
    assert.equal(existsSync(`${dir}.old`), false);
  });

  test('SIGKILL of a writer at several points leaves the previous checkpoint loadable', async () => {
    const here = fileURLToPath(import.meta.url);
    const child = join(here, '..', `checkpoint_kill_child${extname(here)}`);
    const execArgv = process.execArgv.filter((a) => !a.startsWith('--test'));
    type Progress = { shards: number; manifest: boolean };
    /** Files in the temp dir that writer `pid` saves `dir` through (undefined while it does not exist). */
    const progress = (dir: string, pid: number): Progress | undefined => {
      const tmp = readdirSync(root).find((e) => e.startsWith(`${basename(dir)}.tmp-${pid}-`));
      if (tmp === undefined) return undefined;
      try {
        const files = readdirSync(join(root, tmp));
        return { shards: files.filter((f) => f.endsWith('.bin')).length, manifest: files.includes('model.json') };
      } catch {
        return undefined; // renamed into place in between
      }
    };
    /** Starts a writer saving B over checkpoint A at `dir` and kills it once `reached`; then checks what loads. */
    const killDuring = async (label: string, reached: (p: Progress) => boolean, mustBeA: boolean): Promise<void> => {
      const dir = freshDir();
      await saveA(dir);
      const proc = spawn(process.execPath, [...execArgv, child], { env: { ...process.env, NASNET_CKPT_CHILD_DIR: dir }, stdio: 'ignore' });
      let exited = false;
      const exit = new Promise((r) => proc.on('exit', r)).then(() => { exited = true; });
      try {
        const deadline = Date.now() + 20_000;
        for (;;) {
          const p = progress(dir, proc.pid!);
          if (p !== undefined && reached(p)) break;
          assert.ok(!exited, `${label}: the writer finished before the kill point`);
          assert.ok(Date.now() < deadline, `${label}: kill point not reached`);
          await new Promise((r) => setImmediate(r));
        }
      } finally {
        proc.kill('SIGKILL');
        await exit;
      }
      const loaded = await loadCheckpoint(dir);
      const gotA = (loaded.config as { version: string }).version === 'A';
      assert.ok(gotA || !mustBeA, `${label}: expected the previous checkpoint`);
      if (gotA) {
        assert.deepEqual(loaded.config, A.config, label);
        assert.deepEqual(Array.from(loaded.weights.get('a')!.dataSync()), A.values, label);
        // Killed before the swap finished: its temp dir is left behind (the next save removes it).
        assert.ok(readdirSync(root).some((e) => e.startsWith(`${basename(dir)}.tmp-`)), `${label}: no temp dir left`);
      } else {
        // The kill landed after the swap: then the new checkpoint must be complete.
        assert.equal(loaded.weights.size, CHILD_WEIGHTS, label);
        assert.deepEqual(loaded.weights.get('w5')!.shape, [...CHILD_WEIGHT_SHAPE], label);
        assert.equal(loaded.weights.get('w5')!.dataSync()[12345], 5.5, label);
      }
      disposeAll(loaded);
      await saveA(dir);
      assert.deepEqual(readdirSync(root).filter((e) => e.startsWith(`${basename(dir)}.`)), [], label);
      await assertIsA(dir);
    };
    // Three writers in parallel (process start-up dominates): killed while shard 1 is written, while
    // shard 4 is written, and once all six shards are on disk.
    await Promise.all([
      killDuring('first shard', (p) => p.shards >= 1, true),
      killDuring('fourth shard', (p) => p.shards >= 4, true),
      killDuring('all shards', (p) => p.shards >= CHILD_WEIGHTS, false),
    ]);
  });
});
