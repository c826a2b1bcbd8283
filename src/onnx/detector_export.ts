// Exports a Faster R-CNN for inference on onnxruntime-node as two graphs; only post-processing is left to
// TypeScript (src/api/detector.ts). Proposal selection runs inside graph 1: measured on the default
// detector it took 0.6-0.7 ms there against 4.4-8.8 ms in TypeScript (docs/detection.md, "Inference on
// onnxruntime"). The tfjs engine and training keep the TypeScript path (rpn.ts).
//
// Shape shorthand: N = images, S = input side, H, W, C = RPN feature map, M = RPN head channels,
// A = anchors per location, R = ROIs, c = crop side, D = box-head features, K = classes + background.
//   rpn:  image [N,S,S,3], window [N,4] -> features [N,C,H,W], proposals [P,4], proposal_images [P]
//   head: features [N,C,H,W], rois [R,4], roi_images [R] -> class_logits [R,K], box_deltas [R,4K]
// `features` stays NCHW (ONNX's layout, what RoiAlign reads) on its way from one session to the other:
// nothing in TypeScript looks at it. Boxes are ours, [y1,x1,y2,x2] normalised to the network input;
// `window` is where each image lies in it (proposals are clipped to it). Image indices travel as floats
// (our sessions exchange float32 only; the graph casts to and from int64).
//
// Proposal selection follows rpn.ts `filterProposals` (torchvision) step for step, in float32: top-k
// logits per image (ONNX TopK breaks ties to the lower index, as our argsort), decode (box_coder.ts
// operation order), clip to the window, drop boxes under minSize pixels or under the score threshold,
// NMS (IoU > threshold suppresses; zero-area boxes never do), first postNmsTopN kept. The NMS ranks by
// logit, which orders as the sigmoid does; dropped boxes get a score below NonMaxSuppression's threshold.
//
// ROI align. Our roi_align.ts is torchvision's roi_align with aligned=True; ONNX RoiAlign (opset 16+)
// with coordinate_transformation_mode 'half_pixel' is the same rule: feature coordinate =
// box_pixels * spatial_scale - 0.5, no clamping of the box size to 1, a sampling_ratio x sampling_ratio
// grid averaged per bin (0 = adaptive), samples beyond -1 / H read 0 but count, samples in [-1, 0)
// read the edge (onnx/defs/object_detection/defs.cc; onnxruntime roialign.cc). The only conversion is
// the frame: RoiAlign takes [x1,y1,x2,y2] in input pixels with spatial_scale = 1 / stride, so the graph
// multiplies our boxes by S and swaps the (y, x) pairs, the same float32 product roi_align.ts forms.
import * as tfl from '@tensorflow/tfjs-layers';
import { BOX_CODE_CLIP, RPN_BOX_CODE_WEIGHTS } from '../../detection/box_coder.js';
import type { FasterRcnn } from '../../detection/faster_rcnn.js';
import { resolveProposalConfig } from '../../detection/rpn.js';
import { NasnetError } from '../../core/errors.js';
import { appendLayersModel, optimizeGraph, type ExportOptions } from './export_layers.js';
import { float, int, ints, str, GraphBuilder } from './graph.js';
import { permute } from './keras_converters.js';
import { encodeModel, DataType, type AttributeValue, type OnnxValueInfo } from './proto.js';

/** Version of the graphs' contract (names, shapes, what runs inside); part of the ONNX cache key. */
export const DETECTOR_ONNX_FORMAT = 1;

/** The two graphs of a detector, serialised. */
export interface DetectorOnnx {
  /** image, window -> features, proposals, proposal_images. */
  readonly rpn: Uint8Array;
  /** features, rois, roi_images -> class_logits, box_deltas. */
  readonly head: Uint8Array;
}

export type DetectorExportOptions = Pick<ExportOptions, 'opset' | 'foldBatchNorm' | 'foldSubsampling' | 'channelAlignment'>;

