// The classifier shipped in models/default/classifier (what `npm start` serves for /classify), scored on
// images it never saw: the synthetic generator with a seed other than the training seed (0).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadClassifier } from '../../src/api/classifier.js';
import { defaultClassifierPath } from '../../src/api/defaults.js';
import { initEngine } from '../../core/engine.js';
import { generateSyntheticClasses, SYNTHETIC_CLASS_NAMES } from '../../data/synthetic_classes.js';

let dir: string;

before(async () => {
  await initEngine({ backend: 'wasm' });
  dir = mkdtempSync(join(tmpdir(), 'default-classifier-'));
  await generateSyntheticClasses({ outDir: dir, trainPerClass: 0, valPerClass: 5, seed: 4242, size: 32 });
});

after(() => rmSync(dir, { recursive: true, force: true }));

test('the shipped classifier labels held-out synthetic images with >= 90% top-1 accuracy', async () => {
  const classifier = await loadClassifier({ weights: defaultClassifierPath() });
  try {
    assert.equal(classifier.info.numClasses, 10);
    let correct = 0;
    let total = 0;
    for (const name of SYNTHETIC_CLASS_NAMES) {
      for (const file of readdirSync(join(dir, 'val', name))) {
        const { predictions } = await classifier.classify(readFileSync(join(dir, 'val', name, file)), { topK: 5 });
        assert.equal(predictions.length, 5);
        assert.ok(predictions[0]!.score >= predictions[4]!.score);
        if (predictions[0]!.label === name) correct += 1;
        total += 1;
      }
    }
    assert.equal(total, 50);
    assert.ok(correct / total >= 0.9, `top-1 accuracy ${correct}/${total}`);
  } finally {
    classifier.dispose();
  }
});
