// Box head (second stage): per-ROI features, then class logits and class-specific box deltas.
//
// Shape shorthand: R = ROIs, PH, PW, C = crop size and channels (roi_align.ts), D = feature width,
// K = classes including background (column 0).
//   crops [R, PH, PW, C] --extractor--> [R, D] --predictor--> classLogits [R, K], boxDeltas [R, 4K]
// boxDeltas column 4k + j is code j (dy, dx, dh, dw; box_coder.ts) of class k, background included,
// as torchvision's FastRCNNPredictor (which post-processing expects).
//
// Two extractors plug into the same head:
// - `TwoFcExtractor`: flatten + fc + relu + fc + relu (torchvision TwoMLPHead), for small configs. It
//   flattens NHWC crops, so torchvision weights (NCHW flatten) would need their input rows permuted.
// - `PooledCellsExtractor`: the paper's head. The TF OD API runs the NASNet cells after the split
//   (reduction cell + cells 12-17 with a final relu) on the crops, averages spatially and feeds the
//   predictor (spec section 5.1). The cell stack is a `RoiCellStack` the composition provides.
//
// Init (seeded, so a config reproduces): fc kernels He-normal, predictor kernels N(0, 0.01) for
// classes and N(0, 0.001) for boxes (Detectron's choice), biases 0.
import * as tf from '@tensorflow/tfjs-core';
import { NasnetError } from '../core/errors.js';
import { initializerSeed } from '../data/seed.js';

/** deriveSeed stream of the dense layers' initial weights (with the seed each layer is given). */
const BOX_HEAD_INIT_STREAM = 0x4e2;

type Weights = Readonly<Record<string, tf.Variable>>;

/** Anything with variables that the head owns and frees. */
interface Owned {
  namedWeights(): Weights;
  dispose(): void;
}

/** crops [R, PH, PW, C] -> features [R, D]. */
export interface RoiFeatureExtractor extends Owned {
  readonly outputDim: number;
  apply(crops: tf.Tensor4D, training: boolean): tf.Tensor2D;
}

/** The cells run on the crops: [R, PH, PW, C] -> [R, PH', PW', D] (already relu'd). */
export interface RoiCellStack extends Owned {
  readonly outputChannels: number;
  apply(crops: tf.Tensor4D, training: boolean): tf.Tensor4D;
}

export interface BoxHeadOutputs {
  /** [R, K] */
  readonly classLogits: tf.Tensor2D;
  /** [R, 4K] */
  readonly boxDeltas: tf.Tensor2D;
}

function positiveInt(value: number, owner: string, field: string): void {
  if (!Number.isInteger(value) || value < 1) {
    throw new NasnetError('INVALID_CONFIG', `${owner}: ${field} must be a positive integer; received ${value}`, { field });
  }
}

/** A dense layer's kernel [in, out] ~ N(0, std) (seeded) and zero bias [out], under `prefix`. */
function denseWeights(prefix: string, inDim: number, outDim: number, std: number, seed: number): Record<string, tf.Variable> {
  return tf.tidy(() => ({
    [`${prefix}/kernel`]: tf.variable(tf.randomNormal([inDim, outDim], 0, std, 'float32', initializerSeed(seed, BOX_HEAD_INIT_STREAM))),
    [`${prefix}/bias`]: tf.variable(tf.zeros([outDim])),
  }));
}

function dense(x: tf.Tensor2D, weights: Weights, prefix: string): tf.Tensor2D {
  return tf.add(tf.matMul(x, weights[`${prefix}/kernel`] as tf.Tensor2D), weights[`${prefix}/bias`] as tf.Tensor1D);
}

function disposeAll(weights: Weights): void {
  for (const v of Object.values(weights)) v.dispose();
}

export interface TwoFcConfig {
  /** [PH, PW, C] of the crops. */
  readonly inputShape: readonly [number, number, number];
  /** Width of both layers (torchvision: 1024). */
  readonly hiddenDim: number;
  readonly seed: number;
}

export class TwoFcExtractor implements RoiFeatureExtractor {
  readonly outputDim: number;
  private readonly weights: Weights;
  private readonly inDim: number;

