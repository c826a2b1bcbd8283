// Static int8 quantization of an exported graph in the QDQ format: QuantizeLinear/DequantizeLinear pairs
// around every Conv that onnxruntime's QDQ transformer turns into QLinearConv (u8 activations x s8
// weights: the form its x86 kernels run with AVX512-VNNI / AVX-VNNI `vpdpbusd` where the CPU has it).
//   weights      int8, symmetric, per output channel: scale_c = max|w_c| / 127, zero point 0
//   bias         int32, scale = scale_x * scale_c (what QLinearConv requires), zero point 0
//   activations  uint8, asymmetric, per tensor, from the calibrated [min, max] (widened to hold 0, so that
//                zero padding and the padded zero channels of pad_channels.ts stay exact)
// Every Conv's data input and its output are quantized. A Relu that is the only reader of a Conv is
// folded into the Conv's output quantizer: with zero point 0 QuantizeLinear clamps negatives to 0, which
// is Relu, so the pair becomes Conv -> Q -> DQ and onnxruntime can keep the chain in int8. Ops between
// convs (Sum, Concat, pools, Relu of a cell input) stay float32 on the dequantized values.
// Calibration: min/max over the calibration set (no percentile or entropy clipping), the same rule as
// onnxruntime.quantization's CalibrationMethod.MinMax. The calibration model is the float graph with
// every tensor to be quantized added as an output (calibrationModel); the caller runs it on its images.
import { NasnetError } from '../../core/errors.js';
import { dropIdentities, int, producers, readerCounts, type GraphBuilder } from './graph.js';
import { DataType, encodeModel, type OnnxNode, type OnnxValueInfo } from './proto.js';

/** Calibrated range of one activation tensor. */
export interface ActivationRange {
  readonly min: number;
  readonly max: number;
}

/**
 * Ops whose data inputs and outputs get quantizers, so that onnxruntime runs them on uint8 (QLinearConv,
 * QLinearAdd, QLinearConcat, QLinearGlobalAveragePool; MaxPool between a DQ and a Q of the same parameters
 * runs on uint8 as is). Two-input Sums are rewritten as Add first. AveragePool is left float, but
 * onnxruntime fuses DQ -> AveragePool -> Q into its (slow) QLinearAveragePool by itself. Without Add and
 * Concat quantized, onnxruntime put ~100 Transposes around the NHWC QLinearConvs and ran 1.1-1.5x slower
 * (BENCHMARKS.md, int8).
 */
const QUANTIZED_OPS = new Set(['Conv', 'Add', 'Concat', 'MaxPool', 'Relu', 'GlobalAveragePool']);
/** Ops whose output takes its input's quantization parameters (max and pad commute with them exactly). */
const SAME_PARAMS = new Set(['MaxPool']);

/** Which tensors get quantizers: the data inputs and outputs of QUANTIZED_OPS (a Relu folded into its Conv). */
export interface QuantizationPlan {
  /** Float tensors whose ranges calibration must measure, each once. */
  readonly values: readonly string[];
  /** Conv output -> the Relu node folded into it. */
  readonly foldedRelus: ReadonlyMap<string, OnnxNode>;
  /** Output -> the input whose parameters it shares (SAME_PARAMS). */
  readonly sharedParams: ReadonlyMap<string, string>;
}

const isFloatConv = (graph: GraphBuilder, node: OnnxNode): boolean => node.opType === 'Conv' && graph.floatDims(node.inputs[1] ?? '') !== undefined;

/**
 * Plans the quantizers of `graph`. Drops the Identity nodes that the BatchNorm fold leaves between a Conv
 * and its Relu first (their readers read the source instead; graph outputs keep theirs).
 */
export function planQuantization(graph: GraphBuilder, graphOutputs: readonly string[]): QuantizationPlan {
  dropIdentities(graph, graphOutputs);
  graph.nodes = graph.nodes.map((node) => (node.opType === 'Sum' && node.inputs.length === 2 ? { ...node, opType: 'Add' } : node));
  const readers = readerCounts(graph.nodes, graphOutputs);
  const byOutput = producers(graph.nodes);
  const foldedRelus = new Map<string, OnnxNode>();
  for (const node of graph.nodes) {
    if (node.opType !== 'Relu') continue;
    const source = byOutput.get(node.inputs[0]!);
    if (source !== undefined && isFloatConv(graph, source) && readers.get(node.inputs[0]!) === 1) foldedRelus.set(node.inputs[0]!, node);
  }
  const values = new Set<string>();
  const sharedParams = new Map<string, string>();
  for (const node of graph.nodes) {
    if (!isQuantized(graph, node) || isFoldedRelu(foldedRelus, node)) continue;
    const data = node.opType === 'Conv' ? [node.inputs[0]!] : node.inputs.filter((name) => graph.floatDims(name) === undefined);
    for (const input of data) values.add(input);
    const output = foldedRelus.get(node.outputs[0]!)?.outputs[0] ?? node.outputs[0]!;
    if (SAME_PARAMS.has(node.opType)) sharedParams.set(output, node.inputs[0]!);
    else values.add(output);
  }
  // a folded Relu's input is never quantized itself: its Conv's output quantizer is the Relu's.
  // Inputs without a calibrated range are impossible: every data input of a quantized op is in `values`.
  for (const conv of foldedRelus.keys()) values.delete(conv);
  return { values: [...values], foldedRelus, sharedParams };
}

