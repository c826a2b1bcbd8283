// classifyBatch: one forward pass over several encoded images gives each image what classify gives it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadClassifier } from '../../src/api/classifier.js';
import { defaultClassifierPath } from '../../src/api/defaults.js';
import { initEngine } from '../../core/engine.js';
import { NasnetError } from '../../core/errors.js';
import { generateSyntheticClasses } from '../../data/synthetic_classes.js';

let dir: string;

before(async () => {
  await initEngine({ backend: 'wasm' });
  dir = mkdtempSync(join(tmpdir(), 'classify-batch-'));
  await generateSyntheticClasses({ outDir: dir, trainPerClass: 0, valPerClass: 1, seed: 77, size: 32 });
});

after(() => rmSync(dir, { recursive: true, force: true }));

test('classifyBatch equals classify image by image, in order, and refuses an empty batch', async () => {
  const classifier = await loadClassifier({ weights: defaultClassifierPath(), onnxCache: false });
  try {
    const images = ['star', 'ring', 'grid'].map((name) => new Uint8Array(readFileSync(join(dir, 'val', name, readdirSync(join(dir, 'val', name))[0]!))));
    const batch = await classifier.classifyBatch!(images, { topK: 3 });
    assert.equal(batch.length, 3);
    for (const [n, image] of images.entries()) {
      const one = await classifier.classify(image, { topK: 3 });
      assert.deepEqual(batch[n]!.image, one.image);
      assert.deepEqual(batch[n]!.predictions.map((p) => p.classId), one.predictions.map((p) => p.classId));
      for (const [k, p] of one.predictions.entries()) assert.ok(Math.abs(p.score - batch[n]!.predictions[k]!.score) <= 1e-6, `image ${n} rank ${k}`);
    }
    assert.deepEqual(batch.map((r) => r.predictions[0]!.label), ['star', 'ring', 'grid']);
    await assert.rejects(classifier.classifyBatch!([]), (e: unknown) => e instanceof NasnetError && e.code === 'INVALID_ARGUMENT');
  } finally {
    classifier.dispose();
  }
});
