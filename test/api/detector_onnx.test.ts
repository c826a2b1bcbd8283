// The detector on onnxruntime (src/onnx/detector_export.ts + onnxRunner): ONNX RoiAlign against our
// roi_align.ts, and the onnx engine against the tfjs engine, detection by detection, on synthetic shapes
// images, for the shipped default and for tiny random-weight detectors (cell head and 2-FC head) fed
// non-square images (letterboxed). Also: no tensor leaks, sessions released, the ONNX cache.
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-layers';
import { loadDetector, onnxRunner } from '../../src/api/detector.js';
import { defaultDetectorPath } from '../../src/api/defaults.js';
import type { Detection } from '../../src/api/types.js';
import { saveCheckpoint } from '../../core/checkpoint.js';
import { initEngine } from '../../core/engine.js';
import { NasnetError } from '../../core/errors.js';
import { encodePng } from '../../core/image_io.js';
import { createPrng } from '../../core/prng.js';
import { renderShapesImage, resolveShapesConfig } from '../../data/shapes.js';
import { appendRoiAlign, exportDetectorOnnx } from '../../src/onnx/detector_export.js';
import { GraphBuilder, ints } from '../../src/onnx/graph.js';
import { OnnxSession } from '../../src/onnx/index.js';
import { DataType, encodeModel } from '../../src/onnx/proto.js';
import { FasterRcnn } from '../../detection/faster_rcnn.js';
import type { FasterRcnnConfig } from '../../detection/faster_rcnn_config.js';
import { roiAlign } from '../../detection/roi_align.js';
import { tempDir } from '../data/temp.js';
import { TINY_DETECTOR } from '../detection/tiny_detector.js';
import { randomize } from '../onnx/onnx_test_utils.js';

const BOX_TOLERANCE = 1e-3; // pixels of the original image
const SCORE_TOLERANCE = 1e-4;

before(async () => {
  await initEngine({ backend: 'wasm' });
});

const sceneBytes = async (width: number, height: number, seed: number): Promise<Uint8Array> =>
  encodePng(renderShapesImage(seed, resolveShapesConfig({ width, height, minObjectSize: 12, maxObjectSize: Math.min(width, height) })).image);

function assertSameDetections(actual: readonly Detection[], expected: readonly Detection[], what: string): void {
  assert.equal(actual.length, expected.length, `${what}: number of detections`);
  actual.forEach((d, i) => {
    const e = expected[i]!;
    assert.equal(d.label, e.label, `${what}: label of detection ${i}`);
    assert.ok(Math.abs(d.score - e.score) <= SCORE_TOLERANCE, `${what}: score of detection ${i}: ${d.score} vs ${e.score}`);
    d.bbox.forEach((v, k) => assert.ok(Math.abs(v - e.bbox[k]!) <= BOX_TOLERANCE, `${what}: bbox of detection ${i}: ${d.bbox} vs ${e.bbox}`));
  });
}

/** Loads both engines on `weights`, compares them on every image, checks leaks on the onnx one. */
async function compareEngines(weights: string, images: readonly { bytes: Uint8Array; name: string }[], onnxCache: boolean): Promise<number> {
  const onnx = await loadDetector({ weights, engine: 'onnx', onnxCache });
  const tfjs = await loadDetector({ weights, engine: 'tfjs' });
  let compared = 0;
  try {
    for (const { bytes, name } of images) {
      const a = await onnx.detect(bytes, { minScore: 0, maxDetections: 100 });
      const b = await tfjs.detect(bytes, { minScore: 0, maxDetections: 100 });
      assert.deepEqual(a.image, b.image);
      assert.ok(a.detections.length > 0, `${name}: no detections to compare`);
      assertSameDetections(a.detections, b.detections, name);
      compared += a.detections.length;
    }
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) await onnx.detect(images[0]!.bytes);
    assert.equal(tf.memory().numTensors, before, 'tensors leaked over repeated onnx detect calls');
  } finally {
    onnx.dispose();
    tfjs.dispose();
  }
  return compared;
}

/** A tiny detector with seeded random backbone weights (BN statistics included), saved as a checkpoint. */
async function tinyCheckpoint(name: string, config: Partial<FasterRcnnConfig>): Promise<string> {
  const dir = join(tempDir('detector-onnx'), name);
  const model = new FasterRcnn({ ...TINY_DETECTOR, ...config, postprocess: { scoreThreshold: 0 } });
  try {
    model.backboneModels.forEach((m, i) => randomize(m, 11 + i));
    await saveCheckpoint(dir, { config: { model: model.config, task: 'detection' }, weights: new Map(model.variables().map((v) => [v.name, v.variable as tf.Tensor])) });
  } finally {
    model.dispose();
  }
  return dir;
}