const isQuantized = (graph: GraphBuilder, node: OnnxNode): boolean => (node.opType === 'Conv' ? isFloatConv(graph, node) : QUANTIZED_OPS.has(node.opType));
/** True for a Relu folded into its Conv. */
const isFoldedRelu = (foldedRelus: ReadonlyMap<string, OnnxNode>, node: OnnxNode): boolean => node.opType === 'Relu' && foldedRelus.get(node.inputs[0]!) === node;

/** The float model with every planned tensor added as a graph output ([N,C,H,W], dims named). */
export function calibrationModel(
  graph: GraphBuilder,
  model: { name: string; inputs: readonly OnnxValueInfo[]; outputs: readonly OnnxValueInfo[]; opset: number },
  plan: QuantizationPlan,
): Uint8Array {
  const extra = plan.values
    .filter((name) => !model.outputs.some((o) => o.name === name))
    .map((name, i): OnnxValueInfo => ({ name, elemType: DataType.FLOAT, shape: [`cal${i}_n`, `cal${i}_c`, `cal${i}_h`, `cal${i}_w`] }));
  return encodeModel(
    { name: model.name, nodes: graph.nodes, initializers: graph.initializers, inputs: model.inputs, outputs: [...model.outputs, ...extra] },
    { opset: model.opset, producer: 'nasnet-ts', producerVersion: '0.1.0' },
  );
}

/** Running min/max of each planned tensor over calibration batches. */
export class MinMaxCalibrator {
  private readonly ranges = new Map<string, { min: number; max: number }>();
  batches = 0;

  constructor(readonly values: readonly string[]) {}

  observe(outputs: Readonly<Record<string, { data: Float32Array }>>): void {
    for (const name of this.values) {
      const data = outputs[name]?.data;
      if (data === undefined) throw new NasnetError('INTERNAL', `MinMaxCalibrator: the calibration model has no output ${name}`);
      let lo = Infinity;
      let hi = -Infinity;
      for (let i = 0; i < data.length; i++) {
        const v = data[i] as number;
        if (v < lo) lo = v;
        if (v > hi) hi = v;
      }
      const seen = this.ranges.get(name);
      this.ranges.set(name, seen === undefined ? { min: lo, max: hi } : { min: Math.min(seen.min, lo), max: Math.max(seen.max, hi) });
    }
    this.batches += 1;
  }

  result(): Map<string, ActivationRange> {
    if (this.batches === 0) throw new NasnetError('INVALID_ARGUMENT', 'MinMaxCalibrator: no calibration batch was observed');
    return new Map(this.ranges);
  }
}

/** uint8 affine parameters of a range (widened to contain 0, so that 0 is exact). */
export function activationParams(range: ActivationRange): { scale: number; zeroPoint: number } {
  const lo = Math.min(range.min, 0);
  const hi = Math.max(range.max, 0);
  if (!(Number.isFinite(lo) && Number.isFinite(hi))) throw new NasnetError('INVALID_ARGUMENT', `activationParams: range must be finite; received [${range.min}, ${range.max}]`);
  const scale = Math.fround(hi > lo ? (hi - lo) / 255 : 1);
  return { scale, zeroPoint: Math.min(255, Math.max(0, Math.round(-lo / scale))) };
}

/** Symmetric per-output-channel int8 weights: [out, ...] floats -> int8 values and one scale per channel. */
export function quantizeWeights(data: Float32Array, outChannels: number): { values: Int8Array; scales: Float32Array } {
  const per = data.length / outChannels;
  const values = new Int8Array(data.length);
  const scales = new Float32Array(outChannels);
  for (let c = 0; c < outChannels; c++) {
    let peak = 0;
    for (let i = c * per; i < (c + 1) * per; i++) peak = Math.max(peak, Math.abs(data[i] as number));
    const scale = peak > 0 ? Math.fround(peak / 127) : 1;
    scales[c] = scale;
    for (let i = c * per; i < (c + 1) * per; i++) values[i] = Math.max(-127, Math.min(127, Math.round((data[i] as number) / scale)));
  }
  return { values, scales };
}

