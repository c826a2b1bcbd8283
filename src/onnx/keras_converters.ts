// ONNX converters for the tfjs-layers (Keras) layer classes our models use. Inside the exported graph
// rank-4 values are NCHW (see export_layers.ts), so channel axes are 1 and Keras kernels are permuted.
import { NasnetError } from '../../core/errors.js';
import { registerLayerConverter, type LayerExport } from './export_layers.js';
import { float, int, ints, str, type GraphBuilder } from './graph.js';
import type { AttributeValue } from './proto.js';

type Pair = [number, number];

function pair(value: unknown, fallback: number): Pair {
  if (Array.isArray(value)) return [Number(value[0]), Number(value[1] ?? value[0])];
  if (typeof value === 'number') return [value, value];
  return [fallback, fallback];
}

/** Row-major permutation of `data` laid out as `shape` by `perm`. */
export function permute(data: Float32Array, shape: readonly number[], perm: readonly number[]): Float32Array {
  const rank = shape.length;
  const outShape = perm.map((axis) => shape[axis] as number);
  const inStrides = new Array<number>(rank).fill(1);
  for (let axis = rank - 2; axis >= 0; axis--) inStrides[axis] = (inStrides[axis + 1] as number) * (shape[axis + 1] as number);
  const strides = perm.map((axis) => inStrides[axis] as number);
  const out = new Float32Array(data.length);
  const index = new Array<number>(rank).fill(0);
  for (let o = 0; o < out.length; o++) {
    let offset = 0;
    for (let axis = 0; axis < rank; axis++) offset += (index[axis] as number) * (strides[axis] as number);
    out[o] = data[offset] as number;
    for (let axis = rank - 1; axis >= 0; axis--) {
      index[axis] = (index[axis] as number) + 1;
      if ((index[axis] as number) < (outShape[axis] as number)) break;
      index[axis] = 0;
    }
  }
  return out;
}

function weights(job: LayerExport): { shape: number[]; data: Float32Array }[] {
  return job.layer.getWeights().map((w) => ({ shape: w.shape, data: w.dataSync() as Float32Array }));
}

function activationOp(name: unknown): string | undefined {
  switch (name ?? 'linear') {
    case 'linear':
      return undefined;
    case 'relu':
      return 'Relu';
    case 'sigmoid':
      return 'Sigmoid';
    case 'tanh':
      return 'Tanh';
    case 'softmax':
      return 'Softmax';
    default:
      throw new NasnetError('INVALID_ARGUMENT', `ONNX export: activation ${JSON.stringify(name)} is not supported`);
  }
}

/** Emits `op` into `job.output`, followed by the layer's activation when it has one. */
function withActivation(job: LayerExport, graph: GraphBuilder, emit: (out: string) => void): void {
  const act = activationOp(job.layer.getConfig().activation);
  if (act === undefined) return emit(job.output);
  const pre = graph.unique(`${job.layer.name}_pre`);
  emit(pre);
  graph.node(act, [pre], [job.output], act === 'Softmax' ? { axis: int(-1) } : undefined);
}

/**
 * TF 'same' padding. SAME_UPPER reproduces it for any input size, but onnxruntime rejects it on dilated
 * convs; TF only dilates with stride 1, where the total padding (k-1)*d does not depend on the input size.
 */
function samePadding(kernel: Pair, strides: Pair, dilations: Pair): Record<string, AttributeValue> {
  if (dilations[0] === 1 && dilations[1] === 1) return { auto_pad: str('SAME_UPPER') };
  if (strides[0] !== 1 || strides[1] !== 1) throw new NasnetError('INVALID_ARGUMENT', 'ONNX export: dilated convolution with stride > 1');
  const total = kernel.map((k, axis) => (k - 1) * (dilations[axis] as number));
  const before = total.map((t) => Math.floor(t / 2));
  return { pads: ints([before[0]!, before[1]!, total[0]! - before[0]!, total[1]! - before[1]!]) };
}

function convAttributes(config: Record<string, unknown>, kernel: Pair, group: number): Record<string, AttributeValue> {
  const strides = pair(config.strides, 1);
  const dilations = pair(config.dilationRate, 1);
  return {
    kernel_shape: ints(kernel),
    strides: ints(strides),
    dilations: ints(dilations),
    group: int(group),
    ...(config.padding === 'same' ? samePadding(kernel, strides, dilations) : { pads: ints([0, 0, 0, 0]) }),
  };
}

function convolution(job: LayerExport, graph: GraphBuilder): void {
  const [kernel, bias] = weights(job);
  const [kh, kw, cin, cout] = kernel!.shape as [number, number, number, number];
  const w = graph.constant(`${job.layer.name}_W`, [cout, cin, kh, kw], permute(kernel!.data, kernel!.shape, [3, 2, 0, 1]));
  const inputs = [job.inputs[0]!, w, ...(bias ? [graph.constant(`${job.layer.name}_B`, [cout], bias.data)] : [])];
  withActivation(job, graph, (out) => graph.node('Conv', inputs, [out], convAttributes(job.layer.getConfig(), [kh, kw], 1)));
}

