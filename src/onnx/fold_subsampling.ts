// Folds the subsampling in front of a 1x1 convolution into convolutions. NASNet's factorized reduction
// (Keras nasnet.py `_adjust_block`) feeds its two 1x1 convs with
//   path 1: AveragePool(1x1, stride s)                                  -> Conv 1x1
//   path 2: Pad(bottom/right 1) -> Slice(drop first row/column) -> AveragePool(1x1, stride s) -> Conv 1x1
// A 1x1 pool only subsamples, so pool + conv is the conv with stride s. Pad + Slice shifts the image up
// and left by (a, b) with zeros entering at the bottom/right, so shift + subsample is an (a+1)x(b+1)
// depthwise conv with stride s whose only non-zero tap (weight 1) is (a, b), padded at the bottom/right
// by the Pad's amounts; the 1x1 conv then runs unstrided on its output:
//   sel[i] = xpad[i*s + a]  and  rows(sel) = floor((H + B - a - 1) / s) + 1  in both forms.
// (Folding the tap into the 1x1 conv itself would also be exact but multiplies its FLOPs by (a+1)(b+1).)
// Pad, Slice and AveragePool are layout-bound ops for onnxruntime (each forces NCHWc <-> NCHW reorders);
// after this pass the reduction is convs and a Concat, all of which stay blocked.
import type { OnnxNode } from './proto.js';
import { allEqual, int, ints, intsAttr, intAttr, producers, readerCounts, stringAttr, withChanges, type GraphBuilder } from './graph.js';

const TO_END = 2 ** 31 - 1; // Slice ends at or above this mean "to the end" (our converter writes 2^53 - 1)

/** Conv with a 1x1 kernel, no padding or dilation effect, group 1, initializer weights: its weight dims. */
function pointwise(graph: GraphBuilder, node: OnnxNode): number[] | undefined {
  if (node.opType !== 'Conv' || intAttr(node, 'group', 1) !== 1) return undefined;
  const dims = graph.floats(node.inputs[1]!)?.dims;
  if (dims === undefined || dims[2] !== 1 || dims[3] !== 1 || !allEqual(intsAttr(node, 'pads'), 0)) return undefined;
  const autoPad = stringAttr(node, 'auto_pad', 'NOTSET');
  // With a 1x1 kernel SAME_* pads are zero for every stride; VALID and NOTSET (pads 0) are the same conv.
  return ['NOTSET', 'VALID', 'SAME_UPPER', 'SAME_LOWER'].includes(autoPad) ? dims : undefined;
}

/** `pool`'s strides when it is a 1x1 AveragePool without padding (a pure subsampling), else undefined. */
function subsampling(pool: OnnxNode): readonly number[] | undefined {
  if (pool.opType !== 'AveragePool' || !allEqual(intsAttr(pool, 'kernel_shape'), 1) || !allEqual(intsAttr(pool, 'pads'), 0)) return undefined;
  if (!['NOTSET', 'VALID'].includes(stringAttr(pool, 'auto_pad', 'NOTSET')) || intAttr(pool, 'ceil_mode', 0) !== 0) return undefined;
  return intsAttr(pool, 'strides') ?? [1, 1];
}

/** The (rows, cols) shift and bottom/right zero padding of Slice(Pad(x)) when it is a pure shift. */
function shift(graph: GraphBuilder, slice: OnnxNode, pad: OnnxNode | undefined): { by: [number, number]; pads: [number, number] } | undefined {
  if (slice.opType !== 'Slice' || pad?.opType !== 'Pad' || slice.inputs.length > 4 || stringAttr(pad, 'mode', 'constant') !== 'constant') return undefined;
  if (pad.inputs.length > 2 && pad.inputs[2] !== '') return undefined; // a non-default constant value
  const pads = graph.int64Values(pad.inputs[1]!);
  const [starts, ends, axes] = slice.inputs.slice(1).map((name) => graph.int64Values(name));
  if (pads?.length !== 8 || starts === undefined || ends === undefined || axes?.join() !== '2,3') return undefined;
  const [n0, c0, top, left, n1, c1, bottom, right] = pads as [number, number, number, number, number, number, number, number];
  const by: [number, number] = [(starts[0] as number) - top, (starts[1] as number) - left];
  if (n0 || c0 || n1 || c1 || Math.min(top, left, bottom, right, ...by) < 0 || ends.some((e) => e < TO_END)) return undefined;
  return { by, pads: [bottom, right] };
}

/** Rewrites `graph` in place; values in `keep` (the graph outputs) are never folded away. */
export function foldSubsampling(graph: GraphBuilder, keep: readonly string[]): void {
  const readers = readerCounts(graph.nodes, keep);
  const single = (value: string): boolean => readers.get(value) === 1;
  const removed = new Set<OnnxNode>();

  // Pass 1: 1x1 AveragePool -> pointwise Conv becomes a strided Conv.
  let byOutput = producers(graph.nodes);
  graph.nodes = graph.nodes.map((conv) => {
    const pool = byOutput.get(conv.inputs[0] ?? '');
    const strides = pool === undefined || !single(conv.inputs[0]!) ? undefined : subsampling(pool);
    if (strides === undefined || pointwise(graph, conv) === undefined || !allEqual(intsAttr(conv, 'strides'), 1)) return conv;
    removed.add(pool!);
    return withChanges(conv, { inputs: [pool!.inputs[0]!, ...conv.inputs.slice(1)], attributes: { strides: ints(strides), auto_pad: undefined, pads: ints([0, 0, 0, 0]) } });
  });
  graph.nodes = graph.nodes.filter((n) => !removed.has(n));

  // Pass 2: Pad -> Slice (a shift) -> strided pointwise Conv becomes a one-tap depthwise Conv that
  // shifts and subsamples, then the pointwise Conv unstrided.
  byOutput = producers(graph.nodes);
  graph.nodes = graph.nodes.flatMap((conv) => {
    const slice = byOutput.get(conv.inputs[0] ?? '');
    const dims = pointwise(graph, conv);
    if (slice === undefined || dims === undefined || !single(conv.inputs[0]!) || !single(slice.inputs[0]!)) return [conv];
    const pad = byOutput.get(slice.inputs[0]!);
    const moved = shift(graph, slice, pad);
    if (moved === undefined) return [conv];
    const channels = dims[1] as number;
    const [kh, kw] = [moved.by[0] + 1, moved.by[1] + 1];
    const taps = new Float32Array(channels * kh * kw);
    for (let c = 0; c < channels; c++) taps[(c * kh + moved.by[0]) * kw + moved.by[1]] = 1;
    const selected = graph.unique(`${conv.name}_shifted`);
    const select = graph.makeNode('Conv', [pad!.inputs[0]!, graph.constant(`${conv.name}_shiftW`, [channels, 1, kh, kw], taps)], [selected], {
      kernel_shape: ints([kh, kw]),
      strides: ints(intsAttr(conv, 'strides') ?? [1, 1]),
      group: int(channels),
      pads: ints([0, 0, moved.pads[0], moved.pads[1]]),
    });
    removed.add(slice).add(pad!);
    return [select, withChanges(conv, { inputs: [selected, ...conv.inputs.slice(1)], attributes: { strides: ints([1, 1]), auto_pad: undefined, pads: ints([0, 0, 0, 0]) } })];
  });
  graph.nodes = graph.nodes.filter((n) => !removed.has(n));
  graph.pruneInitializers();
}
