// Exports an OD API `faster_rcnn_nas` checkpoint (detection/odapi) as two ONNX graphs for onnxruntime, from
// the same network description the TensorFlow.js engine runs (slim_nasnet.ts over `SlimOps`; here each op
// appends nodes). Anchors, proposal selection and post-processing stay in TypeScript (faster_rcnn_nas.ts).
//
// Shape shorthand: H, W = resizer output, h, w = stride-16 map, C = RPN features, A = anchors per location,
// R = ROIs of one run, c = initial crop size, K = classes.
//   rpn:  image [1,H,W,3] (preprocessed) -> features [1,C,h,w] (NCHW, fed back to `head` untouched),
//         box_encodings [1,h*w*A,4], objectness [1,h*w*A,2]
//   head: features [1,C,h,w], rois [R,4], crop_mask [R,1,c,c]
//         -> refined_box_encodings [R,K*4], class_logits [R,K+1]
// crop_and_resize as RoiAlign. TF samples crop row i at y1 (h-1) + i (y2-y1)(h-1)/(c-1) (bilinear; a
// sample outside [0, h-1] reads 0). ONNX RoiAlign (half_pixel, sampling_ratio 1, spatial_scale 1) samples
// bin i at start - 0.5 + (i + 0.5) (end - start) / c, so `roiAlignBoxes` passes start = y1 (h-1) + 0.5 -
// bin / 2 and end = start + c * bin, bin = the TF step: the same points. Out-of-range samples, which
// RoiAlign clamps instead, are zeroed by `crop_mask`, computed in TypeScript with TF's float32 formula.
// Batch norms are emitted as BatchNormalization (epsilon 1e-3) and folded into their convs by the shared
// passes (optimizeGraph), as for our own detector.
import { NasnetError } from '../../core/errors.js';
import type { CheckpointWeights } from '../../detection/odapi/checkpoint_weights.js';
import { FIRST_STAGE_SCOPE, NASNET_LARGE_SPLIT, SECOND_STAGE_SCOPE } from '../../detection/odapi/faster_rcnn_nas.js';
import type { OdapiFasterRcnnConfig } from '../../detection/odapi/pipeline_config.js';
import { SLIM_BN_EPSILON, slimCells, slimStem, type Padding, type SlimOps } from '../../detection/odapi/slim_nasnet.js';
import { optimizeGraph, type ExportOptions } from './export_layers.js';
import { float, int, ints, str, GraphBuilder } from './graph.js';
import { permute } from './keras_converters.js';
import { DataType, encodeModel, type AttributeValue, type OnnxValueInfo } from './proto.js';

/** Version of the graphs' contract; part of the ONNX cache key. */
export const ODAPI_ONNX_FORMAT = 1;

export interface OdapiOnnx {
  readonly rpn: Uint8Array;
  readonly head: Uint8Array;
}

export type OdapiExportOptions = Pick<ExportOptions, 'opset' | 'foldBatchNorm' | 'foldSubsampling' | 'channelAlignment'>;

/** A value of the graph: its name and NCHW shape without the batch ([C,H,W] kept as [H,W,C] for SlimOps). */
interface V {
  readonly name: string;
  readonly h: number;
  readonly w: number;
  readonly c: number;
}

/** TF 'SAME' pads [top, left, bottom, right] of a k x k window at `stride` over h x w. */
export function samePads(h: number, w: number, k: number, stride: number): [number, number, number, number] {
  const total = (n: number): number => Math.max((Math.ceil(n / stride) - 1) * stride + k - n, 0);
  const [th, tw] = [total(h), total(w)];
  return [th >> 1, tw >> 1, th - (th >> 1), tw - (tw >> 1)];
}

const outSize = (n: number, k: number, stride: number, padding: Padding): number => (padding === 'SAME' ? Math.ceil(n / stride) : Math.floor((n - k) / stride) + 1);

class OnnxSlimOps implements SlimOps<V> {
  constructor(
    readonly graph: GraphBuilder,
    private readonly weights: CheckpointWeights,
  ) {}

  op(type: string, inputs: readonly string[], attributes?: Record<string, AttributeValue>, output = this.graph.unique(type)): string {
    this.graph.node(type, inputs, [output], attributes);
    return output;
  }

  shape(x: V): readonly [number, number, number] {
    return [x.h, x.w, x.c];
  }

  has(scope: string): boolean {
    return this.weights.has(`${scope}/weights`);
  }