describe('ONNX RoiAlign (half_pixel) in our box frame', () => {
  const [n, h, w, c, k, imageSize, stride] = [2, 12, 10, 5, 24, 96, 8];
  const prng = createPrng(5);
  const features = Float32Array.from({ length: n * h * w * c }, () => prng.uniform(-1, 1));
  // Boxes over and beyond the image (samples past -1 / H read 0), tiny ones and one of zero size.
  const boxes = new Float32Array(4 * k);
  for (let b = 0; b < k; b++) {
    const [y, x] = [prng.uniform(-0.2, 1), prng.uniform(-0.2, 1)];
    const [bh, bw] = b === 0 ? [0, 0] : [prng.uniform(0.002, 0.6), prng.uniform(0.002, 0.6)];
    boxes.set([y, x, y + bh, x + bw], 4 * b);
  }
  const images = Int32Array.from({ length: k }, (_, b) => b % n);

  for (const [cropSize, samplingRatio] of [[4, 2], [7, 0], [3, 1]] as const) {
    test(`equals roiAlign (aligned) within 1e-5: crop ${cropSize}, sampling ratio ${samplingRatio}`, async () => {
      const graph = new GraphBuilder();
      const settings = { imageSize, spatialScale: 1 / stride, cropSize, samplingRatio };
      const crops = appendRoiAlign(graph, { features: 'features', rois: 'rois', roiImages: 'roi_images' }, settings);
      graph.node('Transpose', [crops], ['crops'], { perm: ints([0, 2, 3, 1]) });
      const info = (name: string, shape: (number | string)[]) => ({ name, elemType: DataType.FLOAT, shape });
      const bytes = encodeModel(
        { name: 'roi_align', nodes: graph.nodes, initializers: graph.initializers, inputs: [info('features', [n, c, h, w]), info('rois', [k, 4]), info('roi_images', [k])], outputs: [info('crops', [k, cropSize, cropSize, c])] },
        { opset: 17, producer: 'test', producerVersion: '0' },
      );
      const session = await OnnxSession.create(bytes);
      try {
        const nchw = tf.tidy(() => tf.transpose(tf.tensor4d(features, [n, h, w, c]), [0, 3, 1, 2]).dataSync() as Float32Array);
        const out = await session.run({ features: { data: nchw, dims: [n, c, h, w] }, rois: { data: boxes, dims: [k, 4] }, roi_images: { data: Float32Array.from(images), dims: [k] } });
        const expected = tf.tidy(() => {
          const frame = { pixelScale: { height: imageSize, width: imageSize }, spatialScale: 1 / stride };
          return roiAlign(tf.tensor4d(features, [n, h, w, c]), boxes, images, { outputSize: [cropSize, cropSize], samplingRatio, aligned: true }, frame).dataSync() as Float32Array;
        });
        assert.deepEqual(out.crops!.dims, [k, cropSize, cropSize, c]);
        let maxErr = 0;
        expected.forEach((v, i) => (maxErr = Math.max(maxErr, Math.abs(v - out.crops!.data[i]!))));
        assert.ok(maxErr <= 1e-5, `max abs error ${maxErr}`);
        assert.ok(expected.some((v) => Math.abs(v) > 0.1), 'the crops are not all ~0');
      } finally {
        await session.dispose();
      }
    });
  }
});

