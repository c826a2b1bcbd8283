// Pads channel counts to a multiple of onnxruntime's NCHWc block (16 floats with AVX-512, 8 with AVX2).
// onnxruntime's NCHWc kernels (its fast x86 conv/pool path) take a depthwise conv only when its channel
// count is a multiple of the block, and a channel Concat only when every input is; NASNet-A Mobile's
// 11/22/44/88-channel cells fail both, so ORT falls back to its slow grouped conv and reorders tensors
// between layouts around every such node (onnxruntime/core/optimizer/nchwc_transformer.cc, TransformConv
// and TransformConcat). Here every Conv writes a multiple of `alignment` channels, the extra channels
// exactly zero (zero weights and bias), and each value carries a channel layout: its padded width and the
// position of each real channel (a Concat of two padded values interleaves real and zero channels).
// Zero channels stay zero through Relu, pools, Pad/Slice, Sum and BatchNormalization (written with
// gamma = beta = mean = 0, var = 1 there); consumers scatter their weights to the layout's positions.
// Ops outside that list, and the graph outputs, get the real channels back with one Gather each.
// A Sum needs one layout on all inputs: when a Concat's interleaved layout meets conv outputs (NASNet's
// factorized-reduction `p` added to branches of `h`), the convs at the root of the other inputs are asked
// to write that layout instead and the pass runs again. A zero Pad that no conv absorbs (NASNet's
// reduction pad before MaxPool/AveragePool) becomes a 1x1 identity depthwise Conv with the same pads,
// which keeps the tensor in the blocked layout instead of a round trip through NCHW.
import type { OnnxNode } from './proto.js';
import { int, intAttr, ints, producers, stringAttr, withChanges, type GraphBuilder } from './graph.js';

/** Channel layout of a value on axis 1: `positions[c]` is where real channel c sits among `width`. */
export interface ChannelLayout {
  readonly width: number;
  readonly positions: readonly number[];
}

const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);
const compactLayout = (channels: number): ChannelLayout => ({ width: channels, positions: range(channels) });
const isCompact = (layout: ChannelLayout): boolean => layout.width === layout.positions.length;
const sameLayout = (a: ChannelLayout, b: ChannelLayout): boolean => a.width === b.width && a.positions.join() === b.positions.join();
const roundUp = (n: number, step: number): number => Math.ceil(n / step) * step;

const ZERO_PRESERVING = new Set(['Relu', 'Identity', 'AveragePool', 'MaxPool', 'GlobalAveragePool', 'GlobalMaxPool']);

/** Scatters the consecutive runs of `size` floats from `data` to run indices `target(i)` of a new array. */
function scatter(data: Float32Array, size: number, total: number, target: (run: number) => number): Float32Array {
  const out = new Float32Array(total * size);
  const runs = data.length / size;
  for (let run = 0; run < runs; run++) {
    const to = target(run) * size;
    for (let k = 0; k < size; k++) out[to + k] = data[run * size + k] as number;
  }
  return out;
}

type Rewrite = { node: OnnxNode; layout?: ChannelLayout; keepsOrigin?: boolean };

class ChannelPadder {
  private readonly layouts = new Map<string, ChannelLayout>();
  private readonly compacted = new Map<string, string>();
  /** For values whose layout a conv chose freely: that conv's output (layout-keeping ops pass it on). */
  private readonly origins = new Map<string, string>();
  private readonly byOutput: Map<string, OnnxNode>;
  private readonly readers: Map<string, OnnxNode[]>;
  readonly out: OnnxNode[] = [];
  /** Set when a Sum asked a conv for a layout it did not write this round. */
  requestedMore = false;

  constructor(
    private readonly graph: GraphBuilder,
    private readonly alignment: number,
    /** Output layouts asked of convs (by output value) so that Sum inputs agree. */
    private readonly requests: Map<string, ChannelLayout>,
    /** Only work out the layouts (the rounds before the last build no weights). */
    private readonly dry: boolean,
  ) {
    this.byOutput = producers(graph.nodes);
    this.readers = new Map();
    for (const node of graph.nodes) for (const name of node.inputs) this.readers.set(name, [...(this.readers.get(name) ?? []), node]);
  }

