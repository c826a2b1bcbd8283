// Shared by the ONNX tests: seeded weights, and running an export on onnxruntime against tfjs.
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { createPrng } from '../../core/prng.js';
import { exportLayersModel, OnnxSession, type ExportOptions } from '../../src/onnx/index.js';
import type { GraphBuilder } from '../../src/onnx/graph.js';

/** Gives every weight of `model` seeded values (BN variances positive) so a mismatch cannot hide. */
export function randomize(model: tfl.LayersModel, seed: number): void {
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

/** Runs `model` on tfjs and its ONNX export on onnxruntime with the same input; asserts and returns the max abs error. */
export async function compare(model: tfl.LayersModel, inputShape: number[], tolerance: number, options: ExportOptions = {}): Promise<number> {
  const prng = createPrng(99);
  const data = Float32Array.from({ length: inputShape.reduce((a, b) => a * b, 1) }, () => prng.uniform(-1, 1));
  const expected = tf.tidy(() => (model.predict(tf.tensor(data, inputShape)) as tf.Tensor).dataSync());
  const session = await OnnxSession.create(exportLayersModel(model, { inputNames: ['image'], outputNames: ['out'], ...options }));
  const result = (await session.run({ image: { data, dims: inputShape } })).out!;
  await session.dispose();
  assert.equal(result.data.length, expected.length);
  let maxErr = 0;
  for (let i = 0; i < expected.length; i++) maxErr = Math.max(maxErr, Math.abs((result.data[i] as number) - (expected[i] as number)));
  assert.ok(maxErr < tolerance, `max abs error ${maxErr}`);
  return maxErr;
}

/** How many nodes of each op type `graph` has. */
export function opCounts(graph: GraphBuilder): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const node of graph.nodes) counts[node.opType] = (counts[node.opType] ?? 0) + 1;
  return counts;
}

/** Dense 2 -> 1 with weights [1, 2] and bias 0.5 as ONNX: y = x0 + 2 x1 + 0.5 (a real model for onnxruntime). */
export function denseOnnx(): Uint8Array {
  const input = tfl.input({ shape: [2] });
  const layer = tfl.layers.dense({ units: 1 });
  const model = tfl.model({ inputs: input, outputs: layer.apply(input) as tfl.SymbolicTensor });
  const weights = [tf.tensor2d([[1], [2]]), tf.tensor1d([0.5])];
  layer.setWeights(weights);
  tf.dispose(weights);
  const bytes = exportLayersModel(model, { inputNames: ['x'], outputNames: ['y'] });
  model.dispose();
  return bytes;
}