/** RoiAlign settings in our terms. */
export interface OnnxRoiAlignSettings {
  /** Side of the network input: normalised boxes times this are input pixels. */
  readonly imageSize: number;
  /** Feature pixels per input pixel (1 / stride). */
  readonly spatialScale: number;
  /** Output side c (crops are c x c). */
  readonly cropSize: number;
  /** Samples per bin along each axis; 0 = adaptive. */
  readonly samplingRatio: number;
}

const info = (name: string, shape: readonly (number | string)[]): OnnxValueInfo => ({ name, elemType: DataType.FLOAT, shape });

/** One node with one fresh output (or `output`); returns the output's name. */
function op(graph: GraphBuilder, type: string, inputs: readonly string[], attributes?: Record<string, AttributeValue>, output = graph.unique(type)): string {
  graph.node(type, inputs, [output], attributes);
  return output;
}

/**
 * Appends ROI align of `features` [N,C,H,W] at `rois` [R,4] ([y1,x1,y2,x2] normalised) of images
 * `roiImages` [R] (float indices) to `graph`; returns the crops' value, [R,C,c,c].
 */
export function appendRoiAlign(graph: GraphBuilder, values: { features: string; rois: string; roiImages: string }, settings: OnnxRoiAlignSettings): string {
  const { imageSize: s, spatialScale, cropSize, samplingRatio } = settings;
  const pixels = op(graph, 'Mul', [values.rois, graph.constant('roi_scale', [4], new Float32Array([s, s, s, s]))]);
  const xyxy = op(graph, 'Gather', [pixels, graph.int64s('roi_xy_order', [1, 0, 3, 2])], { axis: int(1) }); // [y1,x1,y2,x2] -> [x1,y1,x2,y2]
  const indices = op(graph, 'Cast', [values.roiImages], { to: int(DataType.INT64) });
  return op(graph, 'RoiAlign', [values.features, xyxy, indices], {
    coordinate_transformation_mode: str('half_pixel'),
    mode: str('avg'),
    output_height: int(cropSize),
    output_width: int(cropSize),
    sampling_ratio: int(samplingRatio),
    spatial_scale: float(spatialScale),
  });
}

/** Checkpoint-named variables of `model` as host arrays. */
function weightReader(model: FasterRcnn): (name: string) => { shape: number[]; data: Float32Array } {
  const byName = new Map(model.variables().map((v) => [v.name, v.variable]));
  return (name) => {
    const variable = byName.get(name);
    if (variable === undefined) throw new NasnetError('INTERNAL', `exportDetectorOnnx: the model has no weight ${name}`);
    return { shape: variable.shape, data: variable.dataSync() as Float32Array };
  };
}

type Weights = ReturnType<typeof weightReader>;

/** A Keras-layout conv ([kh,kw,in,out] kernel, 'same' padding, stride 1) on an NCHW value. */
function appendConv(graph: GraphBuilder, weights: Weights, prefix: string, input: string): string {
  const kernel = weights(`${prefix}/kernel`);
  const [kh, kw, cin, cout] = kernel.shape as [number, number, number, number];
  const w = graph.constant(`${prefix}/W`, [cout, cin, kh, kw], permute(kernel.data, kernel.shape, [3, 2, 0, 1]));
  const pads = [(kh - 1) >> 1, (kw - 1) >> 1, kh >> 1, kw >> 1]; // TF 'same' at stride 1: the odd extra pixel at the end
  return op(graph, 'Conv', [input, w, graph.constant(`${prefix}/B`, [cout], weights(`${prefix}/bias`).data)], { kernel_shape: ints([kh, kw]), pads: ints(pads) });
}

/** A dense layer ([in, out] kernel) on a [R, in] value. */
function appendDense(graph: GraphBuilder, weights: Weights, prefix: string, input: string, output = graph.unique(prefix)): string {
  const kernel = weights(`${prefix}/kernel`);
  const bias = weights(`${prefix}/bias`);
  return op(graph, 'Gemm', [input, graph.constant(`${prefix}/W`, kernel.shape, kernel.data), graph.constant(`${prefix}/B`, bias.shape, bias.data)], undefined, output);
}