  constructor(config: TwoFcConfig) {
    config.inputShape.forEach((v, i) => positiveInt(v, 'TwoFcExtractor', `inputShape[${i}]`));
    positiveInt(config.hiddenDim, 'TwoFcExtractor', 'hiddenDim');
    const [ph, pw, c] = config.inputShape;
    this.inDim = ph * pw * c;
    this.outputDim = config.hiddenDim;
    const d = config.hiddenDim;
    this.weights = {
      ...denseWeights('box_head/fc6', this.inDim, d, Math.sqrt(2 / this.inDim), config.seed),
      ...denseWeights('box_head/fc7', d, d, Math.sqrt(2 / d), config.seed + 1),
    };
  }

  namedWeights(): Weights {
    return this.weights;
  }

  apply(crops: tf.Tensor4D, _training: boolean): tf.Tensor2D {
    const [r, ...rest] = crops.shape;
    if (rest.reduce((a, b) => a * b, 1) !== this.inDim) {
      throw new NasnetError('INVALID_ARGUMENT', `TwoFcExtractor.apply: crops must be [R, PH, PW, C] with PH*PW*C = ${this.inDim}; received [${crops.shape.join(', ')}]`, {
        argument: 'crops',
      });
    }
    return tf.tidy(() => {
      const flat = tf.reshape(crops, [r, this.inDim]); // [R, PH*PW*C]
      return tf.relu(dense(tf.relu(dense(flat as tf.Tensor2D, this.weights, 'box_head/fc6')), this.weights, 'box_head/fc7'));
    });
  }

  dispose(): void {
    disposeAll(this.weights);
  }
}

/** The paper's head: NASNet cells on the crops, then a spatial mean (TF OD API box_head.py). */
export class PooledCellsExtractor implements RoiFeatureExtractor {
  readonly outputDim: number;

  constructor(private readonly cells: RoiCellStack) {
    this.outputDim = cells.outputChannels;
  }

  namedWeights(): Weights {
    return this.cells.namedWeights();
  }

  apply(crops: tf.Tensor4D, training: boolean): tf.Tensor2D {
    return tf.tidy(() => tf.mean(this.cells.apply(crops, training), [1, 2]) as tf.Tensor2D);
  }

  dispose(): void {
    this.cells.dispose();
  }
}

export interface BoxHeadConfig {
  /** Classes including background. */
  readonly numClasses: number;
  readonly seed: number;
}

/** Extractor + the two linear predictors. Owns the extractor. */
export class BoxHead {
  readonly numClasses: number;
  private readonly predictor: Weights;

  constructor(
    private readonly extractor: RoiFeatureExtractor,
    config: BoxHeadConfig,
  ) {
    positiveInt(config.numClasses, 'BoxHead', 'numClasses');
    if (config.numClasses < 2) {
      throw new NasnetError('INVALID_CONFIG', `BoxHead: numClasses counts the background and must be >= 2; received ${config.numClasses}`, { field: 'numClasses' });
    }
    this.numClasses = config.numClasses;
    const d = extractor.outputDim;
    this.predictor = {
      ...denseWeights('box_predictor/class', d, config.numClasses, 0.01, config.seed),
      ...denseWeights('box_predictor/box', d, 4 * config.numClasses, 0.001, config.seed + 1),
    };
  }

  /** Extractor and predictor variables by checkpoint name. */
  namedWeights(): Weights {
    return { ...this.extractor.namedWeights(), ...this.predictor };
  }

  apply(crops: tf.Tensor4D, training: boolean): BoxHeadOutputs {
    const features = this.extractor.apply(crops, training);
    try {
      return this.predict(features);
    } finally {
      features.dispose();
    }
  }

  /** The two linear predictors on features [R, D]. */
  private predict(features: tf.Tensor2D): BoxHeadOutputs {
    return tf.tidy(() => ({ classLogits: dense(features, this.predictor, 'box_predictor/class'), boxDeltas: dense(features, this.predictor, 'box_predictor/box') }));
  }

  dispose(): void {
    this.extractor.dispose();
    disposeAll(this.predictor);
  }
}