  /** The value with its real channels only (a Gather, emitted once per value, when it is padded). */
  compact(value: string): string {
    const layout = this.layouts.get(value);
    if (layout === undefined || isCompact(layout)) return value;
    let name = this.compacted.get(value);
    if (name === undefined) {
      name = this.graph.unique(`${value}_compact`);
      const indices = this.graph.int64s(`${value}_channels`, layout.positions);
      this.out.push(this.graph.makeNode('Gather', [value, indices], [name], { axis: int(1) }));
      this.layouts.set(name, compactLayout(layout.positions.length));
      this.compacted.set(value, name);
    }
    return name;
  }

  /** Emits `node` rewritten for padded inputs; graph outputs are compacted under their own name. */
  visit(node: OnnxNode, graphOutputs: ReadonlySet<string>): void {
    const { node: rewritten, layout, keepsOrigin } = this.rewrite(node);
    const output = rewritten.outputs[0];
    const origin = keepsOrigin === true ? this.origins.get(node.inputs[0]!) : undefined;
    if (origin !== undefined && output !== undefined) this.origins.set(output, origin);
    if (layout === undefined || output === undefined) {
      this.out.push(rewritten);
      return;
    }
    if (!graphOutputs.has(output) || isCompact(layout)) {
      this.layouts.set(output, layout);
      this.out.push(rewritten);
      return;
    }
    const padded = this.graph.unique(`${output}_padded`);
    this.layouts.set(padded, layout);
    this.out.push(withChanges(rewritten, { outputs: [padded, ...rewritten.outputs.slice(1)] }));
    const indices = this.graph.int64s(`${output}_channels`, layout.positions);
    this.out.push(this.graph.makeNode('Gather', [padded, indices], [output], { axis: int(1) }));
  }

  private rewrite(node: OnnxNode): Rewrite {
    const first = this.layouts.get(node.inputs[0] ?? '');
    const keep = { node, layout: first, keepsOrigin: true };
    switch (node.opType) {
      case 'Conv':
        return this.conv(node) ?? this.generic(node);
      case 'BatchNormalization':
        return this.batchNorm(node) ?? this.generic(node);
      case 'Gemm':
        return this.gemm(node) ?? this.generic(node);
      case 'Pad':
        return this.padKeepsChannels(node) ? (this.padAsConv(node, first) ?? keep) : this.generic(node);
      case 'Slice':
        return this.sliceKeepsChannels(node) ? keep : this.generic(node);
      case 'Flatten': {
        const pooled = ['GlobalAveragePool', 'GlobalMaxPool'].includes(this.byOutput.get(node.inputs[0]!)?.opType ?? '');
        return pooled && intAttr(node, 'axis', 1) === 1 ? { node, layout: first } : this.generic(node);
      }
      case 'Sum':
        return this.elementwise(node);
      case 'Concat':
        return this.concat(node);
      default:
        // One output only: MaxPool's optional Indices would index the padded tensor.
        return ZERO_PRESERVING.has(node.opType) && node.inputs.length === 1 && node.outputs.length === 1 ? keep : this.generic(node);
    }
  }

  private generic(node: OnnxNode): Rewrite {
    return { node: withChanges(node, { inputs: node.inputs.map((name) => (name === '' ? name : this.compact(name))) }) };
  }

