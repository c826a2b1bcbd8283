// Exports a tfjs-layers functional model to ONNX for inference on onnxruntime-node.
// Layout: the model's NHWC inputs are transposed once to NCHW, every rank-4 value inside the graph is
// NCHW (ONNX's native conv layout), and rank-4 outputs are transposed back to NHWC, so callers see the
// same tensors as the tfjs model. Weights are converted per layer class (Keras kernel layouts
// [kh,kw,in,out] -> ONNX [out,in,kh,kw]); 'same' padding is ONNX SAME_UPPER, which puts the odd extra
// pixel at the end exactly as TF's SAME does, and works for any input size.
// The converted graph then goes through exact rewrites that let onnxruntime's blocked (NCHWc) CPU
// kernels run the whole network: BatchNormalization folded into convs, NASNet's shift/subsample
// prologues folded into 1x1 convs, and channel counts padded to the NCHWc block (each pass's file says
// why). Every pass is exact up to float rounding and can be switched off in ExportOptions.
import type * as tf from '@tensorflow/tfjs-core';
import type { LayersModel, SymbolicTensor } from '@tensorflow/tfjs-layers';
import { NasnetError } from '../../core/errors.js';
import { encodeModel, type OnnxValueInfo } from './proto.js';
import { foldBatchNorm } from './fold_batch_norm.js';
import { foldSubsampling } from './fold_subsampling.js';
import { GraphBuilder, ints } from './graph.js';
import { padChannels } from './pad_channels.js';

/** The subset of a tfjs Layer the converters read. */
export interface ExportableLayer {
  readonly name: string;
  getClassName(): string;
  getConfig(): Record<string, unknown>;
  getWeights(): tf.Tensor[];
}

export interface LayerExport {
  readonly layer: ExportableLayer;
  /** ONNX value names of the layer's inputs, NCHW when rank 4. */
  readonly inputs: readonly string[];
  /** Static input shapes (NHWC, null for unknown sizes). */
  readonly inputShapes: readonly (readonly (number | null)[])[];
  /** The ONNX value name this layer must produce. */
  readonly output: string;
}

export type LayerConverter = (job: LayerExport, graph: GraphBuilder) => void;

const converters = new Map<string, LayerConverter>();

/** Registers the converter for a tfjs layer class name (custom layers register theirs). */
export function registerLayerConverter(className: string, converter: LayerConverter): void {
  converters.set(className, converter);
}

export function hasLayerConverter(className: string): boolean {
  return converters.has(className);
}

export interface ExportOptions {
  readonly opset?: number;
  /** Names for the graph inputs/outputs (default: the model's tensor names). */
  readonly inputNames?: readonly string[];
  readonly outputNames?: readonly string[];
  /** Make the spatial dimensions dynamic (default true). */
  readonly dynamicSpatial?: boolean;
  /** A fixed batch size for inputs and outputs (default: dynamic). With `dynamicSpatial: false` every
   *  shape is static, which lets onnxruntime prove that Sum inputs match and fuse Sum into the conv. */
  readonly batchSize?: number;
  /** Fold BatchNormalization into the Conv(s) before it (default true); see fold_batch_norm.ts. */
  readonly foldBatchNorm?: boolean;
  /** Fold 1x1 subsampling pools and pixel shifts into the next 1x1 Conv (default true); see fold_subsampling.ts. */
  readonly foldSubsampling?: boolean;
  /** Pad conv outputs to a multiple of this many channels (default 16, onnxruntime's NCHWc block on
   *  AVX-512 and twice the AVX2 one; 1 turns it off); see pad_channels.ts. */
  readonly channelAlignment?: number;
}

function valueName(tensor: SymbolicTensor): string {
  return `t${tensor.id}`;
}

function shapeInfo(name: string, shape: readonly (number | null)[], dynamicSpatial: boolean, batchSize: number | undefined): OnnxValueInfo {
  const dims = shape.map((dim, axis) => {
    if (axis === 0) return batchSize ?? 'batch';
    if (dim === null || (dynamicSpatial && shape.length === 4 && (axis === 1 || axis === 2))) return `${name}_d${axis}`;
    return dim;
  });
  return { name, elemType: 1, shape: dims };
}

/** The converted graph after the enabled passes: what exportLayersModel serialises. */
export interface ExportedGraph {
  readonly graph: GraphBuilder;
  readonly inputs: readonly OnnxValueInfo[];
  readonly outputs: readonly OnnxValueInfo[];
}

/** Serialises `model` as an ONNX model; throws INVALID_ARGUMENT naming any layer class without a converter. */
export function exportLayersModel(model: LayersModel, options: ExportOptions = {}): Uint8Array {
  const { graph, inputs, outputs } = exportLayersGraph(model, options);
  return encodeModel(
    { name: model.name, nodes: graph.nodes, initializers: graph.initializers, inputs, outputs },
    { opset: options.opset ?? 17, producer: 'nasnet-ts', producerVersion: '0.1.0' },
  );
}

