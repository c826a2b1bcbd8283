// Region Proposal Network: the head (objectness + box deltas per anchor) and proposal filtering
// (per-level top-k on logits, decode, clip, small-box removal, score threshold, per-level NMS, top-k).
//
// Shape shorthand: N = images, H, W = feature map, C = feature channels, M = head channels,
// A = anchors per location, R = anchors of one image over all levels (sum of H*W*A), T = top-k kept.
//
// Channel order. objectness [N, H, W, A]: channel a is cell anchor a. deltas [N, H, W, 4A]: channel
// 4a + j is code j of anchor a, with codes (dy, dx, dh, dw) (box_coder.ts). Flattening one image as
// reshape(objectness, [-1]) and reshape(deltas, [-1, 4]) gives index (row * W + col) * A + a, the anchor
// order of anchors.ts. torchvision's RPNHead is NCHW with the same anchor-major channels but codes
// (dx, dy, dw, dh): importing its weights means transposing kernels to HWIO and swapping the code pairs
// of the box channels (torchvision/models/detection/rpn.py `concat_box_prediction_layers`).
//
// Objectness is one logit per anchor with a sigmoid (torchvision), not the TF OD API's two-class
// softmax; the two are equivalent up to a reparameterisation (logit = l_object - l_background).
import * as tf from '@tensorflow/tfjs-core';
import { NasnetError } from '../core/errors.js';
import { initializerSeed } from '../data/seed.js';
import { decodeBoxes, RPN_BOX_CODE_WEIGHTS } from './box_coder.js';
import type { BoxFrame } from './box_ops.js';
import { argsortDescending, clipFilterSuppress } from './nms.js';

/** deriveSeed stream of the RPN's initial weights (with the model seed and the layer index). */
const RPN_INIT_STREAM = 0x4e1;

export interface RpnHeadConfig {
  readonly inChannels: number;
  /** Channels of the shared 3x3 conv (TF OD API `first_stage_box_predictor_depth`, default 512). */
  readonly midChannels: number;
  readonly numAnchors: number;
  /** Seed of the N(0, 0.01) weight init (torchvision RPNHead); biases start at 0. */
  readonly seed: number;
}

export interface RpnOutputs {
  /** [N, H, W, A] logits. */
  readonly objectness: tf.Tensor4D;
  /** [N, H, W, 4A] codes (dy, dx, dh, dw) per anchor. */
  readonly deltas: tf.Tensor4D;
}

/** 3x3 conv + relu, then two sibling 1x1 convs. Owns its variables. */
export class RpnHead {
  readonly config: RpnHeadConfig;
  private readonly weights: Record<string, tf.Variable>;

  constructor(config: RpnHeadConfig) {
    for (const field of ['inChannels', 'midChannels', 'numAnchors'] as const) {
      const v = config[field];
      if (!Number.isInteger(v) || v < 1) {
        throw new NasnetError('INVALID_CONFIG', `RpnHead: ${field} must be a positive integer; received ${v}`, { field });
      }
    }
    this.config = config;
    const { inChannels: c, midChannels: m, numAnchors: a, seed } = config;
    const normal = (shape: number[], stream: number): tf.Tensor => tf.randomNormal(shape, 0, 0.01, 'float32', initializerSeed(seed, RPN_INIT_STREAM, stream));
    // Keys are the checkpoint names; tf.variable names stay auto-generated because they are global and
    // two heads may coexist.
    this.weights = tf.tidy(() => ({
      'rpn/conv/kernel': tf.variable(normal([3, 3, c, m], 0)),
      'rpn/conv/bias': tf.variable(tf.zeros([m])),
      'rpn/objectness/kernel': tf.variable(normal([1, 1, m, a], 1)),
      'rpn/objectness/bias': tf.variable(tf.zeros([a])),
      'rpn/box/kernel': tf.variable(normal([1, 1, m, 4 * a], 2)),
      'rpn/box/bias': tf.variable(tf.zeros([4 * a])),
    }));
  }

  /** Variables by name (checkpoint keys). */
  namedWeights(): Readonly<Record<string, tf.Variable>> {
    return this.weights;
  }

  apply(features: tf.Tensor4D): RpnOutputs {
    if (features.rank !== 4 || features.shape[3] !== this.config.inChannels) {
      throw new NasnetError('INVALID_ARGUMENT', `RpnHead.apply: features must be [N, H, W, ${this.config.inChannels}]; received [${features.shape.join(', ')}]`, {
        argument: 'features',
      });
    }
    const w = this.weights;
    return tf.tidy(() => {
      const conv = (x: tf.Tensor4D, name: string): tf.Tensor4D =>
        tf.add(tf.conv2d(x, w[`${name}/kernel`] as tf.Tensor4D, 1, 'same'), w[`${name}/bias`] as tf.Tensor1D);
      const hidden = tf.relu(conv(features, 'rpn/conv'));
      return { objectness: conv(hidden, 'rpn/objectness'), deltas: conv(hidden, 'rpn/box') };
    });
  }

  dispose(): void {
    for (const v of Object.values(this.weights)) v.dispose();
  }
}

export interface ProposalConfig {
  /** Top-k anchors by logit kept per level before NMS. */
  readonly preNmsTopN: number;
  /** Proposals kept after NMS (TF OD API `first_stage_max_proposals`). */
  readonly postNmsTopN: number;
  readonly nmsThreshold: number;
  /** Minimum objectness probability (kept when >=). */
  readonly scoreThreshold: number;
  /** Minimum height and width in pixels of the network input. */
  readonly minSize: number;
}