/** NCHW [N,X,H,W] -> [N, H*W*X/last, last] (or [N, H*W*X] when `last` is undefined): the NHWC flattening. */
function flattenNhwc(graph: GraphBuilder, input: string, last?: number): string {
  const nhwc = op(graph, 'Transpose', [input], { perm: ints([0, 2, 3, 1]) });
  return op(graph, 'Reshape', [nhwc, graph.int64s('flat_shape', last === undefined ? [0, -1] : [0, -1, last])]);
}

/** Entries [from, to) of the last axis of a rank-3 value. */
function lastAxis(graph: GraphBuilder, input: string, from: number, to: number): string {
  return op(graph, 'Slice', [input, graph.int64s('from', [from]), graph.int64s('to', [to]), graph.int64s('axis', [-1])]);
}

const f32Scalar = (graph: GraphBuilder, name: string, value: number): string => graph.constant(name, [1], new Float32Array([value]));

/**
 * rpn.ts `filterProposals` (test settings) on `objectness` [N,R] and `deltas` [N,R,4] of every image, clipped
 * to `window` [N,4]: writes the values `proposals` [P,4] and `proposal_images` [P] (float), image by image,
 * each by decreasing score.
 */
export function appendProposalSelection(graph: GraphBuilder, model: FasterRcnn, values: { objectness: string; deltas: string; window: string }): void {
  const config = resolveProposalConfig(model.config.proposals.test, 'test');
  const anchors = model.anchorBoxes;
  const r = anchors.length / 4;
  // Anchor centres and sizes [R,2] as (y, x), in box_coder.ts's float32 order: size = hi - lo, centre = lo + 0.5 * size.
  const centre = new Float32Array(2 * r);
  const size = new Float32Array(2 * r);
  for (let i = 0; i < 2 * r; i++) {
    const lo = anchors[4 * (i >> 1) + (i & 1)]!;
    size[i] = Math.fround(anchors[4 * (i >> 1) + 2 + (i & 1)]! - lo);
    centre[i] = Math.fround(lo + Math.fround(0.5 * size[i]!));
  }
  const top = [graph.unique('top_logits'), graph.unique('top_anchors')] as const;
  graph.node('TopK', [values.objectness, graph.int64s('pre_nms_top_n', [Math.min(config.preNmsTopN, r)])], top, { axis: int(1) });
  const codes = op(graph, 'GatherND', [values.deltas, op(graph, 'Unsqueeze', [top[1], graph.int64s('axes', [2])])], { batch_dims: int(1) }); // [N,k,4]
  const anchorPart = (name: string, data: Float32Array): string => op(graph, 'Gather', [graph.constant(name, [r, 2], data), top[1]], { axis: int(0) }); // [N,k,2]
  const [refCentre, refSize] = [anchorPart('anchor_centre', centre), anchorPart('anchor_size', size)];
  // box_coder.ts decodeParts: centre = d / w * size + centre; half = 0.5 * (exp(min(d / w, clip)) * size).
  const [wy, wx, wh, ww] = RPN_BOX_CODE_WEIGHTS;
  const scaled = (from: number, weights: number[]): string => op(graph, 'Div', [lastAxis(graph, codes, from, from + 2), graph.constant('code_weights', [2], new Float32Array(weights))]);
  const mid = op(graph, 'Add', [op(graph, 'Mul', [scaled(0, [wy, wx]), refSize]), refCentre]);
  const grown = op(graph, 'Mul', [op(graph, 'Exp', [op(graph, 'Min', [scaled(2, [wh, ww]), f32Scalar(graph, 'code_clip', BOX_CODE_CLIP)])]), refSize]);
  const half = op(graph, 'Mul', [f32Scalar(graph, 'half', 0.5), grown]);
  const decoded = op(graph, 'Concat', [op(graph, 'Sub', [mid, half]), op(graph, 'Add', [mid, half])], { axis: int(-1) }); // [N,k,4]
  // Clip to the window: [N,4] -> lower and upper bounds [N,1,4].
  const bound = (from: number): string => {
    const pair = op(graph, 'Unsqueeze', [lastAxis(graph, values.window, from, from + 2), graph.int64s('axes', [1])]); // [N,1,2]
    return op(graph, 'Concat', [pair, pair], { axis: int(-1) });
  };
  const boxes = op(graph, 'Min', [op(graph, 'Max', [decoded, bound(0)]), bound(2)]);
  // Valid: height and width >= minSize pixels (rounded to float32), and score >= the threshold.
  const s = model.config.imageSize;
  const sizes = op(graph, 'Mul', [op(graph, 'Sub', [lastAxis(graph, boxes, 2, 4), lastAxis(graph, boxes, 0, 2)]), graph.constant('pixels', [2], new Float32Array([s, s]))]);
  const bigEnough = op(graph, 'GreaterOrEqual', [sizes, f32Scalar(graph, 'min_size', config.minSize)]); // [N,k,2]
  let valid = op(graph, 'And', [lastAxis(graph, bigEnough, 0, 1), lastAxis(graph, bigEnough, 1, 2)]); // [N,k,1]
  valid = op(graph, 'Squeeze', [valid, graph.int64s('axes', [2])]);
  if (config.scoreThreshold > 0) {
    const scores = op(graph, 'Sigmoid', [top[0]]);
    valid = op(graph, 'And', [valid, op(graph, 'GreaterOrEqual', [scores, f32Scalar(graph, 'score_threshold', config.scoreThreshold)])]);
  }
  const ranked = op(graph, 'Where', [valid, top[0], f32Scalar(graph, 'dropped', -3e38)]);
  const nmsScores = op(graph, 'Unsqueeze', [ranked, graph.int64s('axes', [1])]); // [N,1,k]: one class
  const nmsLimits = [graph.int64s('post_nms_top_n', [config.postNmsTopN]), f32Scalar(graph, 'iou_threshold', config.nmsThreshold), f32Scalar(graph, 'keep_above', -1e38)];
  const selected = op(graph, 'NonMaxSuppression', [boxes, nmsScores, ...nmsLimits]); // [P,3] = (image, class, box)
  const imageAndBox = op(graph, 'Gather', [selected, graph.int64s('image_box_columns', [0, 2])], { axis: int(1) });
  op(graph, 'GatherND', [boxes, imageAndBox], undefined, 'proposals');
  const image = op(graph, 'Gather', [selected, graph.int64s('image_column', [0])], { axis: int(1) }); // [P,1]
  op(graph, 'Cast', [op(graph, 'Squeeze', [image, graph.int64s('axes', [1])])], { to: int(DataType.FLOAT) }, 'proposal_images');
}

