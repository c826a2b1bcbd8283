import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tfl from '@tensorflow/tfjs-layers';
import { initEngine } from '../../core/engine.js';
import { adjustNames, factorizedReduction } from '../../cells/adjust.js';
import { KerasNamer } from '../../cells/index.js';
import { exportLayersGraph } from '../../src/onnx/index.js';
import { foldSubsampling } from '../../src/onnx/fold_subsampling.js';
import { GraphBuilder, ints, intsAttr } from '../../src/onnx/graph.js';
import { compare, opCounts, randomize } from './onnx_test_utils.js';

before(async () => {
  await initEngine({ backend: 'cpu' });
});

/** NASNet's factorized reduction (cells/adjust.ts) of an HxHx6 input to 5 channels. */
function reductionModel(size: number): tfl.LayersModel {
  const input = tfl.input({ shape: [size, size, 6] });
  const out = factorizedReduction(new KerasNamer(), input, 5, adjustNames('t'));
  const model = tfl.model({ inputs: input, outputs: out });
  randomize(model, size);
  return model;
}

test('the factorized reduction loses its Pad, Slice and 1x1 pools and matches tfjs within 1e-5 (even and odd sizes)', async () => {
  for (const size of [8, 9]) {
    const model = reductionModel(size);
    const { graph } = exportLayersGraph(model, { channelAlignment: 1 });
    const counts = opCounts(graph);
    assert.equal(counts.Pad ?? 0, 0);
    assert.equal(counts.Slice ?? 0, 0);
    assert.equal(counts.AveragePool ?? 0, 0);
    // Path 2's shift + subsample: a one-tap 2x2 depthwise conv, stride 2, zero row/column at the end.
    const select = graph.nodes.find((n) => n.opType === 'Conv' && intsAttr(n, 'kernel_shape')?.join() === '2,2')!;
    assert.deepEqual([intsAttr(select, 'strides'), intsAttr(select, 'pads')], [[2, 2], [0, 0, 1, 1]]);
    assert.deepEqual(Array.from(graph.floats(select.inputs[1]!)!.data.slice(0, 4)), [0, 0, 0, 1]);
    for (const options of [{ channelAlignment: 1 }, {}]) await compare(model, [2, size, size, 6], 1e-5, options);
    model.dispose();
  }
});

test('pools that average, and slices that cut channels or steps, are left alone', () => {
  const graph = new GraphBuilder();
  const w = graph.constant('w', [2, 2, 1, 1], new Float32Array(4).fill(1));
  graph.node('AveragePool', ['x'], ['avg'], { kernel_shape: ints([3, 3]), strides: ints([2, 2]) });
  graph.node('Conv', ['avg', w], ['a'], { kernel_shape: ints([1, 1]) });
  graph.node('Pad', ['x', graph.int64s('pads', [0, 0, 0, 0, 0, 0, 1, 1])], ['padded']);
  const sliceArgs = [[1, 1], [2 ** 53 - 1, 2 ** 53 - 1], [1, 3]].map((v, i) => graph.int64s(`s${i}`, v));
  graph.node('Slice', ['padded', ...sliceArgs], ['cut']);
  graph.node('Conv', ['cut', graph.constant('w2', [2, 2, 1, 1], new Float32Array(4).fill(1))], ['b'], { kernel_shape: ints([1, 1]) });
  const before = graph.nodes.map((n) => n.opType);
  foldSubsampling(graph, ['a', 'b']);
  assert.deepEqual(
    graph.nodes.map((n) => n.opType),
    before,
  );
});
