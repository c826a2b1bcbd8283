// The paper's point, end to end at toy scale: a real search on digits (2 children of 1 cell @ F = 4, 1 epoch on
// 80 images, rewarded on 20 held out of the 100 training images, on a worker thread) -> status -> export -> `nasnet train --task classification --genotype` ->
// loadClassifier (what `nasnet serve` loads) -> classify. Also: `report --plot` writes a PNG.
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initEngine } from '../../core/engine.js';
import { writeDigitsFolder } from '../../data/digits.js';
import { main as searchMain } from '../../src/cli/search.js';
import { main as trainMain } from '../../src/cli/train.js';
import { loadClassifier } from '../../src/api/classifier.js';
import { runCli } from '../helpers/cli.js';
import { copyFolderSubset } from '../../data/folder_subset.js';

let root = '';
let data = '';

/** A few hundred 8x8 digits at most: `per` images a class from each split of the full folder. */
before(async () => {
  await initEngine({ backend: 'wasm' });
  root = await mkdtemp(join(tmpdir(), 'search-e2e-'));
  await writeDigitsFolder(join(root, 'digits'));
  data = join(root, 'tiny');
  await copyFolderSubset(join(root, 'digits'), data, { train: 10, val: 5 });
});

test('search (tiny, real children) -> status -> export -> train --genotype -> loadClassifier -> classify', { timeout: 900_000 }, async (t) => {
  t.after(() => rm(root, { recursive: true, force: true }));
  const run = join(root, 'run');
  const searched = await runCli(searchMain, '--data', data, '--out', run, '--strategy', 'ppo', '--trials', '2', '--batch', '2', '--workers', '1', '--epochs', '1', '--cells', '1', '--filters', '4', '--image-size', '8', '--child-lr', '0.02', '--seed', '3', '--holdout', '20', '--backend', 'wasm');
  assert.equal(searched.code, 0, searched.stderr);
  const { proxy } = JSON.parse(await readFile(join(run, 'search.json'), 'utf8')) as { proxy: { imageSize: number; learningRate: number } };
  assert.deepEqual([proxy.imageSize, proxy.learningRate], [8, 0.02]);
  // The reward is top-1 on 20 held-out training images: a multiple of 1/20.
  for (const name of await readdir(join(run, 'results'))) {
    const reward = (JSON.parse(await readFile(join(run, 'results', name), 'utf8')) as { reward: number | null }).reward;
    if (reward !== null) assert.ok(Math.abs(reward * 20 - Math.round(reward * 20)) < 1e-9, `reward ${reward}`);
  }
  assert.match(searched.stderr, /batch 1\/1 {2}mean \d\.\d{4} {2}baseline \d\.\d{4} {2}entropy \d+\.\d{2} {2}best \d\.\d{4} \(t0000[01]\) {2}done \d failed \d running 0/);

  const status = await runCli(searchMain, 'status', run, '--json');
  const parsed = JSON.parse(status.stdout) as { done: number; failed: number; running: number; best: { trial: string; reward: number } };
  assert.equal(parsed.done + parsed.failed, 2);
  assert.equal(parsed.running, 0);
  assert.ok(parsed.best.reward >= 0 && parsed.best.reward <= 1);

  const best = join(root, 'best.json');
  assert.equal((await runCli(searchMain, 'export', run, '--top', '2', '--out', best)).code, 0);
  const exported = JSON.parse(await readFile(best, 'utf8')) as { cells: { trial: string; seed: number; reward: number }[] };
  assert.equal(exported.cells[0]!.trial, parsed.best.trial);
  assert.equal(typeof exported.cells[0]!.seed, 'number');

  const plot = join(root, 'reward.png');
  const report = await runCli(searchMain, 'report', run, '--plot', plot);
  assert.equal(report.code, 0, report.stderr);
  assert.match(report.stdout, /\| ppo \| \d \| \d \|/);
  assert.deepEqual([...(await readFile(plot)).subarray(1, 4)], [...Buffer.from('PNG')]);

  const model = join(root, 'model');
  const trained = await runCli(trainMain, '--task', 'classification', '--data', data, '--out', model, '--genotype', best, '--epochs', '1', '--num-cells', '1', '--penultimate-filters', '96', '--stem-filters', '12', '--no-aux-head', '--backend', 'wasm');
  assert.equal(trained.code, 0, trained.stderr);
  const classifier = await loadClassifier({ weights: model, engine: 'tfjs' });
  try {
    const image = await readFile(join(data, 'val', '3', (await readdir(join(data, 'val', '3')))[0]!));
    const { predictions } = await classifier.classify(image, { topK: 3 });
    assert.equal(predictions.length, 3);
    assert.ok(predictions.every((p) => /^\d$/.test(p.label)));
  } finally {
    await classifier.dispose();
  }
  const artifact = JSON.parse(await readFile(join(model, 'model.json'), 'utf8')) as { config: { backbone: { genotype: { name: string } } } };
  assert.equal(artifact.config.backbone.genotype.name, `ppo-${parsed.best.trial}`);
});
