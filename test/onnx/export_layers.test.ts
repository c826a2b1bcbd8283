import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tfl from '@tensorflow/tfjs-layers';
import { initEngine } from '../../core/engine.js';
import { exportLayersGraph, exportLayersModel } from '../../src/onnx/index.js';
import { permute } from '../../src/onnx/keras_converters.js';
import { NasnetError } from '../../core/errors.js';
import { compare, randomize } from './onnx_test_utils.js';

before(async () => {
  await initEngine({ backend: 'cpu' });
});

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
  // Softmax output: compare tightly, with the graph passes (the default) and without.
  await compare(model, [2, 15, 13, 5], 2e-6);
  await compare(model, [2, 15, 13, 5], 2e-6, { foldBatchNorm: false, foldSubsampling: false, channelAlignment: 1 });
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

test('static shapes: batchSize with dynamicSpatial false fixes every input dim; bad option values are named', async () => {
  const input = tfl.input({ shape: [6, 6, 3] });
  const conv = tfl.layers.conv2d({ filters: 5, kernelSize: 3, padding: 'same' }).apply(input) as tfl.SymbolicTensor;
  const model = tfl.model({ inputs: input, outputs: conv });
  randomize(model, 4);
  await compare(model, [3, 6, 6, 3], 1e-5, { batchSize: 3, dynamicSpatial: false });
  const { inputs, outputs } = exportLayersGraph(model, { batchSize: 3, dynamicSpatial: false });
  assert.deepEqual(inputs[0]!.shape, [3, 6, 6, 3]);
  assert.deepEqual(outputs[0]!.shape, [3, 6, 6, 5]);
  for (const bad of [{ batchSize: 0 }, { channelAlignment: 2.5 }]) {
    assert.throws(() => exportLayersModel(model, bad), (e: unknown) => e instanceof NasnetError && e.code === 'INVALID_ARGUMENT' && /options\.(batchSize|channelAlignment)/.test(e.message));
  }
  model.dispose();
});