  private conv(node: OnnxNode): Rewrite | undefined {
    const dims = this.graph.floatDims(node.inputs[1]!);
    if (dims?.length !== 4 || (node.inputs[2] !== undefined && this.graph.floatDims(node.inputs[2]) === undefined)) return undefined;
    const [outChannels, perGroup, kh, kw] = dims as [number, number, number, number];
    const group = intAttr(node, 'group', 1);
    const inChannels = perGroup * group;
    const input = this.layouts.get(node.inputs[0]!) ?? compactLayout(inChannels);
    if (input.positions.length !== inChannels) return undefined;
    const taps = kh * kw;
    // Read lazily: the dry rounds and unchanged convs need only the shapes.
    const weight = (): Float32Array => this.graph.floats(node.inputs[1]!)!.data;
    const bias = (): Float32Array => (node.inputs[2] === undefined ? new Float32Array(outChannels) : this.graph.floats(node.inputs[2])!.data);

    if (group === 1) {
      this.origins.set(node.outputs[0]!, node.outputs[0]!);
      const requested = this.requests.get(node.outputs[0]!);
      const layout = requested?.positions.length === outChannels ? requested : { width: roundUp(outChannels, this.alignment), positions: range(outChannels) };
      if ((isCompact(input) && isCompact(layout)) || this.dry) return { node, layout };
      // Weight runs of `taps` floats indexed o*in + i move to out[o]*input.width + in[i].
      const target = (run: number): number => layout.positions[Math.floor(run / inChannels)]! * input.width + input.positions[run % inChannels]!;
      const w = scatter(weight(), taps, layout.width * input.width, target);
      const b = scatter(bias(), 1, layout.width, (o) => layout.positions[o]!);
      return { node: this.withWeights(node, [layout.width, input.width, kh, kw], w, b), layout };
    }
    if (perGroup !== 1 || group !== inChannels || outChannels % inChannels !== 0) return undefined;
    // Depthwise with multiplier m: output channel c*m + j reads input channel c.
    const m = outChannels / inChannels;
    const target = (run: number): number => input.positions[Math.floor(run / m)]! * m + (run % m);
    const layout = { width: input.width * m, positions: range(outChannels).map(target) };
    if (isCompact(input) || this.dry) return { node, layout };
    const rewritten = this.withWeights(node, [layout.width, 1, kh, kw], scatter(weight(), taps, layout.width, target), scatter(bias(), 1, layout.width, target));
    return { node: withChanges(rewritten, { attributes: { group: int(input.width) } }), layout };
  }

  private withWeights(node: OnnxNode, dims: number[], weight: Float32Array, bias: Float32Array): OnnxNode {
    const w = this.graph.constant(`${node.name}_alignedW`, dims, weight);
    const b = this.graph.constant(`${node.name}_alignedB`, [dims[0]!], bias);
    return withChanges(node, { inputs: [node.inputs[0]!, w, b] });
  }

  private batchNorm(node: OnnxNode): Rewrite | undefined {
    const params = node.inputs.slice(1).map((name) => this.graph.floats(name)?.data);
    if (params.length !== 4 || params.some((p) => p === undefined) || node.outputs.length !== 1) return undefined;
    const input = this.layouts.get(node.inputs[0]!) ?? compactLayout(params[0]!.length);
    if (input.positions.length !== params[0]!.length) return undefined;
    if (isCompact(input)) return { node, layout: input, keepsOrigin: true };
    const names = params.map((p, k) => {
      const data = new Float32Array(input.width).fill(k === 3 ? 1 : 0); // padded channels: var 1, the rest 0
      input.positions.forEach((pos, c) => (data[pos] = p![c] as number));
      return this.graph.constant(`${node.name}_aligned${k}`, [input.width], data);
    });
    return { node: withChanges(node, { inputs: [node.inputs[0]!, ...names] }), layout: input, keepsOrigin: true };
  }

  private gemm(node: OnnxNode): Rewrite | undefined {
    const input = this.layouts.get(node.inputs[0]!);
    const b = this.graph.floats(node.inputs[1]!);
    if (input === undefined || isCompact(input) || b === undefined || intAttr(node, 'transA', 0) !== 0) return undefined;
    const transB = intAttr(node, 'transB', 0) === 1;
    const [rows, cols] = b.dims as [number, number];
    if ((transB ? cols : rows) !== input.positions.length) return undefined;
    const units = transB ? rows : cols;
    const padded = transB
      ? scatter(b.data, 1, rows * input.width, (i) => Math.floor(i / cols) * input.width + input.positions[i % cols]!)
      : scatter(b.data, cols, input.width, (k) => input.positions[k]!);
    const weight = this.graph.constant(`${node.name}_alignedB`, transB ? [rows, input.width] : [input.width, cols], padded);
    return { node: withChanges(node, { inputs: [node.inputs[0]!, weight, ...node.inputs.slice(2)] }), layout: compactLayout(units) };
  }

  private padKeepsChannels(node: OnnxNode): boolean {
    const pads = this.graph.int64Values(node.inputs[1] ?? '');
    const value = node.inputs[2] ?? '';
    const zeroFill = stringAttr(node, 'mode', 'constant') !== 'constant' || value === '' || this.graph.floats(value)?.data.every((v) => v === 0) === true;
    return pads?.length === 8 && pads[0] === 0 && pads[1] === 0 && pads[4] === 0 && pads[5] === 0 && zeroFill;
  }

