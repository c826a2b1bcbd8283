import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { initEngine } from '../../src/core/engine.js';
import { createPrng } from '../../src/core/prng.js';
import { exportLayersModel, OnnxSession } from '../../src/onnx/index.js';
import { permute } from '../../src/onnx/keras_converters.js';
import { NasnetError } from '../../src/core/errors.js';

before(async () => {
  await initEngine({ backend: 'cpu' });
});

/** Gives every weight of `model` seeded values (BN variances positive) so a mismatch cannot hide. */
function randomize(model: tfl.LayersModel, seed: number): void {
  const prng = createPrng(seed);
  for (const layer of model.layers) {
    const values = layer.getWeights().map((w, i) => {
      const isVariance = layer.getClassName() === 'BatchNormalization' && i === layer.getWeights().length - 1;
      const data = Float32Array.from({ length: w.size }, () => (isVariance ? prng.uniform(0.5, 1.5) : prng.normal() * 0.3));
      return tf.tensor(data, w.shape);
    });
    if (values.length > 0) layer.setWeights(values);
    values.forEach((v) => v.dispose());
  }
}

async function compare(model: tfl.LayersModel, inputShape: number[], tolerance = 1e-4): Promise<number> {
  const prng = createPrng(99);
  const data = Float32Array.from({ length: inputShape.reduce((a, b) => a * b, 1) }, () => prng.uniform(-1, 1));
  const expected = tf.tidy(() => (model.predict(tf.tensor(data, inputShape)) as tf.Tensor).dataSync());
  const session = await OnnxSession.create(exportLayersModel(model, { inputNames: ['image'], outputNames: ['out'] }));
  const result = (await session.run({ image: { data, dims: inputShape } })).out!;
  await session.dispose();
  assert.equal(result.data.length, expected.length);
  let maxErr = 0;
  for (let i = 0; i < expected.length; i++) maxErr = Math.max(maxErr, Math.abs((result.data[i] as number) - (expected[i] as number)));
  assert.ok(maxErr < tolerance, `max abs error ${maxErr}`);
  return maxErr;
}

test('permute matches a hand-written transpose', () => {
  // [2,3] -> [3,2]
  assert.deepEqual(Array.from(permute(Float32Array.from([1, 2, 3, 4, 5, 6]), [2, 3], [1, 0])), [1, 4, 2, 5, 3, 6]);
});

test('convolutions, pools, padding, cropping and batch norm match tfjs at odd sizes, both paddings, strides 1 and 2', async () => {
  const input = tfl.input({ shape: [15, 13, 5] });
  const branches: tfl.SymbolicTensor[] = [];
  for (const padding of ['same', 'valid'] as const) {
    for (const strides of [1, 2]) {
      const conv = tfl.layers.conv2d({ filters: 6, kernelSize: 3, strides, padding, useBias: true }).apply(input) as tfl.SymbolicTensor;
      const sep = tfl.layers.separableConv2d({ filters: 6, kernelSize: 5, strides, padding, useBias: false }).apply(input) as tfl.SymbolicTensor;
      const dw = tfl.layers.depthwiseConv2d({ kernelSize: 7, strides, padding, depthMultiplier: 2, useBias: true }).apply(input) as tfl.SymbolicTensor;
      const avg = tfl.layers.averagePooling2d({ poolSize: 3, strides, padding }).apply(input) as tfl.SymbolicTensor;
      const max = tfl.layers.maxPooling2d({ poolSize: 5, strides, padding }).apply(input) as tfl.SymbolicTensor;
      for (const t of [conv, sep, dw, avg, max]) branches.push(tfl.layers.globalAveragePooling2d({}).apply(t) as tfl.SymbolicTensor);
    }
  }
  const dilated = tfl.layers.conv2d({ filters: 4, kernelSize: 3, dilationRate: 2, padding: 'same', activation: 'relu' }).apply(input) as tfl.SymbolicTensor;
  const padded = tfl.layers.zeroPadding2d({ padding: [[1, 2], [0, 1]] }).apply(dilated) as tfl.SymbolicTensor;
  const cropped = tfl.layers.cropping2D({ cropping: [[1, 0], [1, 0]] }).apply(padded) as tfl.SymbolicTensor;
  const bn = tfl.layers.batchNormalization({ epsilon: 1e-3 }).apply(cropped) as tfl.SymbolicTensor;
  const relu = tfl.layers.activation({ activation: 'relu' }).apply(bn) as tfl.SymbolicTensor;
  branches.push(tfl.layers.flatten().apply(relu) as tfl.SymbolicTensor);
  const merged = tfl.layers.concatenate().apply(branches) as tfl.SymbolicTensor;
  const logits = tfl.layers.dense({ units: 7, activation: 'softmax' }).apply(merged) as tfl.SymbolicTensor;
  const model = tfl.model({ inputs: input, outputs: logits });
  randomize(model, 1);
  // Softmax output: compare tightly.
  await compare(model, [2, 15, 13, 5], 2e-6);
  model.dispose();
});

test('a rank-4 output comes back NHWC; add and concat on channels', async () => {
  const input = tfl.input({ shape: [9, 11, 4] });
  const a = tfl.layers.conv2d({ filters: 4, kernelSize: 1, useBias: false }).apply(input) as tfl.SymbolicTensor;
  const sum = tfl.layers.add().apply([a, input]) as tfl.SymbolicTensor;
  const cat = tfl.layers.concatenate({ axis: -1 }).apply([sum, input]) as tfl.SymbolicTensor;
  const model = tfl.model({ inputs: input, outputs: cat });
  randomize(model, 2);
  await compare(model, [1, 9, 11, 4], 1e-5);
  model.dispose();
});

test('a layer class without a converter is named in the error', () => {
  const input = tfl.input({ shape: [4] });
  const model = tfl.model({ inputs: input, outputs: tfl.layers.repeatVector({ n: 2 }).apply(input) as tfl.SymbolicTensor });
  assert.throws(() => exportLayersModel(model), (e: unknown) => e instanceof NasnetError && /RepeatVector/.test(e.message));
  model.dispose();
});

test('our custom layers export: DilatedConv2D as a dilated Conv, ScheduledDropPath as identity', async () => {
  const { DilatedConv2D, ScheduledDropPath } = await import('../../cells/index.js');
  const input = tfl.input({ shape: [11, 9, 3] });
  const dil = new DilatedConv2D({ filters: 4 }).apply(input) as tfl.SymbolicTensor;
  const dropped = new ScheduledDropPath({ keepProb: 0.7, cellIndex: 3, totalCells: 8 }).apply(dil) as tfl.SymbolicTensor;
  const model = tfl.model({ inputs: input, outputs: dropped });
  randomize(model, 3);
  await compare(model, [2, 11, 9, 3], 1e-5);
  model.dispose();
});