  convWidth(scope: string): number {
    return this.weights.get(`${scope}/weights`, 4).shape[3]!;
  }

  /** A [kh,kw,in,out] kernel as ONNX [out,in,kh,kw] (or [in,1,kh,kw] for a depthwise [kh,kw,in,1]). */
  private kernel(name: string, depthwise: boolean): { w: string; k: number; cin: number; cout: number } {
    const kernel = this.weights.get(name, 4);
    const [kh, kw, cin, cout] = kernel.shape as [number, number, number, number];
    const data = permute(kernel.values, kernel.shape, depthwise ? [2, 3, 0, 1] : [3, 2, 0, 1]);
    const w = this.graph.constant(name, depthwise ? [cin, 1, kh, kw] : [cout, cin, kh, kw], data);
    if (kh !== kw) throw new NasnetError('WEIGHTS_MISMATCH', `${this.weights.source}: ${name} is ${kh}x${kw}; expected a square kernel`);
    return { w, k: kh, cin, cout };
  }

  private checkInput(x: V, cin: number, name: string): void {
    if (x.c !== cin) throw new NasnetError('WEIGHTS_MISMATCH', `${this.weights.source}: ${name} expects ${cin} input channels; its input has ${x.c}`, { tensor: name });
  }

  conv(x: V, scope: string, stride: number, padding: Padding, bias = false): V {
    const { w, k, cin, cout } = this.kernel(`${scope}/weights`, false);
    this.checkInput(x, cin, `${scope}/weights`);
    const inputs = [x.name, w];
    if (bias) inputs.push(this.graph.constant(`${scope}/biases`, [cout], this.weights.get(`${scope}/biases`, 1).values));
    const pads = padding === 'SAME' ? samePads(x.h, x.w, k, stride) : [0, 0, 0, 0];
    const name = this.op('Conv', inputs, { kernel_shape: ints([k, k]), strides: ints([stride, stride]), pads: ints(pads) });
    return { name, h: outSize(x.h, k, stride, padding), w: outSize(x.w, k, stride, padding), c: cout };
  }

  separable(x: V, scope: string, stride: number): V {
    const dw = this.kernel(`${scope}/depthwise_weights`, true);
    this.checkInput(x, dw.cin, `${scope}/depthwise_weights`);
    const pads = samePads(x.h, x.w, dw.k, stride);
    const depthwise = this.op('Conv', [x.name, dw.w], { kernel_shape: ints([dw.k, dw.k]), strides: ints([stride, stride]), pads: ints(pads), group: int(x.c) });
    const pw = this.kernel(`${scope}/pointwise_weights`, false);
    const name = this.op('Conv', [depthwise, pw.w], { kernel_shape: ints([1, 1]) });
    return { name, h: Math.ceil(x.h / stride), w: Math.ceil(x.w / stride), c: pw.cout };
  }

  batchNorm(x: V, scope: string): V {
    const get = (v: string): string => this.graph.constant(`${scope}/${v}`, [x.c], this.weights.get(`${scope}/${v}`, 1).values);
    const inputs = [x.name, get('gamma'), get('beta'), get('moving_mean'), get('moving_variance')];
    return { ...x, name: this.op('BatchNormalization', inputs, { epsilon: float(SLIM_BN_EPSILON) }) };
  }

  relu(x: V): V {
    return { ...x, name: this.op('Relu', [x.name]) };
  }

  pool(x: V, kind: 'avg' | 'max', k: number, stride: number, padding: Padding): V {
    const pads = padding === 'SAME' ? samePads(x.h, x.w, k, stride) : [0, 0, 0, 0];
    const attributes: Record<string, AttributeValue> = { kernel_shape: ints([k, k]), strides: ints([stride, stride]), pads: ints(pads) };
    if (kind === 'avg') attributes.count_include_pad = int(0); // TF excludes the padding
    const name = this.op(kind === 'avg' ? 'AveragePool' : 'MaxPool', [x.name], attributes);
    return { name, h: outSize(x.h, k, stride, padding), w: outSize(x.w, k, stride, padding), c: x.c };
  }

  add(a: V, b: V): V {
    return { ...a, name: this.op('Add', [a.name, b.name]) };
  }

  concat(xs: readonly V[]): V {
    return { ...xs[0]!, c: xs.reduce((s, x) => s + x.c, 0), name: this.op('Concat', xs.map((x) => x.name), { axis: int(1) }) };
  }

