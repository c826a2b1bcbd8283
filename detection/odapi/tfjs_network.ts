// The faster_rcnn_nas network on TensorFlow.js: the two stages of faster_rcnn_nas.ts over TfjsSlimOps.
// Shape shorthand: N = 1 image, H, W = input, h, w = stride-16 map, C = RPN features (2 x Cell_11 width),
// M = RPN conv depth, A = anchors per location, P = proposals, c = crop side, D = stage-2 width, K = classes.
// `capture` keeps host copies of the intermediates under the OD API's own names (prediction_dict keys),
// which the reference tests compare.
import * as tf from '@tensorflow/tfjs-core';
import type { CheckpointWeights } from './checkpoint_weights.js';
import { FIRST_STAGE_SCOPE, NASNET_LARGE_SPLIT, SECOND_STAGE_SCOPE, type FirstStageOutputs, type OdapiNetwork, type SecondStageOutputs } from './faster_rcnn_nas.js';
import type { OdapiFasterRcnnConfig } from './pipeline_config.js';
import { slimCells, slimStem } from './slim_nasnet.js';
import { TfjsSlimOps } from './tfjs_slim_ops.js';

export class TfjsOdapiNetwork implements OdapiNetwork {
  private readonly ops: TfjsSlimOps;
  private features: tf.Tensor4D | undefined;
  /** Host copies of intermediates of the last run (when `capture`). */
  readonly captured = new Map<string, Float32Array>();

  constructor(
    private readonly config: OdapiFasterRcnnConfig,
    weights: CheckpointWeights,
    private readonly capture = false,
  ) {
    this.ops = new TfjsSlimOps(weights);
  }

  private keep(name: string, t: tf.Tensor): void {
    if (this.capture) this.captured.set(name, t.dataSync() as Float32Array);
  }

  /** Stage 1 + RPN head (run once on zeros by `warm` to upload and check every first-stage weight). */
  firstStageSync(preprocessed: Float32Array): FirstStageOutputs {
    const { height, width } = this.config.imageResizer;
    const { ops } = this;
    const out = tf.tidy(() => {
      const image = tf.tensor4d(preprocessed, [1, height, width, 3]);
      const stem = slimStem(ops, FIRST_STAGE_SCOPE, image);
      const cells = slimCells(ops, FIRST_STAGE_SCOPE, stem, 0, NASNET_LARGE_SPLIT.firstStageCells, NASNET_LARGE_SPLIT.reductions);
      const features = ops.concat([cells.previous, cells.hidden]);
      this.keep('pred_rpn_features_to_crop', features);
      const rpn = tf.clipByValue(ops.conv(features, 'Conv', 1, 'SAME', true), 0, 6); // ReLU6
      this.keep('pred_rpn_box_predictor_features', rpn);
      const boxes = ops.conv(rpn, 'FirstStageBoxPredictor/BoxEncodingPredictor', 1, 'SAME', true);
      const classes = ops.conv(rpn, 'FirstStageBoxPredictor/ClassPredictor', 1, 'SAME', true);
      return { features: tf.keep(features), boxes: boxes.dataSync() as Float32Array, classes: classes.dataSync() as Float32Array };
    });
    this.features?.dispose();
    this.features = out.features;
    return { featureSize: [out.features.shape[1], out.features.shape[2]], boxEncodings: out.boxes, objectness: out.classes };
  }

  async firstStage(preprocessed: Float32Array): Promise<FirstStageOutputs> {
    return this.firstStageSync(preprocessed);
  }

  /** crop_and_resize + max pool, stage-2 cells, spatial mean, the two FC predictors. */
  secondStageSync(proposalsNormalized: Float32Array): SecondStageOutputs {
    const features = this.features;
    if (features === undefined) throw new Error('TfjsOdapiNetwork.secondStage before firstStage');
    const { ops, config } = this;
    const p = proposalsNormalized.length / 4;
    return tf.tidy(() => {
      const c = config.initialCropSize;
      const boxes = tf.tensor2d(proposalsNormalized, [p, 4]);
      let crops = tf.image.cropAndResize(features, boxes, tf.zeros([p], 'int32'), [c, c], 'bilinear', 0);
      crops = tf.maxPool(crops, config.maxpoolKernelSize, config.maxpoolStride, 'valid');
      const half = crops.shape[3] / 2;
      const [previous, hidden] = tf.split(crops, [half, half], 3) as [tf.Tensor4D, tf.Tensor4D];
      const cells = slimCells(ops, SECOND_STAGE_SCOPE, { previous, hidden }, NASNET_LARGE_SPLIT.firstStageCells, NASNET_LARGE_SPLIT.numCells, NASNET_LARGE_SPLIT.reductions);
      const net = tf.relu(cells.hidden);
      this.keep('pred_box_classifier_features', net);
      const pooled = tf.mean(net, [1, 2]) as tf.Tensor2D; // [P,D]
      const dense = (scope: string): Float32Array => {
        const y = tf.add(tf.matMul(pooled, ops.tensor(`${scope}/weights`, 2) as tf.Tensor2D), ops.tensor(`${scope}/biases`, 1));
        return y.dataSync() as Float32Array;
      };
      return { refinedBoxEncodings: dense('SecondStageBoxPredictor/BoxEncodingPredictor'), classLogits: dense('SecondStageBoxPredictor/ClassPredictor') };
    });
  }

  async secondStage(proposalsNormalized: Float32Array): Promise<SecondStageOutputs> {
    return this.secondStageSync(proposalsNormalized);
  }

  dispose(): void {
    this.features?.dispose();
    this.features = undefined;
    this.ops.dispose();
  }
}
