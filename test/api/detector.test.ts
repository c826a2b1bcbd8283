// The detection API: checkpoint loading, the two engines, letterbox mapping, option checks, no leaks,
// and the shipped default's accuracy on a held-out slice of the synthetic shapes set.
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-layers';
import { letterboxWindow, loadDetector } from '../../src/api/detector.js';
import { defaultDetectorPath } from '../../src/api/defaults.js';
import { saveCheckpoint } from '../../core/checkpoint.js';
import { initEngine } from '../../core/engine.js';
import { NasnetError } from '../../core/errors.js';
import { encodePng } from '../../core/image_io.js';
import { renderShapesImage, resolveShapesConfig, shapesConfigForSize, shapesImageSeed, SHAPE_CATEGORIES } from '../../data/shapes.js';
import { evaluateCoco, type CocoAnnotation, type CocoResult } from 'pycocotools-js';
import { FasterRcnn } from '../../detection/faster_rcnn.js';
import { tempDir } from '../data/temp.js';
import { TINY_DETECTOR } from '../detection/tiny_detector.js';

const tinyDir = join(tempDir('detector-api'), 'tiny');

before(async () => {
  await initEngine({ backend: 'wasm' });
  const model = new FasterRcnn({ ...TINY_DETECTOR, postprocess: { scoreThreshold: 0 } });
  await saveCheckpoint(tinyDir, { config: { model: model.config, task: 'detection' }, weights: new Map(model.variables().map((v) => [v.name, v.variable as tf.Tensor])) });
  model.dispose();
});

const sceneBytes = async (width: number, height: number, seed: number): Promise<Uint8Array> =>
  encodePng(renderShapesImage(seed, resolveShapesConfig({ width, height, minObjectSize: 12, maxObjectSize: Math.min(width, height) })).image);

describe('loadDetector', () => {
  test('letterboxWindow: where the original lies in the input, normalised', () => {
    const meta = { width: 200, height: 100, inputWidth: 64, inputHeight: 64, scaleX: 0.32, scaleY: 0.32, padLeft: 0, padTop: 0 };
    assert.deepEqual(letterboxWindow(meta), [0, 0, 0.5, 1]);
  });

  test('onnx and tfjs engines agree; boxes are in original pixels inside the image; repeated calls leak no tensors', async () => {
    const image = await sceneBytes(120, 60, 4);
    const onnx = await loadDetector({ weights: tinyDir, engine: 'onnx' });
    const tfjs = await loadDetector({ weights: tinyDir, engine: 'tfjs' });
    try {
      assert.equal(onnx.info.task, 'detection');
      assert.equal(onnx.info.engine, 'onnxruntime-node');
      const a = await onnx.detect(image, { minScore: 0, maxDetections: 5 });
      const b = await tfjs.detect(image, { minScore: 0, maxDetections: 5 });
      assert.deepEqual(a.image, b.image);
      assert.equal(a.image.width, 120);
      assert.ok(a.detections.length > 0 && a.detections.length <= 5);
      assert.equal(a.detections.length, b.detections.length);
      a.detections.forEach((d, i) => {
        const e = b.detections[i]!;
        assert.equal(d.categoryId, e.categoryId);
        assert.ok(Math.abs(d.score - e.score) < 1e-4, `score ${d.score} vs ${e.score}`);
        d.bbox.forEach((v, k) => assert.ok(Math.abs(v - e.bbox[k]!) < 0.05, `bbox ${d.bbox} vs ${e.bbox}`));
        const [x, y, w, h] = d.bbox;
        assert.ok(x >= -1e-3 && y >= -1e-3 && x + w <= 120 + 1e-3 && y + h <= 60 + 1e-3, `bbox ${d.bbox} outside 120x60`);
        assert.ok(['circle', 'square'].includes(d.label));
      });
      const before = tf.memory().numTensors;
      for (let i = 0; i < 3; i++) {
        await onnx.detect(image);
        await tfjs.detect(image);
      }
      assert.equal(tf.memory().numTensors, before);
    } finally {
      onnx.dispose();
      tfjs.dispose();
    }
  });

  test('bad options, non-images and non-detector checkpoints are typed errors', async () => {
    const detector = await loadDetector({ weights: tinyDir, engine: 'tfjs' });
    const image = await sceneBytes(64, 64, 1);
    try {
      await assert.rejects(detector.detect(image, { minScore: 2 }), (e: unknown) => e instanceof NasnetError && e.code === 'INVALID_ARGUMENT' && /minScore/.test(e.message));
      await assert.rejects(detector.detect(image, { maxDetections: 0 }), (e: unknown) => e instanceof NasnetError && /maxDetections/.test(e.message));
      await assert.rejects(detector.detect(Buffer.from('not an image')), (e: unknown) => e instanceof NasnetError && e.code === 'NOT_AN_IMAGE');
    } finally {
      detector.dispose();
    }
    const other = join(tempDir('detector-api'), 'other');
    await saveCheckpoint(other, { config: { task: 'classification' }, weights: [{ name: 'w', tensor: tf.zeros([1]) }] });
    await assert.rejects(loadDetector({ weights: other }), (e: unknown) => e instanceof NasnetError && e.code === 'CHECKPOINT_INVALID');
    await assert.rejects(loadDetector({ weights: tinyDir, engine: 'gpu' as 'onnx' }), (e: unknown) => e instanceof NasnetError && e.code === 'INVALID_ARGUMENT');
  });
});

/** The held-out slice: 20 images of the default's shapes distribution (models/default/README.md), seed 2026. */
const HELD_OUT = { seed: 2026, count: 20, size: 256, minObjectSize: 24, maxObjectSize: 96 } as const;

describe('the shipped default detector', () => {
  // The target on a slice of the held-out set (the whole set's scores: models/default/README.md).
  test(`AP50 >= 0.90 and AP >= 0.60 on ${HELD_OUT.count} held-out synthetic images`, async () => {
    const config = shapesConfigForSize(HELD_OUT.size, { minObjectSize: HELD_OUT.minObjectSize, maxObjectSize: HELD_OUT.maxObjectSize });
    const detector = await loadDetector({ weights: defaultDetectorPath() });
    const annotations: CocoAnnotation[] = [];
    const results: CocoResult[] = [];
    try {
      for (let i = 0; i < HELD_OUT.count; i++) {
        const scene = renderShapesImage(shapesImageSeed(HELD_OUT.seed, 'val', i), config);
        for (const a of scene.annotations) annotations.push({ id: annotations.length + 1, image_id: i + 1, category_id: a.categoryId, bbox: [...a.bbox], area: a.area, iscrowd: 0 });
        const { detections } = await detector.detect(await encodePng(scene.image), { minScore: 0.001 });
        for (const d of detections) results.push({ image_id: i + 1, category_id: d.categoryId, bbox: d.bbox, score: d.score });
      }
    } finally {
      detector.dispose();
    }
    const images = Array.from({ length: HELD_OUT.count }, (_, i) => ({ id: i + 1, width: HELD_OUT.size, height: HELD_OUT.size }));
    const { stats } = evaluateCoco({ images, annotations, categories: SHAPE_CATEGORIES.map((c) => ({ ...c })) }, results, { allowEmptyResults: true });
    assert.ok(stats[1]! >= 0.9, `AP50 ${stats[1]}`);
    assert.ok(stats[0]! >= 0.6, `AP ${stats[0]}`);
  });
});