/** Keras depthwise kernel [kh,kw,in,mult] -> ONNX grouped-conv weight [in*mult,1,kh,kw]. */
function depthwiseWeight(graph: GraphBuilder, name: string, kernel: { shape: number[]; data: Float32Array }): string {
  const [kh, kw, cin, mult] = kernel.shape as [number, number, number, number];
  return graph.constant(name, [cin * mult, 1, kh, kw], permute(kernel.data, kernel.shape, [2, 3, 0, 1]));
}

function depthwise(job: LayerExport, graph: GraphBuilder): void {
  const [kernel, bias] = weights(job);
  const [kh, kw, cin, mult] = kernel!.shape as [number, number, number, number];
  const inputs = [job.inputs[0]!, depthwiseWeight(graph, `${job.layer.name}_W`, kernel!)];
  if (bias) inputs.push(graph.constant(`${job.layer.name}_B`, [cin * mult], bias.data));
  withActivation(job, graph, (out) => graph.node('Conv', inputs, [out], convAttributes(job.layer.getConfig(), [kh, kw], cin)));
}

function separable(job: LayerExport, graph: GraphBuilder): void {
  const [dw, pw, bias] = weights(job);
  const [kh, kw, cin] = dw!.shape as [number, number, number, number];
  const [, , mid, cout] = pw!.shape as [number, number, number, number];
  const config = job.layer.getConfig();
  const depthOut = graph.unique(`${job.layer.name}_depthwise`);
  graph.node('Conv', [job.inputs[0]!, depthwiseWeight(graph, `${job.layer.name}_DW`, dw!)], [depthOut], convAttributes(config, [kh, kw], cin));
  const pwName = graph.constant(`${job.layer.name}_PW`, [cout, mid, 1, 1], permute(pw!.data, pw!.shape, [3, 2, 0, 1]));
  const inputs = [depthOut, pwName, ...(bias ? [graph.constant(`${job.layer.name}_B`, [cout], bias.data)] : [])];
  withActivation(job, graph, (out) => graph.node('Conv', inputs, [out], { kernel_shape: ints([1, 1]) }));
}

function batchNorm(job: LayerExport, graph: GraphBuilder): void {
  const config = job.layer.getConfig();
  const axis = Number(config.axis ?? -1);
  if (axis !== -1 && axis !== job.inputShapes[0]!.length - 1) {
    throw new NasnetError('INVALID_ARGUMENT', `ONNX export: BatchNormalization ${job.layer.name} on axis ${axis}; only the channel axis is supported`);
  }
  const list = weights(job);
  const channels = list[list.length - 1]!.shape[0] as number;
  let next = 0;
  const take = (present: boolean, fill: number, suffix: string): string => {
    const data = present ? list[next++]!.data : new Float32Array(channels).fill(fill);
    return graph.constant(`${job.layer.name}_${suffix}`, [channels], data);
  };
  const gamma = take(config.scale !== false, 1, 'gamma');
  const beta = take(config.center !== false, 0, 'beta');
  const mean = take(true, 0, 'mean');
  const variance = take(true, 1, 'var');
  graph.node('BatchNormalization', [job.inputs[0]!, gamma, beta, mean, variance], [job.output], { epsilon: float(Number(config.epsilon ?? 1e-3)) });
}

function pool(op: 'AveragePool' | 'MaxPool') {
  return (job: LayerExport, graph: GraphBuilder): void => {
    const config = job.layer.getConfig();
    const size = pair(config.poolSize, 2);
    const strides = pair(config.strides ?? config.poolSize, 2);
    graph.node(op, [job.inputs[0]!], [job.output], {
      kernel_shape: ints(size),
      strides: ints(strides),
      // TF's 'same' average excludes the padded cells from the count; so does count_include_pad=0.
      ...(config.padding === 'same' ? { auto_pad: str('SAME_UPPER') } : { pads: ints([0, 0, 0, 0]) }),
      ...(op === 'AveragePool' ? { count_include_pad: int(0) } : {}),
    });
  };
}

function spatialPairs(value: unknown): [Pair, Pair] {
  if (typeof value === 'number') return [[value, value], [value, value]];
  const [rows, cols] = value as [unknown, unknown];
  return [pair(rows, 0), pair(cols, 0)];
}

function zeroPadding(job: LayerExport, graph: GraphBuilder): void {
  const [[top, bottom], [left, right]] = spatialPairs(job.layer.getConfig().padding);
  const pads = graph.int64s(`${job.layer.name}_pads`, [0, 0, top, left, 0, 0, bottom, right]);
  graph.node('Pad', [job.inputs[0]!, pads], [job.output], { mode: str('constant') });
}