describe('detector on onnxruntime vs TensorFlow.js', () => {
  test('the shipped default: same detections on synthetic shapes images (square, wide, tall)', async () => {
    const images = [
      { bytes: await sceneBytes(256, 256, 21), name: '256x256' },
      { bytes: await sceneBytes(320, 200, 22), name: '320x200' },
      { bytes: await sceneBytes(180, 300, 23), name: '180x300' },
      { bytes: await sceneBytes(256, 256, 24), name: '256x256 (2)' },
      { bytes: await sceneBytes(300, 240, 25), name: '300x240' },
    ];
    // onnxCache false: the test must not write beside the shipped weights.
    const compared = await compareEngines(defaultDetectorPath(), images, false);
    assert.ok(compared >= 100, `compared only ${compared} detections`);
  });

  for (const [name, config] of [
    ['tiny cell head', {}],
    ['tiny 2-FC head', { boxHead: 'two-fc', fcDim: 24, cropSize: 5 }],
  ] as const) {
    test(`${name} (random weights): same detections on letterboxed non-square images; the ONNX cache is written and read`, async () => {
      const dir = await tinyCheckpoint(name.replace(/\W/g, '_'), config);
      const images = [
        { bytes: await sceneBytes(120, 60, 4), name: '120x60' },
        { bytes: await sceneBytes(50, 90, 5), name: '50x90' },
      ];
      await compareEngines(dir, images, true);
      const cached = (await readdir(join(dir, 'onnx-cache'))).sort();
      assert.deepEqual(cached.map((f) => f.replace(/-[0-9a-f]{16}\.onnx$/, '')), ['detector_head', 'detector_rpn']);
      await compareEngines(dir, images.slice(0, 1), true); // from the cache
    });
  }
});

describe('onnxRunner', () => {
  test('selects the same proposals in the graph as FasterRcnn does in TypeScript, image by image (batch of 3, clipped, small boxes dropped, none left)', async () => {
    // Anchors of 16..48 px on the 4 x 4 grid (stride 16) overlap, so that NMS has work to do.
    const anchors = { scales: [1, 2, 3], aspectRatios: [1, 2], baseSize: 16 };
    const model = new FasterRcnn({ ...TINY_DETECTOR, anchors, proposals: { train: {}, test: { preNmsTopN: 60, postNmsTopN: 40, nmsThreshold: 0.5, minSize: 3 } } });
    model.backboneModels.forEach((m, i) => randomize(m, 21 + i));
    for (const { name, variable } of model.variables()) if (name.startsWith('rpn/')) variable.assign(tf.tidy(() => tf.randomNormal(variable.shape, 0, 0.05, 'float32', 4)));
    const prng = createPrng(8);
    const x = tf.tensor4d(Float32Array.from({ length: 3 * 64 * 64 * 3 }, () => prng.uniform(-1, 1)), [3, 64, 64, 3]);
    // The third window is 0.6 px wide: every box clipped to it is under minSize, so it gets no proposal.
    const windows: [number, number, number, number][] = [[0, 0, 1, 1], [0, 0, 0.45, 0.8], [0, 0, 0.5, 0.01]];
    const runner = await onnxRunner(model);
    try {
      const [a, b] = [await runner.rpn(x, windows), await model.tfjsRunner().rpn(x, windows)];
      a.dispose();
      b.dispose();
      a.proposals.forEach((boxes, n) => {
        const expected = b.proposals[n]!;
        if (n < 2) assert.ok(expected.length >= 4 * 10 && expected.length < 4 * 40, `image ${n}: ${expected.length / 4} proposals (NMS must bite)`);
        else assert.equal(expected.length, 0);
        assert.equal(boxes.length, expected.length, `image ${n}: number of proposals`);
        boxes.forEach((v, i) => assert.ok(Math.abs(v - expected[i]!) <= 1e-6, `image ${n}, coordinate ${i}: ${v} vs ${expected[i]}`));
        for (let i = 0; i < boxes.length; i++) assert.ok(boxes[i]! >= 0 && boxes[i]! <= windows[n]![2 + (i % 2)]! + 1e-7);
      });
    } finally {
      await runner.dispose();
      x.dispose();
      model.dispose();
    }
  });

  test('releases both sessions on dispose; exportDetectorOnnx refuses opsets without half_pixel RoiAlign', async () => {
    const model = new FasterRcnn(TINY_DETECTOR);
    const x = tf.zeros([1, 64, 64, 3]) as tf.Tensor4D;
    try {
      const runner = await onnxRunner(model);
      const rpn = await runner.rpn(x, [[0, 0, 1, 1]]);
      assert.ok(rpn.proposals.length === 1 && rpn.proposals[0]!.length > 0);
      rpn.dispose();
      await runner.dispose();
      await assert.rejects(runner.rpn(x, [[0, 0, 1, 1]]));
      assert.throws(() => exportDetectorOnnx(model, { opset: 15 }), (e: unknown) => e instanceof NasnetError && e.code === 'INVALID_ARGUMENT' && /opset/.test(e.message));
    } finally {
      x.dispose();
      model.dispose();
    }
  });
});
