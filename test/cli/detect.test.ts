// nasnet detect: image mode (JSON per image, per-image errors), dataset mode (a COCO results file that
// coco-eval reads), and command-line errors.
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-layers';
import { main } from '../../src/cli/detect.js';
import { main as cocoEval } from '../../src/cli/coco_eval.js';
import { DEFAULT_MIN_SCORE } from '../../src/api/detector.js';
import { DETECT_QUERY } from '../../src/server/schemas.js';
import { saveCheckpoint } from '../../core/checkpoint.js';
import { initEngine } from '../../core/engine.js';
import { generateShapesDataset, shapesConfigForSize } from '../../data/shapes.js';
import { FasterRcnn } from '../../detection/faster_rcnn.js';
import { tempDir } from '../data/temp.js';
import { runCli } from '../helpers/cli.js';
import { TINY_DETECTOR } from '../detection/tiny_detector.js';

const root = tempDir('cli-detect');
const weights = join(root, 'detector');

before(async () => {
  await initEngine({ backend: 'wasm' });
  await generateShapesDataset({ outDir: join(root, 'data'), train: 0, val: 3, seed: 9, config: shapesConfigForSize(64, { maxObjects: 2, minObjectSize: 16, maxObjectSize: 40 }) });
  const model = new FasterRcnn({ ...TINY_DETECTOR, postprocess: { scoreThreshold: 0 } });
  await saveCheckpoint(weights, { config: { model: model.config, task: 'detection' }, weights: new Map(model.variables().map((v) => [v.name, v.variable as tf.Tensor])) });
  model.dispose();
});

describe('nasnet detect', () => {
  test('--dataset writes COCO results with the GT image ids, which coco-eval reads', async () => {
    const gt = join(root, 'data', 'annotations', 'instances_val.json');
    const out = join(root, 'results.json');
    const r = await runCli(main, '--dataset', gt, '--images', join(root, 'data', 'val'), '--out', out, '--weights', weights, '--engine', 'tfjs', '--max-detections', '4');
    assert.equal(r.code, 0, r.stderr);
    const results = JSON.parse(readFileSync(out, 'utf8')) as { image_id: number; category_id: number; bbox: number[]; score: number }[];
    const perImage = new Map<number, number>();
    for (const d of results) perImage.set(d.image_id, (perImage.get(d.image_id) ?? 0) + 1);
    assert.deepEqual([...perImage.keys()].sort(), [1, 2, 3]);
    assert.ok([...perImage.values()].every((n) => n <= 4));
    assert.ok(results.every((d) => [1, 2].includes(d.category_id) && d.bbox.length === 4 && d.score >= 0.001));
    const e = await runCli(cocoEval, gt, out);
    assert.equal(e.code, 0, e.stderr);
    assert.match(e.stdout, /Average Precision {2}\(AP\) @\[ IoU=0\.50:0\.95/);
  });

  test('image mode: one entry per image; an unreadable image gets an error entry and exit code 3', async () => {
    const image = join(root, 'data', 'val', '000001.png');
    const r = await runCli(main, image, join(root, 'missing.png'), '--weights', weights, '--engine', 'tfjs', '--min-score', '0');
    assert.equal(r.code, 3);
    const out = JSON.parse(r.stdout) as { image: string; detections?: { bbox: number[]; label: string }[]; error?: { code: string } }[];
    assert.equal(out.length, 2);
    assert.ok(out[0]!.detections!.length > 0);
    assert.ok(out[0]!.detections!.every((d) => d.bbox.length === 4 && ['circle', 'square'].includes(d.label)));
    assert.equal(out[1]!.error!.code, 'IO_ERROR');
  });

  test("image mode's default min score is the service's (one default)", async () => {
    assert.equal(DEFAULT_MIN_SCORE, DETECT_QUERY.properties.minScore.default);
    type Out = { detections: { score: number }[] }[];
    const image = join(root, 'data', 'val', '000002.png');
    const every = await runCli(main, image, '--weights', weights, '--engine', 'tfjs', '--min-score', '0');
    const byDefault = await runCli(main, image, '--weights', weights, '--engine', 'tfjs');
    assert.equal(byDefault.code, 0, byDefault.stderr);
    const all = (JSON.parse(every.stdout) as Out)[0]!.detections;
    assert.ok(all.some((d) => d.score >= 0.05 && d.score < DEFAULT_MIN_SCORE), 'no detection between the old and the new default');
    assert.deepEqual((JSON.parse(byDefault.stdout) as Out)[0]!.detections, all.filter((d) => d.score >= DEFAULT_MIN_SCORE));
  });

  test('command-line errors exit 2 and say what is wrong', async () => {
    const noImages = await runCli(main, '--dataset', 'gt.json', '--out', 'r.json');
    assert.equal(noImages.code, 2);
    assert.match(noImages.stderr, /--dataset needs --images DIR and --out FILE/);
    assert.equal((await runCli(main)).code, 2);
    const score = await runCli(main, 'a.png', '--min-score', 'high');
    assert.equal(score.code, 2);
    assert.match(score.stderr, /--min-score must be a number in \[0, 1\]; received "high"/);
  });
});