function encode(name: string, graph: GraphBuilder, inputs: OnnxValueInfo[], outputs: OnnxValueInfo[], options: DetectorExportOptions): Uint8Array {
  optimizeGraph(graph, outputs.map((o) => o.name), options);
  return encodeModel({ name, nodes: graph.nodes, initializers: graph.initializers, inputs, outputs }, { opset: options.opset ?? 17, producer: 'nasnet-ts', producerVersion: '0.1.0' });
}

/** Graph 1: stage-1 cells, the RPN head (3x3 conv + relu, sibling 1x1 convs; rpn.ts), proposal selection. */
function rpnGraph(model: FasterRcnn, weights: Weights, options: DetectorExportOptions): Uint8Array {
  const { stage1 } = model.split;
  const [h, w] = model.featureSize;
  const c = stage1.outputs[2]!.shape[3] as number;
  const s = model.config.imageSize;
  const graph = new GraphBuilder();
  const image = op(graph, 'Transpose', ['image'], { perm: ints([0, 3, 1, 2]) });
  const features = tfl.model({ inputs: stage1.inputs, outputs: stage1.outputs[2]!, name: 'rpn_features' });
  const [f] = appendLayersModel(graph, features, [image]);
  graph.node('Identity', [f!], ['features']);
  const hidden = op(graph, 'Relu', [appendConv(graph, weights, 'rpn/conv', f!)]);
  const objectness = flattenNhwc(graph, appendConv(graph, weights, 'rpn/objectness', hidden));
  const deltas = flattenNhwc(graph, appendConv(graph, weights, 'rpn/box', hidden), 4);
  appendProposalSelection(graph, model, { objectness, deltas, window: 'window' });
  return encode(
    'faster_rcnn_rpn',
    graph,
    [info('image', ['batch', s, s, 3]), info('window', ['batch', 4])],
    [info('features', ['batch', c, h, w]), info('proposals', ['proposals', 4]), info('proposal_images', ['proposals'])],
    options,
  );
}