/** Converts `model` layer by layer, then runs the passes enabled in `options`. */
export function exportLayersGraph(model: LayersModel, options: ExportOptions = {}): ExportedGraph {
  const dynamicSpatial = options.dynamicSpatial ?? true;
  checkPassOptions(options);
  const graph = new GraphBuilder();
  const inputs: OnnxValueInfo[] = [];
  const internalInputs = model.inputs.map((input, i) => {
    const external = options.inputNames?.[i] ?? input.name.replace(/[^A-Za-z0-9_]/g, '_');
    const internal = valueName(input);
    if (input.shape.length === 4) graph.node('Transpose', [external], [internal], { perm: ints([0, 3, 1, 2]) });
    else graph.node('Identity', [external], [internal]);
    inputs.push(shapeInfo(external, input.shape, dynamicSpatial, options.batchSize));
    return internal;
  });

  const internalOutputs = appendLayersModel(graph, model, internalInputs);

  const outputs: OnnxValueInfo[] = model.outputs.map((out, i) => {
    const external = options.outputNames?.[i] ?? out.name.replace(/[^A-Za-z0-9_]/g, '_');
    const internal = internalOutputs[i]!;
    if (out.shape.length === 4) graph.node('Transpose', [internal], [external], { perm: ints([0, 2, 3, 1]) });
    else graph.node('Identity', [internal], [external]);
    return shapeInfo(external, out.shape, dynamicSpatial, options.batchSize);
  });

  optimizeGraph(graph, outputs.map((o) => o.name), options);
  return { graph, inputs, outputs };
}

function checkPassOptions(options: ExportOptions): void {
  for (const field of ['batchSize', 'channelAlignment'] as const) {
    const value = options[field];
    if (value !== undefined && !(Number.isInteger(value) && value >= 1)) {
      throw new NasnetError('INVALID_ARGUMENT', `exportLayersModel: options.${field} must be a positive integer; received ${JSON.stringify(value)}`);
    }
  }
}

/**
 * Converts the layers of `model` into `graph`, its inputs read from the existing graph values `inputs`
 * (NCHW when rank 4); returns the values holding its outputs (NCHW when rank 4). Lets a graph wrap a
 * model in nodes of its own (src/onnx/detector_export.ts); `optimizeGraph` then runs the passes on the whole.
 */
export function appendLayersModel(graph: GraphBuilder, model: LayersModel, inputs: readonly string[]): string[] {
  if (inputs.length !== model.inputs.length) {
    throw new NasnetError('INVALID_ARGUMENT', `appendLayersModel: ${model.name} has ${model.inputs.length} inputs; received ${inputs.length} values`);
  }
  const unsupported = [...new Set(model.layers.map((l) => l.getClassName()).filter((c) => c !== 'InputLayer' && !converters.has(c)))];
  if (unsupported.length > 0) {
    throw new NasnetError('INVALID_ARGUMENT', `exportLayersModel: no ONNX converter for layer class(es) ${unsupported.join(', ')}`);
  }
  const names = new Map<number, string>(model.inputs.map((input, i) => [input.id, inputs[i]!]));

  for (const layer of model.layers) {
    if (layer.getClassName() === 'InputLayer') continue;
    if (layer.inboundNodes.length !== 1) {
      throw new NasnetError('INVALID_ARGUMENT', `exportLayersModel: layer ${layer.name} is applied ${layer.inboundNodes.length} times; shared layers are not supported`);
    }
    const node = layer.inboundNodes[0]!;
    if (node.outputTensors.length !== 1) {
      throw new NasnetError('INVALID_ARGUMENT', `exportLayersModel: layer ${layer.name} has ${node.outputTensors.length} outputs; one is supported`);
    }
    const output = valueName(node.outputTensors[0]!);
    const converter = converters.get(layer.getClassName()) as LayerConverter;
    converter(
      {
        layer: layer as unknown as ExportableLayer,
        inputs: node.inputTensors.map((t) => names.get(t.id) ?? valueName(t)),
        inputShapes: node.inputTensors.map((t) => t.shape),
        output,
      },
      graph,
    );
    names.set(node.outputTensors[0]!.id, output);
  }
  return model.outputs.map((out) => names.get(out.id) ?? valueName(out));
}

/** Runs the exact rewrites enabled in `options` on a complete graph; the values `outputs` keep their shapes. */
export function optimizeGraph(graph: GraphBuilder, outputs: readonly string[], options: ExportOptions = {}): void {
  checkPassOptions(options);
  if (options.foldBatchNorm ?? true) foldBatchNorm(graph, outputs);
  if (options.foldSubsampling ?? true) foldSubsampling(graph, outputs);
  const alignment = options.channelAlignment ?? 16;
  if (alignment > 1) padChannels(graph, outputs, alignment);
}
