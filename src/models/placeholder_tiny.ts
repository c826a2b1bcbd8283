// placeholder-tiny: the embedded default models until the NASNet classifier and the Faster R-CNN detector
// ship. Real tensor code with seeded random (untrained) weights: decode + fit through image_io, a few
// stride-2 convolutions, softmax top-k for classification; a one-anchor-per-cell grid head, box decoding
// and NMS for detection; boxes mapped back to the EXIF-oriented original. Its scores mean nothing; its
// shapes, label tables, coordinate frames and costs are those of the real models' API.
//
// Shape shorthand: H, W = network input; G = grid side (W / 8); A = G*G anchors; K = classes.
import * as tf from '@tensorflow/tfjs-core';
import type {
  ClassifyOptions, ClassPrediction, Classifier, DetectOptions, Detection, Detector, ImageMeta, ModelInfo,
} from '../api/types.js';
import { NasnetError } from '../../core/errors.js';
import { MIN_MODEL_IMAGE_SIDE, loadImageForModel } from '../../core/image_io.js';
import { createPrng, type Prng } from '../../core/prng.js';
import { cocoCategoriesContiguous, imagenetClasses } from './labels.js';
import type { ModelLoadOptions } from './registry.js';

export const PLACEHOLDER_KIND = 'placeholder-tiny';
const BACKBONE = 'placeholder-tiny (3 random stride-2 convs, untrained)';
const CLASSIFIER_INPUT = 64;
const DETECTOR_INPUT = 128;
const STRIDE = 8;
/** Anchor side as a fraction of the input (32 px at 128). */
const ANCHOR_SIZE = 0.25;
/** Faster R-CNN's box coder weights (wy, wx, wh, ww) and its clamp on log-size deltas. */
const CODER_WEIGHTS = [10, 10, 5, 5] as const;
const MAX_LOG_SCALE = Math.log(1000 / 16);
const NMS_IOU = 0.5;
/** Class-logit bias for a prior probability of 0.01 (RetinaNet init, Lin et al. 2017, sec. 4.1). */
const CLASS_PRIOR_BIAS = -Math.log((1 - 0.01) / 0.01);

interface ConvLayer {
  readonly kernel: tf.Tensor4D;
  readonly bias: tf.Tensor1D;
}

/** He-normal kernel [kh,kw,cin,cout] and a zero bias, drawn from `prng`. */
function convLayer(prng: Prng, size: number, cin: number, cout: number): ConvLayer {
  const fanIn = size * size * cin;
  const std = Math.sqrt(2 / fanIn);
  const values = new Float32Array(fanIn * cout);
  for (let i = 0; i < values.length; i++) values[i] = prng.normal() * std;
  return { kernel: tf.tensor4d(values, [size, size, cin, cout]), bias: tf.zeros([cout]) };
}

/** [1,H,W,3] in 0..255 -> [1,H/8,W/8,32]: scale to [-1,1], three 3x3 stride-2 conv + ReLU. */
function backbone(layers: readonly ConvLayer[], image: tf.Tensor3D): tf.Tensor4D {
  let x = tf.expandDims(tf.sub(tf.div(image, 127.5), 1), 0) as tf.Tensor4D;
  for (const { kernel, bias } of layers) x = tf.relu(tf.add(tf.conv2d(x, kernel, 2, 'same'), bias)) as tf.Tensor4D;
  return x;
}

function backboneLayers(prng: Prng): ConvLayer[] {
  return [convLayer(prng, 3, 3, 16), convLayer(prng, 3, 16, 32), convLayer(prng, 3, 32, 32)];
}

function rejectWeights(options: ModelLoadOptions): void {
  if (options.weights !== undefined) {
    throw new NasnetError('INVALID_CONFIG', `${PLACEHOLDER_KIND} has built-in seeded weights and takes no weights file; received ${options.weights}`, {
      field: 'weights',
    });
  }
}

/** The placeholder runs on TensorFlow.js with no quantized graph and no proposals: it refuses those settings. */
function rejectTuning(options: ModelLoadOptions, task: 'classification' | 'detection'): void {
  const refused: [string, boolean][] = task === 'classification'
    ? [['classifierEngine', options.classifierEngine !== undefined && options.classifierEngine !== 'onnx']]
    : [['detectorProposals', options.proposals !== undefined], ['detectorRoiSamplingRatio', options.roiSamplingRatio !== undefined]];
  for (const [field, set] of refused) {
    if (set) throw new NasnetError('INVALID_CONFIG', `${PLACEHOLDER_KIND} (${task}) runs on TensorFlow.js without ONNX or proposals and cannot take setting "${field}"; use a NASNet model`, { field });
  }
}

