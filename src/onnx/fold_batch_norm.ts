// Folds inference-mode BatchNormalization into the convolution(s) producing its input:
//   y = gamma * (conv(x) - mean) / sqrt(var + eps) + beta = conv'(x), with per output channel o
//   s[o] = gamma[o] / sqrt(var[o] + eps),  W'[o] = s[o] * W[o],  b'[o] = s[o] * (b[o] - mean[o]) + beta[o].
// Two producers fold: a Conv, and a channel Concat whose every input is a Conv (NASNet's factorized
// reduction: two strided 1x1 convs -> concat -> BN), where each conv takes its slice of s and the shift.
// onnxruntime fuses Conv+BN itself but not through a Concat; folding here also shrinks the model.
import type { OnnxNode } from './proto.js';
import { floatAttr, intAttr, producers, readerCounts, withChanges, type GraphBuilder } from './graph.js';

interface Affine {
  readonly scale: Float64Array;
  readonly shift: Float64Array;
}

function batchNormAffine(graph: GraphBuilder, bn: OnnxNode): Affine | undefined {
  const [gamma, beta, mean, variance] = bn.inputs.slice(1).map((name) => graph.floats(name)?.data);
  if (gamma === undefined || beta === undefined || mean === undefined || variance === undefined) return undefined;
  const epsilon = floatAttr(bn, 'epsilon', 1e-5);
  const scale = Float64Array.from(gamma, (g, c) => g / Math.sqrt((variance[c] as number) + epsilon));
  const shift = Float64Array.from(scale, (s, c) => (beta[c] as number) - s * (mean[c] as number));
  return { scale, shift };
}

/** A Conv whose weights (and bias, if any) are initializers: its output channel count, else undefined. */
function foldableConv(graph: GraphBuilder, node: OnnxNode | undefined): number | undefined {
  if (node?.opType !== 'Conv') return undefined;
  const weight = graph.floats(node.inputs[1]!);
  if (weight === undefined || (node.inputs[2] !== undefined && graph.floats(node.inputs[2]) === undefined)) return undefined;
  return weight.dims[0];
}

/** The conv with output channels [offset, offset + count) of `affine` applied, writing `output`. */
function scaledConv(graph: GraphBuilder, conv: OnnxNode, affine: Affine, offset: number, output: string): OnnxNode {
  const weight = graph.floats(conv.inputs[1]!)!;
  const outChannels = weight.dims[0] as number;
  const perChannel = weight.data.length / outChannels;
  const bias = conv.inputs[2] === undefined ? new Float32Array(outChannels) : graph.floats(conv.inputs[2])!.data;
  for (let o = 0; o < outChannels; o++) {
    const s = affine.scale[offset + o] as number;
    for (let i = o * perChannel; i < (o + 1) * perChannel; i++) weight.data[i] = (weight.data[i] as number) * s;
    bias[o] = s * (bias[o] as number) + (affine.shift[offset + o] as number);
  }
  const w = graph.constant(`${conv.name}_bnW`, weight.dims, weight.data);
  const b = graph.constant(`${conv.name}_bnB`, [outChannels], bias);
  return withChanges(conv, { inputs: [conv.inputs[0]!, w, b], outputs: [output] });
}

/** Rewrites `graph` in place; values in `keep` (the graph outputs) are never folded away. */
export function foldBatchNorm(graph: GraphBuilder, keep: readonly string[]): void {
  const byOutput = producers(graph.nodes);
  const readers = readerCounts(graph.nodes, keep);
  const replaced = new Map<OnnxNode, OnnxNode>();
  const removed = new Set<OnnxNode>();
  const soleReader = (value: string): boolean => readers.get(value) === 1;

  for (const bn of graph.nodes) {
    if (bn.opType !== 'BatchNormalization' || bn.outputs.length !== 1 || !soleReader(bn.inputs[0]!)) continue;
    const producer = byOutput.get(bn.inputs[0]!);
    if (producer === undefined || replaced.has(producer)) continue;
    const affine = batchNormAffine(graph, bn);
    if (affine === undefined) continue;

    if (foldableConv(graph, producer) === affine.scale.length) {
      replaced.set(producer, scaledConv(graph, producer, affine, 0, bn.outputs[0]!));
      removed.add(bn);
    } else if (producer.opType === 'Concat' && intAttr(producer, 'axis', 0) === 1) {
      const convs = producer.inputs.map((name) => (soleReader(name) ? byOutput.get(name) : undefined));
      const counts = convs.map((conv) => (conv !== undefined && !replaced.has(conv) ? foldableConv(graph, conv) : undefined));
      if (counts.some((c) => c === undefined) || counts.reduce((a, c) => a! + c!, 0) !== affine.scale.length) continue;
      let offset = 0;
      convs.forEach((conv, i) => {
        replaced.set(conv!, scaledConv(graph, conv!, affine, offset, producer.inputs[i]!));
        offset += counts[i]!;
      });
      replaced.set(producer, withChanges(producer, { outputs: [bn.outputs[0]!] }));
      removed.add(bn);
    }
  }
  graph.nodes = graph.nodes.filter((n) => !removed.has(n)).map((n) => replaced.get(n) ?? n);
  graph.pruneInitializers();
}
