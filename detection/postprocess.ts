// Detection post-processing: box-head outputs -> final boxes, scores and labels of one image.
//
// Shape shorthand: R = proposals, K = classes including background (column 0), D = detections.
//   classLogits [R, K], boxDeltas [R, 4K], proposals [R*4] -> boxes [D*4], scores [D], labels [D]
//
// torchvision/models/detection/roi_heads.py `RoIHeads.postprocess_detections`: decode every class box
// against its proposal, softmax over all K (background included), clip, drop the background column,
// flatten proposal-major (candidate i*(K-1) + k-1 is proposal i, class k), keep score > threshold
// (strict) and sides >= minSize pixels, NMS per class, keep the first `detectionsPerImage`. The decode
// and softmax run on the backend; the rest on the CPU after one read (like proposal filtering).
import * as tf from '@tensorflow/tfjs-core';
import { NasnetError } from '../core/errors.js';
import { decodeClassBoxes, ROI_BOX_CODE_WEIGHTS, type BoxCodeWeights } from './box_coder.js';
import { boxCount, type BoxFrame } from './box_ops.js';
import { clipFilterSuppress } from './nms.js';

export interface PostprocessConfig {
  /** Candidates need score > this (strict). */
  readonly scoreThreshold: number;
  readonly nmsThreshold: number;
  readonly detectionsPerImage: number;
  /** Minimum height and width in pixels of the network input. */
  readonly minSize: number;
  readonly boxCodeWeights: BoxCodeWeights;
}

/**
 * The NASNet Faster R-CNN second-stage settings (spec section 5.2: score 0, IoU 0.6, 100 in total);
 * min size 0.01 px and weights (10, 10, 5, 5) as torchvision. torchvision's own defaults differ only
 * in score 0.05 and IoU 0.5.
 */
export const DEFAULT_POSTPROCESS_CONFIG: PostprocessConfig = {
  scoreThreshold: 0,
  nmsThreshold: 0.6,
  detectionsPerImage: 100,
  minSize: 1e-2,
  boxCodeWeights: ROI_BOX_CODE_WEIGHTS,
};

/** Fills unset fields from the defaults and validates every field. */
export function resolvePostprocessConfig(partial: Partial<PostprocessConfig>): PostprocessConfig {
  const config = { ...DEFAULT_POSTPROCESS_CONFIG, ...partial };
  const check = (field: keyof PostprocessConfig, ok: boolean, expected: string): void => {
    if (!ok) throw new NasnetError('INVALID_CONFIG', `postprocess config: ${field} must be ${expected}; received ${String(config[field])}`, { field });
  };
  check('scoreThreshold', config.scoreThreshold >= 0 && config.scoreThreshold <= 1, 'in [0, 1]');
  check('nmsThreshold', config.nmsThreshold >= 0 && config.nmsThreshold <= 1, 'in [0, 1]');
  check('detectionsPerImage', Number.isInteger(config.detectionsPerImage) && config.detectionsPerImage >= 1, 'a positive integer');
  check('minSize', config.minSize >= 0 && Number.isFinite(config.minSize), 'a finite number >= 0');
  check('boxCodeWeights', config.boxCodeWeights.length === 4 && config.boxCodeWeights.every((w) => w > 0), 'four positive numbers');
  return config;
}

export interface PostprocessInputs {
  /** [R, K] */
  readonly classLogits: tf.Tensor2D;
  /** [R, 4K] */
  readonly boxDeltas: tf.Tensor2D;
  /** [R*4] boxes the deltas are relative to, in the frame's units. */
  readonly proposals: Float32Array;
}

// A type alias (not an interface) so that it passes through tf.tidy as a TensorContainer.
export type Detections = {
  /** [D*4] [y1, x1, y2, x2] in the frame's units, decreasing score. */
  readonly boxes: Float32Array;
  /** [D] softmax probabilities. */
  readonly scores: Float32Array;
  /** [D] class ids in 1..K-1. */
  readonly labels: Int32Array;
};

/** Decoded class boxes [R*K*4] and softmax scores [R*K], read back from the backend. */
export function decodeDetections(inputs: PostprocessInputs, weights: BoxCodeWeights): { boxes: Float32Array; scores: Float32Array } {
  const r = boxCount(inputs.proposals, 'postprocessDetections', 'proposals');
  const [rows, k] = inputs.classLogits.shape;
  if (rows !== r || inputs.boxDeltas.shape[0] !== r || inputs.boxDeltas.shape[1] !== 4 * k) {
    throw new NasnetError(
      'INVALID_ARGUMENT',
      `postprocessDetections: expected classLogits [${r}, K] and boxDeltas [${r}, 4K]; received [${inputs.classLogits.shape.join(', ')}] and [${inputs.boxDeltas.shape.join(', ')}]`,
      { argument: 'inputs' },
    );
  }
  // Read outside tf.tidy: a tidy walks every element of a typed array it returns.
  const [boxes, scores] = tf.tidy(() => [decodeClassBoxes(inputs.boxDeltas, tf.tensor2d(inputs.proposals, [r, 4]), weights), tf.softmax(inputs.classLogits)]);
  const result = { boxes: boxes.dataSync() as Float32Array, scores: scores.dataSync() as Float32Array };
  tf.dispose([boxes, scores]);
  return result;
}

export function postprocessDetections(inputs: PostprocessInputs, config: PostprocessConfig, frame: BoxFrame): Detections {
  const { boxes, scores } = decodeDetections(inputs, config.boxCodeWeights);
  const k = inputs.classLogits.shape[1];
  const r = scores.length / k;
  // Drop the background column; candidates stay proposal-major.
  const candidateBoxes = boxes.filter((_, j) => Math.floor(j / 4) % k !== 0);
  const candidateScores = scores.filter((_, i) => i % k !== 0);
  const labels = Int32Array.from({ length: r * (k - 1) }, (_, c) => (c % (k - 1)) + 1);
  const kept = clipFilterSuppress(candidateBoxes, candidateScores, labels, frame, {
    minSize: config.minSize,
    scoreThreshold: config.scoreThreshold,
    scoreComparison: '>',
    nmsThreshold: config.nmsThreshold,
    maxOutput: config.detectionsPerImage,
  });
  return { boxes: kept.boxes, scores: kept.scores, labels: Int32Array.from(kept.indices, (c) => labels[c] as number) };
}