  shift(x: V): V {
    const g = this.graph;
    const cut = this.op('Slice', [x.name, g.int64s('from', [1, 1]), g.int64s('to', [x.h, x.w]), g.int64s('axes', [2, 3])]);
    return { ...x, name: this.op('Pad', [cut, g.int64s('pads', [0, 0, 0, 0, 0, 0, 1, 1])]) };
  }
}

const info = (name: string, shape: readonly (number | string)[]): OnnxValueInfo => ({ name, elemType: DataType.FLOAT, shape });

function encode(name: string, graph: GraphBuilder, inputs: OnnxValueInfo[], outputs: OnnxValueInfo[], options: OdapiExportOptions): Uint8Array {
  optimizeGraph(graph, outputs.map((o) => o.name), options);
  return encodeModel({ name, nodes: graph.nodes, initializers: graph.initializers, inputs, outputs }, { opset: options.opset ?? 17, producer: 'nasnet-ts', producerVersion: '0.1.0' });
}

/** NCHW [1,X,h,w] -> NHWC flattened [1, h*w*X/last, last]. */
function flattenNhwc(ops: OnnxSlimOps, x: V, last: number, output: string): void {
  const nhwc = ops.op('Transpose', [x.name], { perm: ints([0, 2, 3, 1]) });
  ops.op('Reshape', [nhwc, ops.graph.int64s('shape', [1, -1, last])], undefined, output);
}

function rpnGraph(config: OdapiFasterRcnnConfig, weights: CheckpointWeights, options: OdapiExportOptions): { bytes: Uint8Array; features: V } {
  const { height, width } = config.imageResizer;
  const graph = new GraphBuilder();
  const ops = new OnnxSlimOps(graph, weights);
  const image: V = { name: ops.op('Transpose', ['image'], { perm: ints([0, 3, 1, 2]) }), h: height, w: width, c: 3 };
  const stem = slimStem(ops, FIRST_STAGE_SCOPE, image);
  const cells = slimCells(ops, FIRST_STAGE_SCOPE, stem, 0, NASNET_LARGE_SPLIT.firstStageCells, NASNET_LARGE_SPLIT.reductions);
  const features = ops.concat([cells.previous, cells.hidden]);
  graph.node('Identity', [features.name], ['features']);
  const conv = ops.conv(features, 'Conv', 1, 'SAME', true);
  const relu6 = { ...conv, name: ops.op('Clip', [conv.name, graph.constant('zero', [], new Float32Array([0])), graph.constant('six', [], new Float32Array([6]))]) };
  flattenNhwc(ops, ops.conv(relu6, 'FirstStageBoxPredictor/BoxEncodingPredictor', 1, 'SAME', true), 4, 'box_encodings');
  flattenNhwc(ops, ops.conv(relu6, 'FirstStageBoxPredictor/ClassPredictor', 1, 'SAME', true), 2, 'objectness');
  const bytes = encode(
    'odapi_faster_rcnn_nas_rpn',
    graph,
    [info('image', [1, height, width, 3])],
    [info('features', [1, features.c, features.h, features.w]), info('box_encodings', [1, 'anchors', 4]), info('objectness', [1, 'anchors', 2])],
    options,
  );
  return { bytes, features: { ...features, name: 'features' } };
}