/**
 * NASNet Faster R-CNN settings (spec section 5.2: NMS IoU 0.7, score 0, 500 proposals). The TF OD API
 * runs NMS over all anchors; a pre-NMS top-k (torchvision/Detectron C4 values 12000 train / 6000 test)
 * bounds the CPU NMS cost without changing the best proposals in practice.
 */
export const DEFAULT_PROPOSAL_CONFIG: { readonly train: ProposalConfig; readonly test: ProposalConfig } = {
  train: { preNmsTopN: 12000, postNmsTopN: 500, nmsThreshold: 0.7, scoreThreshold: 0, minSize: 1e-3 },
  test: { preNmsTopN: 6000, postNmsTopN: 500, nmsThreshold: 0.7, scoreThreshold: 0, minSize: 1e-3 },
};

/** Fills unset fields from the defaults of `mode` and validates every field. */
export function resolveProposalConfig(partial: Partial<ProposalConfig>, mode: 'train' | 'test'): ProposalConfig {
  const config = { ...DEFAULT_PROPOSAL_CONFIG[mode], ...partial };
  const check = (field: keyof ProposalConfig, ok: boolean, expected: string): void => {
    if (!ok) throw new NasnetError('INVALID_CONFIG', `proposal config: ${field} must be ${expected}; received ${config[field]}`, { field });
  };
  check('preNmsTopN', Number.isInteger(config.preNmsTopN) && config.preNmsTopN >= 1, 'a positive integer');
  check('postNmsTopN', Number.isInteger(config.postNmsTopN) && config.postNmsTopN >= 1, 'a positive integer');
  check('nmsThreshold', config.nmsThreshold >= 0 && config.nmsThreshold <= 1, 'in [0, 1]');
  check('scoreThreshold', config.scoreThreshold >= 0 && config.scoreThreshold <= 1, 'in [0, 1]');
  check('minSize', config.minSize >= 0 && Number.isFinite(config.minSize), 'a finite number >= 0');
  return config;
}

/**
 * Indices of the `k` largest logits of each level (levels are consecutive runs of `levelSizes`), each
 * level sorted descending with ties to the lower index, levels concatenated (torchvision
 * `_get_top_n_idx`).
 */
export function topKPerLevel(logits: Float32Array, levelSizes: readonly number[], k: number): Int32Array {
  const total = levelSizes.reduce((s, n) => s + n, 0);
  if (total !== logits.length) {
    throw new NasnetError('INVALID_ARGUMENT', `topKPerLevel: levelSizes sum to ${total} but there are ${logits.length} logits`, {
      argument: 'levelSizes',
    });
  }
  const out: number[] = [];
  let start = 0;
  for (const n of levelSizes) {
    const order = argsortDescending(logits, Array.from({ length: n }, (_, i) => start + i));
    out.push(...order.subarray(0, Math.min(k, n)));
    start += n;
  }
  return Int32Array.from(out);
}

export interface ProposalInputs {
  /** [R] logits of one image, levels concatenated. */
  readonly objectness: tf.Tensor1D;
  /** [R, 4] codes. */
  readonly deltas: tf.Tensor2D;
  /** [R, 4] anchors, same frame as the output. */
  readonly anchors: tf.Tensor2D;
  /** Anchors per level (sum R). */
  readonly levelSizes: readonly number[];
}

// A type alias (not an interface) so that it passes through tf.tidy as a TensorContainer.
export type Proposals = {
  /** [T*4] boxes, decreasing score. */
  readonly boxes: Float32Array;
  /** [T] objectness probabilities. */
  readonly scores: Float32Array;
};

/**
 * torchvision `RegionProposalNetwork.filter_proposals` for one image. Synchronous (one dataSync of the
 * top-k rows), so it can run inside tf.tidy and inside the loss function given to tf.variableGrads;
 * the outputs are plain arrays (proposals carry no gradient, as in torchvision, which detaches them).
 */
export function filterProposals(inputs: ProposalInputs, config: ProposalConfig, frame: BoxFrame): Proposals {
  const r = inputs.objectness.shape[0];
  if (inputs.deltas.shape[0] !== r || inputs.anchors.shape[0] !== r) {
    throw new NasnetError(
      'INVALID_ARGUMENT',
      `filterProposals: objectness, deltas and anchors must have the same number of rows; received ${r}, ${inputs.deltas.shape[0]}, ${inputs.anchors.shape[0]}`,
      { argument: 'inputs' },
    );
  }
  const logits = inputs.objectness.dataSync() as Float32Array;
  const top = topKPerLevel(logits, inputs.levelSizes, config.preNmsTopN);
  // Read outside tf.tidy: a tidy walks every element of a typed array it returns.
  const decodedTensor = tf.tidy(() => {
    const idx = tf.tensor1d(top, 'int32');
    return decodeBoxes(tf.gather(inputs.deltas, idx), tf.gather(inputs.anchors, idx), RPN_BOX_CODE_WEIGHTS);
  });
  const decoded = decodedTensor.dataSync() as Float32Array;
  decodedTensor.dispose();
  const levelOf = new Int32Array(top.length);
  const scores = new Float32Array(top.length);
  let level = 0;
  let levelEnd = inputs.levelSizes[0] ?? 0;
  top.forEach((anchor, i) => {
    while (anchor >= levelEnd) levelEnd += inputs.levelSizes[++level] as number;
    levelOf[i] = level;
    scores[i] = 1 / (1 + Math.exp(-(logits[anchor] as number)));
  });
  const { boxes, scores: kept } = clipFilterSuppress(decoded, scores, levelOf, frame, {
    minSize: config.minSize,
    scoreThreshold: config.scoreThreshold,
    scoreComparison: '>=',
    nmsThreshold: config.nmsThreshold,
    maxOutput: config.postNmsTopN,
  });
  return { boxes, scores: kept };
}