function checkIntOption(fn: string, field: string, value: number, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new NasnetError('INVALID_ARGUMENT', `${fn}: ${field} must be an integer in [${min}, ${max}]; received ${value}`, { field });
  }
  return value;
}

function disposeLayers(layers: readonly ConvLayer[]): void {
  for (const { kernel, bias } of layers) tf.dispose([kernel, bias]);
}

export class PlaceholderTinyClassifier implements Classifier {
  readonly info: ModelInfo;
  private readonly layers: ConvLayer[];
  private readonly dense: tf.Tensor2D;
  private readonly labels = imagenetClasses();

  constructor(private readonly options: ModelLoadOptions, seed = 1) {
    rejectWeights(options);
    const prng = createPrng(seed);
    this.layers = backboneLayers(prng);
    const dense = convLayer(prng, 1, 32, this.labels.length);
    this.dense = tf.reshape(dense.kernel, [32, this.labels.length]);
    tf.dispose([dense.kernel, dense.bias]);
    this.info = {
      name: PLACEHOLDER_KIND, task: 'classification', backbone: BACKBONE,
      inputWidth: CLASSIFIER_INPUT, inputHeight: CLASSIFIER_INPUT, numClasses: this.labels.length, engine: options.engine,
    };
  }

  async classify(image: Uint8Array, options: ClassifyOptions = {}): Promise<{ predictions: ClassPrediction[]; image: ImageMeta }> {
    const topK = checkIntOption('classify', 'topK', options.topK ?? 5, 1, this.labels.length);
    const input = await loadImageForModel(image, {
      width: CLASSIFIER_INPUT, height: CLASSIFIER_INPUT, mode: 'stretch', maxPixels: this.options.maxPixels, minSide: MIN_MODEL_IMAGE_SIDE,
    });
    const [values, indices] = tf.tidy(() => {
      const features = tf.mean(backbone(this.layers, input.tensor), [1, 2]) as tf.Tensor2D; // [1,32]
      const probabilities = tf.softmax(tf.matMul(features, this.dense)); // [1,K]
      const top = tf.topk(probabilities, topK);
      return [top.values, top.indices];
    });
    input.tensor.dispose();
    const [scores, ids] = await Promise.all([values.data(), indices.data()]);
    tf.dispose([values, indices]);
    const predictions = Array.from(ids, (classId, i) => {
      const label = this.labels[classId] as (typeof this.labels)[number];
      return { classId, wnid: label.wnid, label: label.short, score: scores[i] as number };
    });
    return { predictions, image: input.meta };
  }

  dispose(): void {
    disposeLayers(this.layers);
    this.dense.dispose();
  }
}

/** A box [y1,x1,y2,x2] normalized to the network input -> COCO [x,y,w,h] in original pixels, clipped. */
export function inputBoxToOriginalXywh(box: readonly number[], meta: ImageMeta): [number, number, number, number] {
  const toX = (v: number): number => Math.min(meta.width, Math.max(0, (v * meta.inputWidth - meta.padLeft) / meta.scaleX));
  const toY = (v: number): number => Math.min(meta.height, Math.max(0, (v * meta.inputHeight - meta.padTop) / meta.scaleY));
  const [y1, x1, y2, x2] = [toY(box[0] as number), toX(box[1] as number), toY(box[2] as number), toX(box[3] as number)];
  return [x1, y1, x2 - x1, y2 - y1];
}

/** One anchor per grid cell, centred, side ANCHOR_SIZE: [A,4] as (cy, cx, h, w), normalized. */
function gridAnchors(grid: number): tf.Tensor2D {
  const values = new Float32Array(grid * grid * 4);
  for (let i = 0; i < grid; i++) {
    for (let j = 0; j < grid; j++) {
      values.set([(i + 0.5) / grid, (j + 0.5) / grid, ANCHOR_SIZE, ANCHOR_SIZE], (i * grid + j) * 4);
    }
  }
  return tf.tensor2d(values, [grid * grid, 4]);
}

/** Faster R-CNN box decoding: deltas [A,4] (dy,dx,dh,dw) on anchors [A,4] -> [A,4] (y1,x1,y2,x2) in [0,1]. */
function decodeBoxes(deltas: tf.Tensor2D, anchors: tf.Tensor2D): tf.Tensor2D {
  const [dy, dx, dh, dw] = tf.split(tf.div(deltas, tf.tensor1d([...CODER_WEIGHTS])), 4, 1) as tf.Tensor2D[]; // 4 x [A,1]
  const [ay, ax, ah, aw] = tf.split(anchors, 4, 1) as tf.Tensor2D[];
  const cy = tf.add(ay, tf.mul(dy, ah));
  const cx = tf.add(ax, tf.mul(dx, aw));
  const halfH = tf.mul(ah, tf.mul(tf.exp(tf.minimum(dh, MAX_LOG_SCALE)), 0.5));
  const halfW = tf.mul(aw, tf.mul(tf.exp(tf.minimum(dw, MAX_LOG_SCALE)), 0.5));
  const corners = tf.concat([tf.sub(cy, halfH), tf.sub(cx, halfW), tf.add(cy, halfH), tf.add(cx, halfW)], 1);
  return tf.clipByValue(corners, 0, 1) as tf.Tensor2D;
}

