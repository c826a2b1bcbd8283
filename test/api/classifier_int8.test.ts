// The int8 engine: the quantization arithmetic by hand, and the embedded default classifier quantized on
// synthetic images staying within its stated accuracy loss (BENCHMARKS.md, "int8"): on held-out synthetic
// images, top-1 accuracy at most 2 points under float32 and top-1 agreement with float32 >= 97%.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadClassifier } from '../../src/api/classifier.js';
import { defaultClassifierPath } from '../../src/api/defaults.js';
import { listCalibrationImages } from '../../src/api/int8.js';
import { activationParams, quantizeWeights } from '../../src/onnx/quantize.js';
import { initEngine } from '../../core/engine.js';
import { NasnetError } from '../../core/errors.js';
import { generateSyntheticClasses, SYNTHETIC_CLASS_NAMES } from '../../data/synthetic_classes.js';

let dir: string;

before(async () => {
  await initEngine({ backend: 'wasm' });
  dir = mkdtempSync(join(tmpdir(), 'classifier-int8-'));
  await generateSyntheticClasses({ outDir: dir, trainPerClass: 20, valPerClass: 20, seed: 5151, size: 32 });
});

after(() => rmSync(dir, { recursive: true, force: true }));

test('quantizeWeights: symmetric per output channel, max |w| maps to 127, an all-zero channel gets scale 1', () => {
  const { values, scales } = quantizeWeights(Float32Array.from([0.5, -1, 0.25, 0, 0, 0]), 3);
  assert.deepEqual([...scales], [Math.fround(1 / 127), Math.fround(0.25 / 127), 1]);
  assert.deepEqual([...values], [64, -127, 127, 0, 0, 0]); // 0.5 * 127 = 63.5 rounds up
});

test('activationParams: uint8 affine, the range widened to hold 0 exactly', () => {
  assert.deepEqual(activationParams({ min: -1, max: 3 }), { scale: Math.fround(4 / 255), zeroPoint: 64 }); // 1 / (4/255) = 63.75
  assert.deepEqual(activationParams({ min: 0.5, max: 2 }), { scale: Math.fround(2 / 255), zeroPoint: 0 });
  assert.deepEqual(activationParams({ min: -2, max: -0.5 }), { scale: Math.fround(2 / 255), zeroPoint: 255 });
  assert.deepEqual(activationParams({ min: 0, max: 0 }), { scale: 1, zeroPoint: 0 });
});

test('listCalibrationImages takes an even stride over the sorted files and refuses an empty directory', async () => {
  const all = await listCalibrationImages(join(dir, 'train'), 1000);
  assert.equal(all.length, 200);
  const some = await listCalibrationImages(join(dir, 'train'), 4);
  assert.deepEqual(some, [all[0], all[50], all[100], all[150]]);
  await assert.rejects(listCalibrationImages(join(dir, 'train', 'circle'), 0), (e: unknown) => e instanceof NasnetError && e.code === 'INVALID_ARGUMENT');
  const empty = mkdtempSync(join(tmpdir(), 'classifier-int8-empty-'));
  try {
    await assert.rejects(listCalibrationImages(empty), (e: unknown) => e instanceof NasnetError && e.code === 'INVALID_ARGUMENT' && /no image files/.test(e.message));
  } finally {
    rmSync(empty, { recursive: true, force: true });
  }
});

test('engine onnx-int8 without calibration images is INVALID_ARGUMENT naming calibrate', async () => {
  await assert.rejects(
    loadClassifier({ weights: defaultClassifierPath(), engine: 'onnx-int8' }),
    (e: unknown) => e instanceof NasnetError && e.code === 'INVALID_ARGUMENT' && /calibrate/.test(e.message),
  );
});

test('the default classifier in int8 stays within its stated loss on held-out synthetic images', async () => {
  const weights = defaultClassifierPath();
  const fp32 = await loadClassifier({ weights, engine: 'onnx', onnxCache: false });
  const int8 = await loadClassifier({ weights, engine: 'onnx-int8', calibrate: join(dir, 'train'), int8Cache: false });
  try {
    assert.equal(int8.info.engine, 'onnxruntime-node-int8');
    let n = 0;
    let right32 = 0;
    let right8 = 0;
    let agree = 0;
    let maxDiff = 0;
    for (const name of SYNTHETIC_CLASS_NAMES) {
      for (const file of readdirSync(join(dir, 'val', name))) {
        const bytes = new Uint8Array(readFileSync(join(dir, 'val', name, file)));
        const a = (await fp32.classify(bytes, { topK: 10 })).predictions;
        const b = (await int8.classify(bytes, { topK: 10 })).predictions;
        n += 1;
        right32 += Number(a[0]!.label === name);
        right8 += Number(b[0]!.label === name);
        agree += Number(a[0]!.classId === b[0]!.classId);
        for (const p of a) maxDiff = Math.max(maxDiff, Math.abs(p.score - b.find((q) => q.classId === p.classId)!.score));
      }
    }
    assert.equal(n, 200);
    assert.ok(right32 / n >= 0.9, `fp32 accuracy ${right32 / n}`);
    assert.ok(right8 / n >= right32 / n - 0.02, `int8 accuracy ${right8 / n} vs fp32 ${right32 / n}`);
    assert.ok(agree / n >= 0.97, `top-1 agreement ${agree / n}`);
    // quantized, not the float graph again: the probabilities move, but not far
    assert.ok(maxDiff > 1e-4 && maxDiff < 0.5, `max probability difference ${maxDiff}`);
  } finally {
    fp32.dispose();
    int8.dispose();
  }
});
