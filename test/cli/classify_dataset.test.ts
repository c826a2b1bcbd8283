// nasnet classify --dataset DIR: top-1 / top-5 accuracy on a labelled folder (class folders named by
// label here; by wnid for ImageNet val), checked against the classifier's own answers image by image.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initEngine } from '../../core/engine.js';
import { encodePng } from '../../core/image_io.js';
import { renderClassImage } from '../../data/synthetic_classes.js';
import { loadClassifier } from '../../src/api/classifier.js';
import { defaultClassifierPath } from '../../src/api/defaults.js';
import { main } from '../../src/cli/classify.js';
import { runCli } from '../helpers/cli.js';

const CLASSES = ['checker', 'grid', 'star'];
let dir: string;
const files: { path: string; label: string }[] = [];

before(async () => {
  await initEngine({ backend: 'wasm' });
  dir = mkdtempSync(join(tmpdir(), 'classify-dataset-'));
  for (const [c, name] of CLASSES.entries()) {
    mkdirSync(join(dir, 'set', name), { recursive: true });
    for (let i = 0; i < 3; i++) {
      const path = join(dir, 'set', name, `${i}.png`);
      writeFileSync(path, await encodePng(renderClassImage(name, 1000 + 10 * c + i, 96)));
      files.push({ path, label: name });
    }
  }
  mkdirSync(join(dir, 'unknown', 'not-a-class'), { recursive: true });
  writeFileSync(join(dir, 'unknown', 'not-a-class', 'a.png'), readFileSync(files[0]!.path));
});

after(() => rmSync(dir, { recursive: true, force: true }));

test('prints top-1 / top-5 accuracy equal to counting the classifier answers one by one', async () => {
  const classifier = await loadClassifier({ weights: defaultClassifierPath() });
  let top1 = 0;
  let top5 = 0;
  try {
    for (const { path, label } of files) {
      const { predictions } = await classifier.classify(new Uint8Array(readFileSync(path)), { topK: 5 });
      if (predictions[0]?.label === label) top1 += 1;
      if (predictions.some((p) => p.label === label)) top5 += 1;
    }
  } finally {
    classifier.dispose();
  }
  const result = await runCli(main, '--dataset', join(dir, 'set'));
  assert.equal(result.code, 0, result.stderr);
  const report = JSON.parse(result.stdout) as Record<string, unknown>;
  assert.deepEqual(report, { dataset: join(dir, 'set'), model: 'nasnet-1@384', images: 9, top1: top1 / 9, top5: top5 / 9, failed: 0 });
  assert.ok(top1 >= 6, `the demo model knows its own classes (top-1 ${top1}/9)`);
  const limited = JSON.parse((await runCli(main, '--dataset', join(dir, 'set'), '--limit', '3')).stdout) as { images: number };
  assert.equal(limited.images, 3);
});

test('a class folder that names no class of the model, or IMAGE with --dataset, is an error', async () => {
  const unknown = await runCli(main, '--dataset', join(dir, 'unknown'));
  assert.equal(unknown.code, 4);
  assert.match(unknown.stderr, /1 folder\(s\) match no class of .* by wnid or label: not-a-class/);
  const both = await runCli(main, files[0]!.path, '--dataset', join(dir, 'set'));
  assert.equal(both.code, 2);
});
