import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tfl from '@tensorflow/tfjs-layers';
import { initEngine } from '../../core/engine.js';
import { exportLayersGraph } from '../../src/onnx/index.js';
import { foldBatchNorm } from '../../src/onnx/fold_batch_norm.js';
import { GraphBuilder, float, int, ints } from '../../src/onnx/graph.js';
import { compare, opCounts, randomize } from './onnx_test_utils.js';

before(async () => {
  await initEngine({ backend: 'cpu' });
});

const f32 = (...values: number[]): Float32Array => Float32Array.from(values);

/** x -> 1x1 Conv (2 outputs) -> BN with var + eps = [4, 1], so s = gamma / sqrt(var + eps) = [1, 0.5]. */
function convBn(graph: GraphBuilder, input: string, output: string, withBias: boolean): void {
  const w = graph.constant('w', [2, 1, 1, 1], f32(2, 3));
  const b = withBias ? [graph.constant('b', [2], f32(1, -1))] : [];
  graph.node('Conv', [input, w, ...b], [`${output}_conv`], { kernel_shape: ints([1, 1]) });
  const bn = [f32(2, 0.5), f32(0.1, 0.2), f32(1, 2), f32(3, 0)].map((data, i) => graph.constant(`bn${i}`, [2], data));
  graph.node('BatchNormalization', [`${output}_conv`, ...bn], [output], { epsilon: float(1) });
}

test('Conv -> BN folds to W\' = s*W, b\' = s*(b - mean) + beta (hand-computed)', () => {
  const graph = new GraphBuilder();
  convBn(graph, 'x', 'y', true);
  foldBatchNorm(graph, ['y']);
  assert.deepEqual(opCounts(graph), { Conv: 1 });
  const conv = graph.nodes[0]!;
  assert.deepEqual(conv.outputs, ['y']);
  // s = [2/2, 0.5/1]: W' = [2, 1.5]; b' = [1*(1-1) + 0.1, 0.5*(-1-2) + 0.2] = [0.1, -1.3].
  assert.deepEqual(Array.from(graph.floats(conv.inputs[1]!)!.data), [2, 1.5]);
  const bias = graph.floats(conv.inputs[2]!)!.data;
  assert.ok(Math.abs(bias[0]! - 0.1) < 1e-7 && Math.abs(bias[1]! + 1.3) < 1e-6, `bias ${bias}`);
  // The BN parameters and the old weights are gone from the model.
  assert.equal(graph.initializers.length, 2);
});

/** Two 1x1 convs (weights 2 and 3) -> Concat -> the BN of convBn; `extra` nodes are appended. */
function concatBn(extra: (graph: GraphBuilder) => void): GraphBuilder {
  const graph = new GraphBuilder();
  graph.node('Conv', ['x', graph.constant('w1', [1, 1, 1, 1], f32(2))], ['a'], { kernel_shape: ints([1, 1]) });
  graph.node('Conv', ['x', graph.constant('w2', [1, 1, 1, 1], f32(3))], ['b'], { kernel_shape: ints([1, 1]) });
  graph.node('Concat', ['a', 'b'], ['ab'], { axis: int(1) });
  const bn = [f32(2, 0.5), f32(0.1, 0.2), f32(1, 2), f32(3, 0)].map((data, i) => graph.constant(`bn${i}`, [2], data));
  graph.node('BatchNormalization', ['ab', ...bn], ['y'], { epsilon: float(1) });
  extra(graph);
  return graph;
}

test('Concat of two convs -> BN folds each conv with its slice; a conv read twice blocks the fold', () => {
  const graph = concatBn(() => undefined);
  foldBatchNorm(graph, ['y']);
  assert.deepEqual(opCounts(graph), { Conv: 2, Concat: 1 });
  const [c1, c2] = graph.nodes;
  assert.deepEqual([graph.floats(c1!.inputs[1]!)!.data[0], graph.floats(c2!.inputs[1]!)!.data[0]], [2, 1.5]);
  // b' = s*(0 - mean) + beta = [1*(0-1) + 0.1, 0.5*(0-2) + 0.2]
  assert.deepEqual([graph.floats(c1!.inputs[2]!)!.data[0], graph.floats(c2!.inputs[2]!)!.data[0]].map((v) => Math.round(v! * 1e6) / 1e6), [-0.9, -0.8]);
  assert.deepEqual(graph.nodes[2]!.outputs, ['y']);

  const shared = concatBn((g) => g.node('Relu', ['a'], ['other']));
  foldBatchNorm(shared, ['y', 'other']);
  assert.deepEqual(opCounts(shared), { Conv: 2, Concat: 1, BatchNormalization: 1, Relu: 1 });
});

test('Keras conv, separable conv and conv-concat blocks with BN match tfjs within 1e-5 after folding', async () => {
  const input = tfl.input({ shape: [9, 9, 4] });
  const relu = tfl.layers.activation({ activation: 'relu' }).apply(input) as tfl.SymbolicTensor;
  const conv = tfl.layers.conv2d({ filters: 6, kernelSize: 3, padding: 'same', useBias: true }).apply(relu) as tfl.SymbolicTensor;
  const bn1 = tfl.layers.batchNormalization({ epsilon: 1e-3 }).apply(conv) as tfl.SymbolicTensor;
  const sep = tfl.layers.separableConv2d({ filters: 6, kernelSize: 5, padding: 'same', useBias: false }).apply(relu) as tfl.SymbolicTensor;
  const bn2 = tfl.layers.batchNormalization({ epsilon: 1e-3 }).apply(sep) as tfl.SymbolicTensor;
  const a = tfl.layers.conv2d({ filters: 3, kernelSize: 1, useBias: false }).apply(relu) as tfl.SymbolicTensor;
  const b = tfl.layers.conv2d({ filters: 3, kernelSize: 1, useBias: false }).apply(input) as tfl.SymbolicTensor;
  const cat = tfl.layers.concatenate().apply([a, b]) as tfl.SymbolicTensor;
  const bn3 = tfl.layers.batchNormalization({ epsilon: 1e-3 }).apply(cat) as tfl.SymbolicTensor;
  const sum = tfl.layers.add().apply([bn1, bn2, bn3]) as tfl.SymbolicTensor;
  const model = tfl.model({ inputs: input, outputs: sum });
  randomize(model, 11);
  const options = { foldSubsampling: false, channelAlignment: 1 };
  assert.equal(opCounts(exportLayersGraph(model, options).graph).BatchNormalization, undefined);
  assert.equal(opCounts(exportLayersGraph(model, { ...options, foldBatchNorm: false }).graph).BatchNormalization, 3);
  await compare(model, [2, 9, 9, 4], 1e-5, options);
  model.dispose();
});
