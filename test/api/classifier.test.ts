import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { readKerasWeightsFile, writeKerasWeights } from '../../backbones/keras_h5.js';
import { initEngine } from '../../core/engine.js';
import { NasnetError } from '../../core/errors.js';
import { packageRoot } from '../../core/paths.js';
import { loadClassifier, topK } from '../../src/api/classifier.js';

const fixture = (...parts: string[]) => join(packageRoot(), 'test', 'fixtures', ...parts);
let dir: string;
let topH5: string;
const photo = () => new Uint8Array(readFileSync(fixture('image_io', 'photo_grace_hopper.jpg')));
const expected = JSON.parse(readFileSync(fixture('classifier', 'photo_mobile_seed1.json'), 'utf8')) as {
  probs: number[];
  top5: { indices: number[]; values: number[] };
};

/** mobile_seed1.h5 = the no-top file plus the `predictions` layer kept beside it as raw float32. */
async function writeTopH5(path: string): Promise<void> {
  const notop = await readKerasWeightsFile(fixture('keras-nasnet', 'mobile_notop_seed1.h5'));
  const meta = JSON.parse(readFileSync(fixture('keras-nasnet', 'mobile_seed1_predictions.json'), 'utf8')) as {
    tensors: { name: string; shape: number[]; offset: number }[];
  };
  const bytes = readFileSync(fixture('keras-nasnet', 'mobile_seed1_predictions.bin'));
  const weights = meta.tensors.map((t) => {
    const count = t.shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(bytes.buffer.slice(bytes.byteOffset + t.offset, bytes.byteOffset + t.offset + count * 4));
    return { name: t.name, shape: t.shape, data };
  });
  const file = { ...notop, layerNames: [...notop.layerNames, 'predictions'], layers: [...notop.layers, { name: 'predictions', weights }] };
  writeFileSync(path, await writeKerasWeights(file));
}

before(async () => {
  await initEngine({ backend: 'wasm' });
  dir = mkdtempSync(join(tmpdir(), 'classifier-'));
  topH5 = join(dir, 'mobile_seed1.h5');
  await writeTopH5(topH5);
});

after(() => rmSync(dir, { recursive: true, force: true }));

test('topK orders by score and breaks ties by the lower class id', () => {
  assert.deepEqual(topK(Float32Array.from([0.1, 0.4, 0.4, 0.05, 0.05]), 3), [
    { classId: 1, score: Float32Array.from([0.4])[0] },
    { classId: 2, score: Float32Array.from([0.4])[0] },
    { classId: 0, score: Float32Array.from([0.1])[0] },
  ]);
});

test('Keras NASNetMobile weights + JPEG photo: onnxruntime probabilities equal Keras within 2e-6', async () => {
  const classifier = await loadClassifier({ weights: topH5, backbone: 'mobile', engine: 'onnx' });
  try {
    assert.equal(classifier.info.engine, 'onnxruntime-node');
    const { predictions, image } = await classifier.classify(photo(), { topK: 5 });
    assert.deepEqual({ width: image.width, height: image.height }, { width: 512, height: 600 });
    assert.deepEqual(predictions.map((p) => p.classId), expected.top5.indices);
    predictions.forEach((p, i) => assert.ok(Math.abs(p.score - expected.top5.values[i]!) < 2e-6, `${p.classId}: ${p.score} vs ${expected.top5.values[i]}`));
    assert.equal(predictions[0]!.wnid, 'n03494278'); // class 593 of the Keras table
    assert.equal(predictions[0]!.label, 'harmonica');
  } finally {
    classifier.dispose();
  }
});

test('the tfjs engine gives the same probabilities and holds no tensors across calls', async () => {
  const classifier = await loadClassifier({ weights: topH5, backbone: 'mobile', engine: 'tfjs' });
  try {
    const first = await classifier.classify(photo(), { topK: 3 });
    const tensors = tf.memory().numTensors;
    for (let i = 0; i < 2; i++) await classifier.classify(photo(), { topK: 3 });
    assert.equal(tf.memory().numTensors, tensors);
    assert.deepEqual(first.predictions.map((p) => p.classId), expected.top5.indices.slice(0, 3));
    first.predictions.forEach((p) => assert.ok(Math.abs(p.score - expected.probs[p.classId]!) < 1e-5));
  } finally {
    classifier.dispose();
  }
});

test('bad inputs: corrupt image, bad topK, missing weights file', async () => {
  const classifier = await loadClassifier({ weights: topH5, engine: 'onnx' });
  try {
    await assert.rejects(classifier.classify(new Uint8Array([0xff, 0xd8, 0xff, 0x00, 1, 2, 3])), (e: unknown) => e instanceof NasnetError && e.code === 'NOT_AN_IMAGE');
    await assert.rejects(classifier.classify(photo(), { topK: 0 }), (e: unknown) => e instanceof NasnetError && e.code === 'INVALID_ARGUMENT');
  } finally {
    classifier.dispose();
  }
  await assert.rejects(loadClassifier({ weights: join(dir, 'missing.h5') }), (e: unknown) => e instanceof NasnetError && e.code === 'IO_ERROR');
});
