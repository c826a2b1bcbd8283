import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { buildNasnet } from '../../backbones/nasnet.js';
import { initEngine } from '../../core/engine.js';
import { exportLayersGraph } from '../../src/onnx/index.js';
import { GraphBuilder, int, intAttr, ints } from '../../src/onnx/graph.js';
import { padChannels } from '../../src/onnx/pad_channels.js';
import { compare, opCounts, randomize } from './onnx_test_utils.js';

before(async () => {
  await initEngine({ backend: 'cpu' });
});

const ramp = (n: number, from = 1): Float32Array => Float32Array.from({ length: n }, (_, i) => from + i);
const conv1x1 = (graph: GraphBuilder, input: string, output: string, cin: number, cout: number): void =>
  graph.node('Conv', [input, graph.constant('w', [cout, cin, 1, 1], ramp(cin * cout)), graph.constant('b', [cout], ramp(cout, 100))], [output], {
    kernel_shape: ints([1, 1]),
  });

test('a conv writes a multiple of the alignment with zero extra rows; the graph output gets its real channels back', () => {
  const graph = new GraphBuilder();
  conv1x1(graph, 'x', 'y', 2, 3);
  padChannels(graph, ['y'], 4);
  assert.deepEqual(opCounts(graph), { Conv: 1, Gather: 1 });
  const [conv, gather] = graph.nodes;
  assert.deepEqual(Array.from(graph.floats(conv!.inputs[1]!)!.data), [1, 2, 3, 4, 5, 6, 0, 0]); // [4,2,1,1]: row 3 zero
  assert.deepEqual(Array.from(graph.floats(conv!.inputs[2]!)!.data), [100, 101, 102, 0]);
  assert.deepEqual([gather!.inputs[0], gather!.outputs[0], graph.int64Values(gather!.inputs[1]!)], [conv!.outputs[0], 'y', [0, 1, 2]]);
});

test('Concat interleaves padded inputs; a depthwise conv and the next conv follow that layout; a Sum makes its conv input adopt it', () => {
  const graph = new GraphBuilder();
  conv1x1(graph, 'x', 'a', 1, 3); // a: channels 0..2 of 4
  conv1x1(graph, 'x', 'b', 1, 3); // b: channels 0..2 of 4
  graph.node('Concat', ['a', 'b'], ['ab'], { axis: int(1) }); // real channels at 0,1,2,4,5,6 of 8
  graph.node('Conv', ['ab', graph.constant('dw', [6, 1, 1, 1], ramp(6))], ['d'], { kernel_shape: ints([1, 1]), group: int(6) });
  conv1x1(graph, 'x', 'c', 1, 6); // would be 0..5 of 8; the Sum asks it for the Concat's layout
  graph.node('Sum', ['d', 'c'], ['s']);
  conv1x1(graph, 's', 'y', 6, 1);
  padChannels(graph, ['y'], 4);
  assert.deepEqual(opCounts(graph), { Conv: 5, Concat: 1, Sum: 1, Gather: 1 }); // the one Gather: output y
  const byOutput = new Map(graph.nodes.map((n) => [n.outputs[0], n]));
  const dw = byOutput.get('d')!;
  assert.equal(intAttr(dw, 'group', 0), 8);
  assert.deepEqual(Array.from(graph.floats(dw.inputs[1]!)!.data), [1, 2, 3, 0, 4, 5, 6, 0]);
  assert.deepEqual(Array.from(graph.floats(byOutput.get('c')!.inputs[2]!)!.data), [100, 101, 102, 0, 103, 104, 105, 0]);
  // The last conv reads s (real channels at 0,1,2,4,5,6 of 8): its one real row is scattered the same way.
  const last = graph.nodes.find((n) => n.opType === 'Conv' && n.inputs[0] === 's')!;
  const weight = graph.floats(last.inputs[1]!)!;
  assert.deepEqual(weight.dims, [4, 8, 1, 1]);
  assert.deepEqual(Array.from(weight.data), [1, 2, 3, 0, 4, 5, 6, 0, ...new Array<number>(24).fill(0)]);
});

test('an op that does not keep zeros (Sigmoid) reads the real channels through a Gather', () => {
  const graph = new GraphBuilder();
  conv1x1(graph, 'x', 'a', 1, 3);
  graph.node('Sigmoid', ['a'], ['y']);
  padChannels(graph, ['y'], 4);
  assert.deepEqual(graph.nodes.map((n) => n.opType), ['Conv', 'Gather', 'Sigmoid']);
  assert.equal(graph.nodes[2]!.inputs[0], graph.nodes[1]!.outputs[0]);
});

/** A NASNet-A with every part of the Mobile graph (stem cells, factorized reductions, reduction pads) at toy size. */
function tinyNasnet(includeTop: boolean) {
  const network = buildNasnet({ preset: 'mobile', numCells: 1, penultimateFilters: 96, stemFilters: 8, inputSize: 33, classes: 7, includeTop, classifierActivation: 'linear' });
  randomize(network.model, 21);
  return network.model;
}

test('a toy NASNet-A runs blocked end to end: aligned convs, no Gather inside, Pad only before convs; logits and feature maps match tfjs', async () => {
  for (const includeTop of [true, false]) {
    const model = tinyNasnet(includeTop);
    const { graph } = exportLayersGraph(model);
    for (const node of graph.nodes.filter((n) => n.opType === 'Conv')) {
      const width = graph.floats(node.inputs[1]!)!.dims[0]!;
      assert.equal(width % 16, 0, `${node.name} writes ${width} channels`);
    }
    // Classifier: the Gemm reads the padded pool directly; feature map: one Gather before the NHWC transpose.
    assert.equal(opCounts(graph).Gather ?? 0, includeTop ? 0 : 1);
    const readers = (value: string) => graph.nodes.filter((n) => n.inputs.includes(value));
    for (const pad of graph.nodes.filter((n) => n.opType === 'Pad')) assert.ok(readers(pad.outputs[0]!).every((r) => r.opType === 'Conv'));
    await compare(model, [2, 33, 33, 3], 1e-5);
    model.dispose();
  }
});