const bytesOf = (view: ArrayBufferView): Uint8Array => new Uint8Array(view.buffer.slice(view.byteOffset, view.byteOffset + view.byteLength));

/**
 * Rewrites `graph` in place into its QDQ int8 form using calibrated `ranges` (one per plan value); throws
 * INVALID_ARGUMENT naming a tensor without a range.
 */
export function quantizeGraph(graph: GraphBuilder, plan: QuantizationPlan, ranges: ReadonlyMap<string, ActivationRange>): void {
  const params = new Map<string, { scale: number; scaleName: string; zeroName: string }>();
  const paramsOf = (value: string) => {
    let p = params.get(value);
    if (p === undefined) {
      const range = ranges.get(plan.sharedParams.get(value) ?? value);
      if (range === undefined) throw new NasnetError('INVALID_ARGUMENT', `quantizeGraph: no calibrated range for tensor ${value}`);
      const { scale, zeroPoint } = activationParams(range);
      p = { scale, scaleName: graph.constant('act_scale', [], new Float32Array([scale])), zeroName: graph.tensor('act_zero', [], DataType.UINT8, new Uint8Array([zeroPoint])) };
      params.set(value, p);
    }
    return p;
  };
  const folded = new Set([...plan.foldedRelus.values()].map((relu) => relu.name));
  const dequantized = new Map<string, string>(); // float tensor -> its Q/DQ copy
  const out: OnnxNode[] = [];
  const qdq = (input: string, value: string, output: string): void => {
    const { scaleName, zeroName } = paramsOf(value);
    const q = graph.unique('q');
    out.push(graph.makeNode('QuantizeLinear', [input, scaleName, zeroName], [q]));
    out.push(graph.makeNode('DequantizeLinear', [q, scaleName, zeroName], [output]));
  };
  const dequantize = (x: string): string => {
    let xq = dequantized.get(x);
    if (xq === undefined) {
      xq = graph.unique('dq');
      qdq(x, x, xq);
      dequantized.set(x, xq);
    }
    return xq;
  };
  for (const node of graph.nodes) {
    if (folded.has(node.name)) continue;
    if (!isQuantized(graph, node)) {
      out.push(node);
      continue;
    }
    const relu = plan.foldedRelus.get(node.outputs[0]!);
    const y = relu?.outputs[0] ?? node.outputs[0]!;
    const raw = graph.unique(`${node.opType}_f32`);
    if (node.opType !== 'Conv') {
      const inputs = node.inputs.map((name) => (name === '' || graph.floatDims(name) !== undefined || graph.int64Values(name) !== undefined ? name : dequantize(name)));
      out.push({ ...node, inputs, outputs: [raw] });
      qdq(raw, plan.sharedParams.get(y) ?? y, y);
      dequantized.set(y, y);
      continue;
    }
    const x = node.inputs[0]!;
    const xq = dequantize(x);
    const w = graph.floats(node.inputs[1]!)!;
    const outChannels = w.dims[0]!;
    const { values, scales } = quantizeWeights(w.data, outChannels);
    const zeros8 = graph.tensor('w_zero', [outChannels], DataType.INT8, new Uint8Array(outChannels));
    const wScale = graph.constant('w_scale', [outChannels], scales);
    const wq = graph.unique('w_dq');
    out.push(graph.makeNode('DequantizeLinear', [graph.tensor('w_int8', w.dims, DataType.INT8, bytesOf(values)), wScale, zeros8], [wq], { axis: int(0) }));
    const inputs = [xq, wq];
    const biasName = node.inputs[2];
    if (biasName !== undefined && biasName !== '') {
      const bias = graph.floats(biasName)!.data;
      const xScale = paramsOf(x).scale;
      const bScales = scales.map((s) => Math.fround(xScale * s));
      const bValues = Int32Array.from(bias, (b, c) => Math.max(-2147483647, Math.min(2147483647, Math.round(b / (bScales[c] as number)))));
      const bq = graph.unique('b_dq');
      out.push(graph.makeNode('DequantizeLinear', [
        graph.tensor('b_int32', [outChannels], DataType.INT32, bytesOf(bValues)),
        graph.constant('b_scale', [outChannels], bScales),
        graph.tensor('b_zero', [outChannels], DataType.INT32, new Uint8Array(4 * outChannels)),
      ], [bq], { axis: int(0) }));
      inputs.push(bq);
    }
    out.push({ ...node, inputs, outputs: [raw] });
    qdq(raw, y, y);
    dequantized.set(y, y); // already the DQ output: the next op reads it as is
  }
  graph.nodes = out;
  graph.pruneInitializers();
}