function cropping(job: LayerExport, graph: GraphBuilder): void {
  const [[top, bottom], [left, right]] = spatialPairs(job.layer.getConfig().cropping);
  // Negative ends count from the end; INT64 max stands for "to the end" when nothing is cropped there.
  const end = (crop: number) => (crop === 0 ? Number.MAX_SAFE_INTEGER : -crop);
  const starts = graph.int64s(`${job.layer.name}_starts`, [top, left]);
  const ends = graph.int64s(`${job.layer.name}_ends`, [end(bottom), end(right)]);
  const axes = graph.int64s(`${job.layer.name}_axes`, [2, 3]);
  graph.node('Slice', [job.inputs[0]!, starts, ends, axes], [job.output]);
}

function dense(job: LayerExport, graph: GraphBuilder): void {
  if (job.inputShapes[0]!.length !== 2) throw new NasnetError('INVALID_ARGUMENT', `ONNX export: Dense ${job.layer.name} needs a rank-2 input`);
  const [kernel, bias] = weights(job);
  const [cin, cout] = kernel!.shape as [number, number];
  const inputs = [job.inputs[0]!, graph.constant(`${job.layer.name}_W`, [cin, cout], kernel!.data)];
  if (bias) inputs.push(graph.constant(`${job.layer.name}_B`, [cout], bias.data));
  withActivation(job, graph, (out) => graph.node('Gemm', inputs, [out]));
}

function channelAxis(job: LayerExport, axis: number): number {
  const rank = job.inputShapes[0]!.length;
  const positive = axis < 0 ? rank + axis : axis;
  if (rank !== 4) return positive;
  return [0, 2, 3, 1][positive] as number; // NHWC axis -> NCHW axis
}

registerLayerConverter('Conv2D', convolution);
registerLayerConverter('DepthwiseConv2D', depthwise);
registerLayerConverter('SeparableConv2D', separable);
registerLayerConverter('BatchNormalization', batchNorm);
registerLayerConverter('AveragePooling2D', pool('AveragePool'));
registerLayerConverter('MaxPooling2D', pool('MaxPool'));
registerLayerConverter('ZeroPadding2D', zeroPadding);
registerLayerConverter('Cropping2D', cropping);
registerLayerConverter('Dense', dense);
registerLayerConverter('Activation', (job, graph) => withActivation(job, graph, (out) => graph.node('Identity', [job.inputs[0]!], [out])));
registerLayerConverter('ReLU', (job, graph) => graph.node('Relu', [job.inputs[0]!], [job.output]));
registerLayerConverter('Dropout', (job, graph) => graph.node('Identity', [job.inputs[0]!], [job.output]));
registerLayerConverter('Add', (job, graph) => graph.node('Sum', job.inputs, [job.output]));
registerLayerConverter('Concatenate', (job, graph) =>
  graph.node('Concat', job.inputs, [job.output], { axis: int(channelAxis(job, Number(job.layer.getConfig().axis ?? -1))) }),
);
registerLayerConverter('GlobalAveragePooling2D', (job, graph) => {
  const pooled = graph.unique(`${job.layer.name}_pooled`);
  graph.node('GlobalAveragePool', [job.inputs[0]!], [pooled]);
  graph.node('Flatten', [pooled], [job.output], { axis: int(1) });
});
registerLayerConverter('Flatten', (job, graph) => {
  const flatInput = job.inputShapes[0]!.length === 4 ? graph.unique(`${job.layer.name}_nhwc`) : job.inputs[0]!;
  if (flatInput !== job.inputs[0]) graph.node('Transpose', [job.inputs[0]!], [flatInput], { perm: ints([0, 2, 3, 1]) });
  graph.node('Flatten', [flatInput], [job.output], { axis: int(1) });
});

// Our own layers (cells/): the dilated conv is a plain dilated Conv with symmetric 'same' padding, and
// ScheduledDropPath is the identity at inference.
registerLayerConverter('DilatedConv2D', (job, graph) => {
  const config = job.layer.getConfig();
  const [kernel] = weights(job);
  const [kh, kw, cin, cout] = kernel!.shape as [number, number, number, number];
  const dilation = Number(config.dilation ?? 2);
  const half = (dilation * (kh - 1)) / 2;
  const w = graph.constant(`${job.layer.name}_W`, [cout, cin, kh, kw], permute(kernel!.data, kernel!.shape, [3, 2, 0, 1]));
  graph.node('Conv', [job.inputs[0]!, w], [job.output], {
    kernel_shape: ints([kh, kw]),
    dilations: ints([dilation, dilation]),
    pads: ints([half, half, half, half]),
  });
});
registerLayerConverter('ScheduledDropPath', (job, graph) => graph.node('Identity', [job.inputs[0]!], [job.output]));
registerLayerConverter('TensorCopy', (job, graph) => graph.node('Identity', [job.inputs[0]!], [job.output]));