/** Graph 2: ROI align, the box head's feature extractor (NASNet cells + mean, or 2 FC), the predictors (box_head.ts). */
function headGraph(model: FasterRcnn, weights: Weights, options: DetectorExportOptions): Uint8Array {
  const { config, split } = model;
  const [h, w] = model.featureSize;
  const c = split.stage1.outputs[2]!.shape[3] as number;
  const graph = new GraphBuilder();
  const crops = appendRoiAlign(
    graph,
    { features: 'features', rois: 'rois', roiImages: 'roi_images' },
    { imageSize: config.imageSize, spatialScale: 1 / split.featureStride, cropSize: config.cropSize, samplingRatio: config.roiSamplingRatio },
  );
  const pooled = graph.unique('roi_features');
  if (config.boxHead === 'cells') {
    // The crop's channels are (h_{i-1}, h_i) of the cut (faster_rcnn.ts NasnetRoiCells).
    const parts = [graph.unique('crops_previous'), graph.unique('crops_hidden')];
    graph.node('Split', [crops, graph.int64s('crop_channels', split.channels)], parts, { axis: int(1) });
    const [cells] = appendLayersModel(graph, split.stage2, parts);
    op(graph, 'Flatten', [op(graph, 'GlobalAveragePool', [cells!])], { axis: int(1) }, pooled);
  } else {
    // TwoFcExtractor flattens NHWC crops.
    const flat = flattenNhwc(graph, crops);
    const fc6 = op(graph, 'Relu', [appendDense(graph, weights, 'box_head/fc6', flat)]);
    op(graph, 'Relu', [appendDense(graph, weights, 'box_head/fc7', fc6)], undefined, pooled);
  }
  appendDense(graph, weights, 'box_predictor/class', pooled, 'class_logits');
  appendDense(graph, weights, 'box_predictor/box', pooled, 'box_deltas');
  const k = config.numClasses + 1;
  return encode(
    'faster_rcnn_head',
    graph,
    [info('features', ['batch', c, h, w]), info('rois', ['rois', 4]), info('roi_images', ['rois'])],
    [info('class_logits', ['rois', k]), info('box_deltas', ['rois', 4 * k])],
    options,
  );
}

/** Both inference graphs of `model` (inference mode: BatchNorm uses its moving statistics). */
export function exportDetectorOnnx(model: FasterRcnn, options: DetectorExportOptions = {}): DetectorOnnx {
  const opset = options.opset ?? 17;
  if (!Number.isInteger(opset) || opset < 16) {
    throw new NasnetError('INVALID_ARGUMENT', `exportDetectorOnnx: options.opset must be an integer >= 16 (RoiAlign's half_pixel mode); received ${JSON.stringify(options.opset)}`);
  }
  const weights = weightReader(model);
  return { rpn: rpnGraph(model, weights, options), head: headGraph(model, weights, options) };
}