  /** A zero Pad of an aligned value that some non-Conv reads, as an identity depthwise Conv with pads. */
  private padAsConv(node: OnnxNode, input: ChannelLayout | undefined): Rewrite | undefined {
    const pads = this.graph.int64Values(node.inputs[1]!)!;
    const readers = this.readers.get(node.outputs[0]!) ?? [];
    const spatial = [pads[2]!, pads[3]!, pads[6]!, pads[7]!];
    if (input === undefined || input.width % this.alignment !== 0 || stringAttr(node, 'mode', 'constant') !== 'constant') return undefined;
    if (spatial.some((p) => p < 0) || readers.every((r) => r.opType === 'Conv')) return undefined;
    const weight = this.graph.constant(`${node.name}_identityW`, [input.width, 1, 1, 1], new Float32Array(input.width).fill(1));
    const conv = this.graph.makeNode('Conv', [node.inputs[0]!, weight], node.outputs, { kernel_shape: ints([1, 1]), group: int(input.width), pads: ints(spatial) });
    return { node: conv, layout: input, keepsOrigin: true };
  }

  private sliceKeepsChannels(node: OnnxNode): boolean {
    const axes = this.graph.int64Values(node.inputs[3] ?? '');
    return axes !== undefined && axes.every((a) => a === 2 || a === 3 || a === -1 || a === -2);
  }

  private elementwise(node: OnnxNode): Rewrite {
    const layouts = node.inputs.map((name) => this.layouts.get(name));
    const [first] = layouts;
    if (first !== undefined && layouts.every((l) => l !== undefined && sameLayout(l, first))) return { node, layout: first };
    // Ask the convs behind the freely laid out inputs for the layout of a fixed one, else of one already
    // asked for, else of the first.
    const rank = (i: number): number => {
      const origin = this.origins.get(node.inputs[i]!);
      return origin === undefined ? 2 : this.requests.has(origin) ? 1 : 0;
    };
    const best = layouts.reduce((b, _, i) => (rank(i) > rank(b) ? i : b), 0);
    const target = layouts[best];
    if (target !== undefined && layouts.every((l) => l?.positions.length === target.positions.length)) {
      const origins = node.inputs.filter((_, i) => !sameLayout(layouts[i]!, target)).map((name) => this.origins.get(name));
      const fresh = origins.filter((o) => o !== undefined && !this.requests.has(o)) as string[];
      if (fresh.length === origins.length) {
        for (const origin of fresh) this.requests.set(origin, target);
        this.requestedMore = true;
      }
    }
    const counts = layouts.map((l) => l?.positions.length);
    const known = counts.find((c) => c !== undefined);
    return { ...this.generic(node), layout: known === undefined ? undefined : compactLayout(known) };
  }

  private concat(node: OnnxNode): Rewrite {
    const layouts = node.inputs.map((name) => this.layouts.get(name));
    if (intAttr(node, 'axis', 0) !== 1) return this.elementwise(node);
    if (layouts.some((l) => l === undefined)) return this.generic(node);
    let offset = 0;
    const positions = layouts.flatMap((l) => {
      const shifted = l!.positions.map((p) => p + offset);
      offset += l!.width;
      return shifted;
    });
    return { node, layout: { width: offset, positions } };
  }
}

/** Rewrites `graph` in place so that convs write multiples of `alignment` channels; outputs keep their shapes. */
export function padChannels(graph: GraphBuilder, graphOutputs: readonly string[], alignment: number): void {
  const outputs = new Set(graphOutputs);
  const requests = new Map<string, ChannelLayout>();
  // Each dry round settles at least one conv's layout (NASNet needs two); the cap only bounds odd graphs,
  // whose remaining mismatches are compacted, which is always correct. The last round builds the weights.
  for (let round = 1; round < 4; round++) {
    const dry = new ChannelPadder(graph, alignment, requests, true);
    for (const node of graph.nodes) dry.visit(node, outputs);
    if (!dry.requestedMore) break;
  }
  const padder = new ChannelPadder(graph, alignment, requests, false);
  for (const node of graph.nodes) padder.visit(node, outputs);
  graph.nodes = padder.out;
  graph.pruneInitializers();
}