export class PlaceholderTinyDetector implements Detector {
  readonly info: ModelInfo;
  private readonly layers: ConvLayer[];
  private readonly head: ConvLayer;
  private readonly anchors: tf.Tensor2D;
  private readonly categories = cocoCategoriesContiguous();

  constructor(private readonly options: ModelLoadOptions, seed = 2) {
    rejectWeights(options);
    const prng = createPrng(seed);
    this.layers = backboneLayers(prng);
    const head = convLayer(prng, 1, 32, this.categories.length + 4);
    head.bias.dispose();
    const bias = new Float32Array(this.categories.length + 4).fill(CLASS_PRIOR_BIAS, 0, this.categories.length);
    this.head = { kernel: head.kernel, bias: tf.tensor1d(bias) };
    this.anchors = gridAnchors(DETECTOR_INPUT / STRIDE);
    this.info = {
      name: PLACEHOLDER_KIND, task: 'detection', backbone: BACKBONE,
      inputWidth: DETECTOR_INPUT, inputHeight: DETECTOR_INPUT, numClasses: this.categories.length, engine: options.engine,
    };
  }

  async detect(image: Uint8Array, options: DetectOptions = {}): Promise<{ detections: Detection[]; image: ImageMeta }> {
    const maxDetections = checkIntOption('detect', 'maxDetections', options.maxDetections ?? 100, 1, 10_000);
    const minScore = options.minScore ?? 0.5;
    if (!(minScore >= 0 && minScore <= 1)) {
      throw new NasnetError('INVALID_ARGUMENT', `detect: minScore must be a number in [0, 1]; received ${minScore}`, { field: 'minScore' });
    }
    const input = await loadImageForModel(image, {
      width: DETECTOR_INPUT, height: DETECTOR_INPUT, mode: 'letterbox', maxPixels: this.options.maxPixels, minSide: MIN_MODEL_IMAGE_SIDE,
    });
    const k = this.categories.length;
    const [boxes, scores, classes] = tf.tidy(() => {
      const features = backbone(this.layers, input.tensor); // [1,G,G,32]
      const head = tf.add(tf.conv2d(features, this.head.kernel, 1, 'same'), this.head.bias);
      const out = tf.reshape(head, [-1, k + 4]) as tf.Tensor2D; // [A,K+4]
      const probabilities = tf.sigmoid(tf.slice(out, [0, 0], [-1, k])); // [A,K]
      return [decodeBoxes(tf.slice(out, [0, k], [-1, 4]), this.anchors), tf.max(probabilities, 1), tf.argMax(probabilities, 1)];
    });
    input.tensor.dispose();
    const keep = await tf.image.nonMaxSuppressionAsync(boxes as tf.Tensor2D, scores as tf.Tensor1D, maxDetections, NMS_IOU, minScore);
    const [boxData, scoreData, classData, keepData] = await Promise.all([boxes.data(), scores.data(), classes.data(), keep.data()]);
    tf.dispose([boxes, scores, classes, keep]);
    const detections: Detection[] = [];
    for (const a of keepData) {
      const bbox = inputBoxToOriginalXywh(Array.from(boxData.subarray(a * 4, a * 4 + 4)), input.meta);
      if (bbox[2] <= 0 || bbox[3] <= 0) continue; // entirely in the letterbox padding
      const category = this.categories[classData[a] as number] as (typeof this.categories)[number];
      detections.push({ bbox, categoryId: category.id, label: category.name, score: scoreData[a] as number });
    }
    return { detections, image: input.meta };
  }

  dispose(): void {
    disposeLayers([...this.layers, this.head]);
    this.anchors.dispose();
  }
}

export async function loadPlaceholderClassifier(options: ModelLoadOptions): Promise<Classifier> {
  rejectTuning(options, 'classification');
  return new PlaceholderTinyClassifier(options);
}

export async function loadPlaceholderDetector(options: ModelLoadOptions): Promise<Detector> {
  rejectTuning(options, 'detection');
  return new PlaceholderTinyDetector(options);
}
