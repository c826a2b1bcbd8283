// Training losses of the two stages, as differentiable scalars.
//
// Shape shorthand: A = anchors (one image, levels concatenated), R = sampled ROIs, K = classes including
// background.
//   RPN:      objectness [A] logits, deltas [A, 4], labels [A] (1 fg, 0 bg, -1 not sampled), targets [A, 4]
//   box head: classLogits [R, K], boxDeltas [R, 4K], labels [R] (class id, 0 bg), targets [R, 4]
//
// Normalisation follows torchvision (models/detection/rpn.py `compute_loss`, roi_heads.py
// `fastrcnn_loss`): objectness BCE averaged over sampled anchors; RPN box loss summed over sampled
// positives and divided by the number of sampled anchors; classifier cross-entropy averaged over R; box
// loss summed over positives (the deltas of their own class only) and divided by R. Smooth L1 with
// beta 1/9 as torchvision (beta 0 gives L1). The TF OD API weights the terms (spec section 5.2:
// localisation 2, objectness / classification 1); `NASNET_LOSS_WEIGHTS` holds those for the trainer.
//
// Selections are written as masks, not gathers: no gather gradient is needed (the wasm backend has
// none), and every anchor keeps a defined (possibly zero) gradient. Target rows of unselected entries
// are multiplied by 0, so they must be finite (encode them against any gt, as torchvision does).
import * as tf from '@tensorflow/tfjs-core';
import { NasnetError } from '../core/errors.js';

export type RpnLossName = 'loss_objectness' | 'loss_rpn_box_reg';
export type BoxHeadLossName = 'loss_classifier' | 'loss_box_reg';
export type LossName = RpnLossName | BoxHeadLossName;

/** TF OD API NASNet Faster R-CNN loss weights (spec section 5.2). */
export const NASNET_LOSS_WEIGHTS: Readonly<Record<LossName, number>> = {
  loss_objectness: 1,
  loss_rpn_box_reg: 2,
  loss_classifier: 1,
  loss_box_reg: 2,
};

/** torchvision's smooth-L1 beta for both stages. */
export const SMOOTH_L1_BETA = 1 / 9;

/** Elementwise smooth L1: 0.5 x^2 / beta below beta, |x| - 0.5 beta above (written without comparisons). */
export function smoothL1(diff: tf.Tensor, beta = SMOOTH_L1_BETA): tf.Tensor {
  return tf.tidy(() => {
    const a = tf.abs(diff);
    if (beta === 0) return a;
    const m = tf.minimum(a, beta);
    return tf.add(tf.div(tf.mul(0.5, tf.square(m)), beta), tf.sub(a, m));
  });
}

/** Elementwise binary cross-entropy of logits x against targets y, in the stable form. */
function bceWithLogits(x: tf.Tensor, y: tf.Tensor): tf.Tensor {
  return tf.add(tf.sub(tf.relu(x), tf.mul(x, y)), tf.log1p(tf.exp(tf.neg(tf.abs(x)))));
}

function checkRows(what: string, tensor: tf.Tensor, rows: number, cols: number | undefined, name: string): void {
  if (tensor.shape[0] !== rows || (cols !== undefined && tensor.shape[1] !== cols) || tensor.rank !== (cols === undefined ? 1 : 2)) {
    throw new NasnetError('INVALID_ARGUMENT', `${what}: ${name} must be [${rows}${cols === undefined ? '' : `, ${cols}`}]; received [${tensor.shape.join(', ')}]`, {
      argument: name,
    });
  }
}

export interface RpnLossInputs {
  readonly objectness: tf.Tensor1D;
  readonly deltas: tf.Tensor2D;
  /** 1 sampled foreground, 0 sampled background, -1 not in the minibatch (sampler.ts `sampledLabels`). */
  readonly labels: Int32Array;
  readonly targets: tf.Tensor2D;
}

export function rpnLosses(inputs: RpnLossInputs, beta = SMOOTH_L1_BETA): Record<RpnLossName, tf.Scalar> {
  const a = inputs.labels.length;
  checkRows('rpnLosses', inputs.objectness, a, undefined, 'objectness');
  checkRows('rpnLosses', inputs.deltas, a, 4, 'deltas');
  checkRows('rpnLosses', inputs.targets, a, 4, 'targets');
  const sampled = Float32Array.from(inputs.labels, (l) => (l >= 0 ? 1 : 0));
  const positive = Float32Array.from(inputs.labels, (l) => (l >= 1 ? 1 : 0));
  const count = Math.max(1, sampled.reduce((s, v) => s + v, 0));
  return tf.tidy(() => {
    const bce = bceWithLogits(inputs.objectness, tf.tensor1d(positive));
    const box = tf.sum(smoothL1(tf.sub(inputs.deltas, inputs.targets), beta), 1); // [A]
    return {
      loss_objectness: tf.div(tf.sum(tf.mul(bce, tf.tensor1d(sampled))), count) as tf.Scalar,
      loss_rpn_box_reg: tf.div(tf.sum(tf.mul(box, tf.tensor1d(positive))), count) as tf.Scalar,
    };
  });
}

export interface BoxHeadLossInputs {
  readonly classLogits: tf.Tensor2D;
  readonly boxDeltas: tf.Tensor2D;
  /** Class id per sampled ROI, 0 for background. */
  readonly labels: Int32Array;
  /** Encoded gt box of each ROI (used for positives only). */
  readonly targets: tf.Tensor2D;
}

export function boxHeadLosses(inputs: BoxHeadLossInputs, beta = SMOOTH_L1_BETA): Record<BoxHeadLossName, tf.Scalar> {
  const r = inputs.labels.length;
  const k = inputs.classLogits.shape[1];
  checkRows('boxHeadLosses', inputs.classLogits, r, k, 'classLogits');
  checkRows('boxHeadLosses', inputs.boxDeltas, r, 4 * k, 'boxDeltas');
  checkRows('boxHeadLosses', inputs.targets, r, 4, 'targets');
  const bad = inputs.labels.findIndex((l) => !(l >= 0 && l < k));
  if (bad >= 0) {
    throw new NasnetError('INVALID_ARGUMENT', `boxHeadLosses: labels must be class ids in [0, ${k}); received ${inputs.labels[bad]} at ${bad}`, { argument: 'labels' });
  }
  const n = Math.max(1, r);
  return tf.tidy(() => {
    const oneHot = tf.oneHot(tf.tensor1d(inputs.labels, 'int32'), k); // [R, K]
    const ce = tf.neg(tf.sum(tf.mul(oneHot, tf.logSoftmax(inputs.classLogits))));
    // Positives only, at their own class: one-hot with the background column zeroed.
    const own = tf.mul(oneHot, tf.concat([tf.zeros([1]), tf.ones([k - 1])])); // [R, K]
    const diff = tf.sub(tf.reshape(inputs.boxDeltas, [r, k, 4]), tf.expandDims(inputs.targets, 1)); // [R, K, 4]
    const box = tf.sum(smoothL1(diff, beta), 2); // [R, K]
    return {
      loss_classifier: tf.div(ce, n) as tf.Scalar,
      loss_box_reg: tf.div(tf.sum(tf.mul(box, own)), n) as tf.Scalar,
    };
  });
}