function headGraph(config: OdapiFasterRcnnConfig, weights: CheckpointWeights, features: V, options: OdapiExportOptions): Uint8Array {
  const graph = new GraphBuilder();
  const ops = new OnnxSlimOps(graph, weights);
  const c = config.initialCropSize;
  const zeroIndex = ops.op('Cast', [ops.op('Squeeze', [ops.op('Mul', [ops.op('Slice', ['rois', graph.int64s('from', [0]), graph.int64s('to', [1]), graph.int64s('axis', [1])]), graph.constant('zero', [], new Float32Array([0]))]), graph.int64s('axes', [1])])], { to: int(DataType.INT64) });
  const aligned = ops.op('RoiAlign', ['features', 'rois', zeroIndex], {
    coordinate_transformation_mode: str('half_pixel'),
    mode: str('avg'),
    output_height: int(c),
    output_width: int(c),
    sampling_ratio: int(1),
    spatial_scale: float(1),
  });
  let crops: V = { name: ops.op('Mul', [aligned, 'crop_mask']), h: c, w: c, c: features.c };
  crops = ops.pool(crops, 'max', config.maxpoolKernelSize, config.maxpoolStride, 'VALID');
  const half = crops.c / 2;
  const parts = [graph.unique('crops_previous'), graph.unique('crops_hidden')];
  graph.node('Split', [crops.name, graph.int64s('split', [half, half])], parts, { axis: int(1) });
  const start = { previous: { ...crops, c: half, name: parts[0]! }, hidden: { ...crops, c: half, name: parts[1]! } };
  const cells = slimCells(ops, SECOND_STAGE_SCOPE, start, NASNET_LARGE_SPLIT.firstStageCells, NASNET_LARGE_SPLIT.numCells, NASNET_LARGE_SPLIT.reductions);
  const pooled = ops.op('Flatten', [ops.op('GlobalAveragePool', [ops.relu(cells.hidden).name])], { axis: int(1) });
  const dense = (scope: string, output: string): number => {
    const w = weights.get(`${scope}/weights`, 2);
    const b = weights.get(`${scope}/biases`, 1);
    ops.op('Gemm', [pooled, graph.constant(`${scope}/W`, w.shape, w.values), graph.constant(`${scope}/B`, b.shape, b.values)], undefined, output);
    return w.shape[1]!;
  };
  const boxWidth = dense('SecondStageBoxPredictor/BoxEncodingPredictor', 'refined_box_encodings');
  const classWidth = dense('SecondStageBoxPredictor/ClassPredictor', 'class_logits');
  return encode(
    'odapi_faster_rcnn_nas_head',
    graph,
    [info('features', [1, features.c, features.h, features.w]), info('rois', ['rois', 4]), info('crop_mask', ['rois', 1, c, c])],
    [info('refined_box_encodings', ['rois', boxWidth]), info('class_logits', ['rois', classWidth])],
    options,
  );
}

/** Both graphs of the detector; every checkpoint variable must be used (else WEIGHTS_MISMATCH). */
export function exportOdapiOnnx(config: OdapiFasterRcnnConfig, weights: CheckpointWeights, options: OdapiExportOptions = {}): OdapiOnnx & { featureShape: readonly [number, number, number] } {
  const rpn = rpnGraph(config, weights, options);
  const head = headGraph(config, weights, rpn.features, options);
  weights.assertAllUsed('an OD API faster_rcnn_nas model');
  return { rpn: rpn.bytes, head, featureShape: [rpn.features.c, rpn.features.h, rpn.features.w] };
}

/**
 * RoiAlign boxes [R,4] ([x1,y1,x2,y2] in feature pixels) and the mask [R,c,c] reproducing
 * tf.image.crop_and_resize of the normalised `boxes` [R*4] on an h x w map (see the file comment).
 */
export function roiAlignBoxes(boxes: Float32Array, h: number, w: number, c: number): { rois: Float32Array; mask: Float32Array } {
  const f = Math.fround;
  const r = boxes.length / 4;
  const rois = new Float32Array(r * 4);
  const mask = new Float32Array(r * c * c);
  const inside = new Uint8Array(2 * c);
  for (let i = 0; i < r; i++) {
    const [y1, x1, y2, x2] = [boxes[4 * i]!, boxes[4 * i + 1]!, boxes[4 * i + 2]!, boxes[4 * i + 3]!];
    // TF crop_and_resize_op.cc, float32: scale = (y2 - y1) * (h - 1) / (c - 1); in_y = y1 * (h - 1) + y * scale.
    const sy = c > 1 ? f(f(f(y2 - y1) * (h - 1)) / (c - 1)) : 0;
    const sx = c > 1 ? f(f(f(x2 - x1) * (w - 1)) / (c - 1)) : 0;
    const y0 = c > 1 ? f(y1 * (h - 1)) : f(0.5 * f(y1 + y2) * (h - 1));
    const x0 = c > 1 ? f(x1 * (w - 1)) : f(0.5 * f(x1 + x2) * (w - 1));
    for (let k = 0; k < c; k++) {
      const iy = f(y0 + f(k * sy));
      const ix = f(x0 + f(k * sx));
      inside[k] = iy >= 0 && iy <= h - 1 ? 1 : 0;
      inside[c + k] = ix >= 0 && ix <= w - 1 ? 1 : 0;
    }
    for (let a = 0; a < c; a++) for (let b = 0; b < c; b++) mask[i * c * c + a * c + b] = inside[a]! & inside[c + b]!;
    const ys = y0 + 0.5 - sy / 2;
    const xs = x0 + 0.5 - sx / 2;
    rois.set([xs, ys, xs + c * sx, ys + c * sy], 4 * i);
  }
  return { rois, mask };
}
