// nasnet train --task detection: a one-step run on a tiny config writes a checkpoint that a rerun resumes
// (nothing left to do) and that loadDetector reads; --workers trains data-parallel; command-line errors exit 2.
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import '@tensorflow/tfjs-layers';
import { main } from '../../src/cli/train.js';
import { loadDetector } from '../../src/api/detector.js';
import { initEngine } from '../../core/engine.js';
import { generateShapesDataset, shapesConfigForSize } from '../../data/shapes.js';
import { tempDir } from '../data/temp.js';
import { runCli } from '../helpers/cli.js';
import { TINY_DETECTOR } from '../detection/tiny_detector.js';

const root = tempDir('cli-train');

before(async () => {
  await initEngine({ backend: 'wasm' });
  await generateShapesDataset({ outDir: join(root, 'data'), train: 2, val: 1, seed: 4, config: shapesConfigForSize(64, { maxObjects: 2, minObjectSize: 16, maxObjectSize: 40 }) });
  const { classNames: _names, categoryIds: _ids, numClasses: _k, ...config } = TINY_DETECTOR;
  writeFileSync(join(root, 'tiny.json'), JSON.stringify(config));
});

describe('nasnet train', () => {
  test('--task detection: trains, checkpoints, resumes, and the checkpoint loads as a detector', async () => {
    const out = join(root, 'ckpt');
    const argv = ['--task', 'detection', '--data', join(root, 'data'), '--out', out, '--config', join(root, 'tiny.json'), '--epochs', '1', '--batch-size', '2', '--precise-bn', '1', '--backend', 'wasm'];
    const first = await runCli(main, ...argv);
    assert.equal(first.code, 0, first.stderr);
    const summary = JSON.parse(first.stdout) as { epoch: number; globalStep: number; last: { validation: { AP: number; AP50: number } } };
    assert.equal(summary.globalStep, 1);
    assert.ok(summary.last.validation.AP50 >= 0 && summary.last.validation.AP50 <= 1);
    assert.match(first.stderr, /epoch 1\/1 done in .*loss_objectness .*AP50/);
    const again = await runCli(main, ...argv);
    assert.equal(again.code, 0, again.stderr);
    assert.equal((JSON.parse(again.stdout) as { globalStep: number }).globalStep, 1, 'the rerun resumes after the last step');
    const detector = await loadDetector({ weights: out, engine: 'tfjs' });
    assert.equal(detector.info.numClasses, 6); // the shapes categories, from the data
    detector.dispose();
  });

  test('--workers 2 trains data-parallel with a worker thread; a count that does not divide the batch exits 2', async () => {
    const argv = ['--task', 'detection', '--data', join(root, 'data'), '--config', join(root, 'tiny.json'), '--epochs', '1', '--batch-size', '2', '--precise-bn', '0', '--backend', 'wasm'];
    const run = await runCli(main, ...argv, '--out', join(root, 'ckpt-workers'), '--workers', '2');
    assert.equal(run.code, 0, run.stderr);
    const summary = JSON.parse(run.stdout) as { globalStep: number; last: { train: Record<string, number> } };
    assert.equal(summary.globalStep, 1);
    for (const value of Object.values(summary.last.train)) assert.ok(Number.isFinite(value));
    const bad = await runCli(main, ...argv, '--out', join(root, 'ckpt-bad'), '--workers', '3');
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /workers must be a positive integer that divides the batch size 2; received 3/);
  });

  test('--task classification hands the command line to the classification trainer', async () => {
    const help = await runCli(main, '--task', 'classification', '--help');
    assert.equal(help.code, 0);
    assert.match(help.stdout, /Usage: nasnet train --task classification/);
  });

  test('command-line errors exit 2 and name the flag', async () => {
    const missing = await runCli(main, '--task', 'detection', '--out', 'x');
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /--data is required/);
    const task = await runCli(main, '--task', 'segmentation', '--data', 'd', '--out', 'o');
    assert.equal(task.code, 2);
    assert.match(task.stderr, /--task must be detection or classification; received "segmentation"/);
    const lr = await runCli(main, '--data', 'd', '--out', 'o', '--lr', 'fast');
    assert.equal(lr.code, 2);
    assert.match(lr.stderr, /--lr must be a number >= 0; received "fast"/);
  });
});
