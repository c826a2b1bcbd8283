// Faster R-CNN with a NASNet backbone (Ren et al. 2015; Zoph et al. 2018 section 4.3, the TF Object
// Detection API faster_rcnn_nas layout of spec/nasnet.md section 5). Composition only:
//
//   image -> stage 1 cells -> RPN (objectness, deltas) -> proposals -> ROI align -> stage 2 cells
//         (or a 2-FC head) -> box predictor -> postprocess -> detections
//
// Shape shorthand: N = images, S = input side, H, W, C = RPN feature map, A = anchors per location,
// R = ROIs, c = crop side, K = classes + background, D = detections.
//   images [N,S,S,3] ('tf' normalisation, x/127.5 - 1) -> features [N,H,W,C] -> objectness [N,H,W,A],
//   deltas [N,H,W,4A] -> proposals [P*4] per image -> crops [R,c,c,C] -> classLogits [R,K], boxDeltas [R,4K]
// Boxes are [y1,x1,y2,x2] normalised to the network input. `losses` returns the four losses by their fixed
// names (losses.ts); `detect` runs the same stages in inference mode, with stage 1 + RPN head + proposal
// selection and ROI align + box head behind a `DetectionRunner` so that onnxruntime sessions can take their
// place (src/api/detector.ts, src/onnx/detector_export.ts); post-processing stays here.
import * as tf from '@tensorflow/tfjs-core';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { splitForDetection, type DetectionSplit } from '../backbones/detection_split.js';
import { gridAnchors, tfCellAnchors } from './anchors.js';
import { encodeBoxes, ROI_BOX_CODE_WEIGHTS, RPN_BOX_CODE_WEIGHTS } from './box_coder.js';
import { BoxHead, PooledCellsExtractor, TwoFcExtractor, type BoxHeadOutputs, type RoiCellStack } from './box_head.js';
import { pixelsToNormalized, type BoxFrame, type Window } from './box_ops.js';
import { resolveFasterRcnnConfig, type FasterRcnnConfig } from './faster_rcnn_config.js';
import { boxHeadLosses, rpnLosses, type LossName } from './losses.js';
import { postprocessDetections, resolvePostprocessConfig, type Detections, type PostprocessConfig } from './postprocess.js';
import { roiAlign, type RoiAlignConfig, type RoiFrame } from './roi_align.js';
import { filterProposals, resolveProposalConfig, RpnHead, type ProposalConfig } from './rpn.js';
import { properGroundTruth, roiTargets, rpnTargets, type GroundTruth } from './targets.js';
import { setBatchNormMomentum } from '../cells/keras_layers.js';
import { backboneWeights, type NamedVariable } from './backbone_weights.js';
import type { Prng } from '../core/prng.js';

export type { Detections } from './postprocess.js';
export type { GroundTruth } from './targets.js';

/** The per-image arrays of a batch joined end to end. */
function concat<T extends Float32Array | Int32Array>(parts: readonly T[], make: (n: number) => T): T {
  const out = make(parts.reduce((n, p) => n + p.length, 0));
  parts.reduce((offset, p) => (out.set(p, offset), offset + p.length), 0);
  return out;
}

/** The RPN stage of one batch for inference, as a `DetectionRunner` computed it. */
export interface RpnStage {
  /** Proposals of each image: [P*4] ([y1,x1,y2,x2] normalised, clipped to its window), decreasing objectness. */
  readonly proposals: readonly Float32Array[];
  /** The box head on ROIs `boxes` [R*4] of image `n`: ROI align, extractor, predictor. */
  boxHead(boxes: Float32Array, n: number): Promise<BoxHeadOutputs>;
  /** Frees what holds the features. */
  dispose(): void;
}

/**
 * Runs the network parts of inference: tfjs by default (`tfjsRunner`), onnxruntime in the API
 * (src/api/detector.ts, which also selects the proposals in its graph). Post-processing stays here.
 */
export interface DetectionRunner {
  /** images [N,S,S,3] -> stage-1 cells, RPN head and proposal selection (test settings; `windows[n]` clips image n). */
  rpn(images: tf.Tensor4D, windows: readonly Window[]): Promise<RpnStage>;
}

/** The stage-2 NASNet cells on ROI crops: the crop's channels split back into (h_{i-1}, h_i). */
class NasnetRoiCells implements RoiCellStack {
  readonly outputChannels: number;

  constructor(private readonly split: DetectionSplit) {
    this.outputChannels = split.stage2.outputs[0]!.shape[3] as number;
  }

  apply(crops: tf.Tensor4D, training: boolean): tf.Tensor4D {
    return tf.tidy(() => this.split.stage2.apply(tf.split(crops, [...this.split.channels], 3), { training }) as tf.Tensor4D);
  }

  namedWeights(): Readonly<Record<string, tf.Variable>> {
    return Object.fromEntries(backboneWeights([this.split.stage2]).map((w) => [w.name, w.variable]));
  }

  dispose(): void {
    this.split.stage2.dispose();
  }
}

export class FasterRcnn {
  readonly config: FasterRcnnConfig;
  readonly split: DetectionSplit;
  /** [H, W] of the RPN feature map. */
  readonly featureSize: readonly [number, number];
  private readonly rpn: RpnHead;
  private readonly head: BoxHead;
  private readonly cells: NasnetRoiCells | undefined;
  /** [H*W*A*4] normalised anchors, and the same as a [H*W*A, 4] tensor (owned). */
  readonly anchorBoxes: Float32Array;
  private readonly anchors: tf.Tensor2D;
  private readonly proposalConfig: Readonly<Record<'train' | 'test', ProposalConfig>>;
  private readonly postprocessConfig: PostprocessConfig;

  constructor(partial: Partial<FasterRcnnConfig>) {
    const config = resolveFasterRcnnConfig(partial);
    this.config = config;
    this.split = splitForDetection({ ...config.backbone }, { imageSize: config.imageSize, cropSize: config.cropSize });
    for (const stage of [this.split.stage1, this.split.stage2]) setBatchNormMomentum(stage, config.batchNormMomentum);
    const [, h, w, c] = this.split.stage1.outputs[2]!.shape as [null, number, number, number];
    this.featureSize = [h, w];
    const { scales, aspectRatios, baseSize } = config.anchors;
    const stride = this.split.featureStride;
    const cell = tfCellAnchors({ scales, aspectRatios, baseSize: [baseSize, baseSize] });
    const pixels = gridAnchors(cell, { height: h, width: w }, [stride, stride], [stride / 2, stride / 2]);
    this.anchorBoxes = pixelsToNormalized(pixels, { height: config.imageSize, width: config.imageSize });
    this.anchors = tf.tensor2d(this.anchorBoxes, [this.anchorBoxes.length / 4, 4]);
    this.rpn = new RpnHead({ inChannels: c, midChannels: config.rpnChannels, numAnchors: cell.length / 4, seed: config.seed });
    this.cells = config.boxHead === 'cells' ? new NasnetRoiCells(this.split) : undefined;
    const extractor =
      this.cells !== undefined
        ? new PooledCellsExtractor(this.cells)
        : new TwoFcExtractor({ inputShape: [config.cropSize, config.cropSize, c], hiddenDim: config.fcDim, seed: config.seed + 10 });
    this.head = new BoxHead(extractor, { numClasses: config.numClasses + 1, seed: config.seed + 20 });
    this.proposalConfig = { train: resolveProposalConfig(config.proposals.train, 'train'), test: resolveProposalConfig(config.proposals.test, 'test') };
    this.postprocessConfig = resolvePostprocessConfig(config.postprocess);
  }

  /** The backbone models that hold weights (stage 2 only with the cell head). */
  get backboneModels(): LayersModel[] {
    return this.cells !== undefined ? [this.split.stage1, this.split.stage2] : [this.split.stage1];
  }

  /** Every variable by checkpoint name; `trainable` is false for BN statistics (and BN scale/offset when frozen). */
  variables(): NamedVariable[] {
    const head = Object.entries({ ...this.rpn.namedWeights(), ...this.head.namedWeights() });
    const backbone = backboneWeights(this.backboneModels, this.config.frozenBatchNorm);
    const byName = new Map(backbone.map((w) => [w.name, w]));
    for (const [name, variable] of head) if (!byName.has(name)) byName.set(name, { name, variable, trainable: true });
    return [...byName.values()];
  }

  private frame(window: Window): BoxFrame & RoiFrame {
    const s = this.config.imageSize;
    return { clipWindow: window, pixelScale: { height: s, width: s }, spatialScale: 1 / this.split.featureStride };
  }

  /** RPN outputs of image n flattened in anchor order: objectness [H*W*A], deltas [H*W*A, 4]. */
  private rpnOutputs(features: tf.Tensor4D): { objectness: tf.Tensor2D; deltas: tf.Tensor3D } {
    const out = this.rpn.apply(features);
    const n = features.shape[0];
    const objectness = tf.reshape(out.objectness, [n, -1]) as tf.Tensor2D; // [N, H*W*A]
    const deltas = tf.reshape(out.deltas, [n, -1, 4]) as tf.Tensor3D; // [N, H*W*A, 4]
    return { objectness, deltas };
  }

  private proposals(objectness: tf.Tensor2D, deltas: tf.Tensor3D, n: number, mode: 'train' | 'test', window: Window): Float32Array {
    return tf.tidy(() => {
      const inputs = {
        objectness: tf.squeeze(tf.slice(objectness, [n, 0], [1, -1]), [0]) as tf.Tensor1D,
        deltas: tf.squeeze(tf.slice(deltas, [n, 0, 0], [1, -1, -1]), [0]) as tf.Tensor2D,
        anchors: this.anchors,
        levelSizes: [this.anchors.shape[0]],
      };
      return filterProposals(inputs, this.proposalConfig[mode], this.frame(window)).boxes;
    });
  }

  /**
   * Training forward pass on a batch: the four losses (unweighted) by fixed name. `windows[n]` is the
   * image inside the padded input; `prng` drives the two samplers. Call inside tf.variableGrads.
   */
  losses(images: tf.Tensor4D, groundTruth: readonly GroundTruth[], windows: readonly Window[], prng: Prng): Record<LossName, tf.Scalar> {
    const backboneTraining = !this.config.frozenBatchNorm;
    const features = (this.split.stage1.apply(images, { training: backboneTraining }) as tf.Tensor4D[])[2]!;
    const { objectness, deltas } = this.rpnOutputs(features);
    const rpnLabels: Int32Array[] = [];
    const rpnMatched: Float32Array[] = [];
    const rois: Float32Array[] = [];
    const roiLabels: Int32Array[] = [];
    const roiMatched: Float32Array[] = [];
    const roiImage: number[] = [];
    groundTruth.forEach((raw, n) => {
      const gt = properGroundTruth(raw);
      const rpn = rpnTargets(this.anchorBoxes, gt, this.config.rpnSampler, prng);
      rpnLabels.push(rpn.labels);
      rpnMatched.push(rpn.matchedGt);
      const roi = roiTargets(this.proposals(objectness, deltas, n, 'train', windows[n]!), gt, this.config.roiSampler, prng);
      rois.push(roi.rois);
      roiLabels.push(roi.labels);
      roiMatched.push(roi.matchedGt);
      roiImage.push(...roi.labels.map(() => n));
    });
    const allAnchors = tf.tile(this.anchors, [images.shape[0], 1]);
    const rpnLoss = rpnLosses({
      objectness: tf.reshape(objectness, [-1]) as tf.Tensor1D,
      deltas: tf.reshape(deltas, [-1, 4]) as tf.Tensor2D,
      labels: concat(rpnLabels, (n) => new Int32Array(n)),
      targets: encodeBoxes(tf.tensor2d(concat(rpnMatched, (n) => new Float32Array(n)), [allAnchors.shape[0], 4]), allAnchors, RPN_BOX_CODE_WEIGHTS),
    });
    const roiBoxes = concat(rois, (n) => new Float32Array(n));
    const crops = roiAlign(features, roiBoxes, Int32Array.from(roiImage), this.roiAlignConfig(), this.frame([0, 0, 1, 1]));
    const head = this.head.apply(crops, true);
    const r = roiImage.length;
    const boxLoss = boxHeadLosses({
      ...head,
      labels: concat(roiLabels, (n) => new Int32Array(n)),
      targets: encodeBoxes(tf.tensor2d(concat(roiMatched, (n) => new Float32Array(n)), [r, 4]), tf.tensor2d(roiBoxes, [r, 4]), ROI_BOX_CODE_WEIGHTS),
    });
    return { ...rpnLoss, ...boxLoss };
  }

  private roiAlignConfig(): RoiAlignConfig {
    return { outputSize: [this.config.cropSize, this.config.cropSize] as [number, number], samplingRatio: this.config.roiSamplingRatio, aligned: true };
  }

  /** The whole network on tfjs (inference mode). */
  tfjsRunner(): DetectionRunner {
    return {
      rpn: async (images, windows) => {
        const features = tf.tidy(() => (this.split.stage1.predict(images) as tf.Tensor4D[])[2]!.clone());
        let proposals: Float32Array[];
        try {
          proposals = tf.tidy(() => {
            const { objectness, deltas } = this.rpnOutputs(features);
            return this.selectProposals(objectness, deltas, windows);
          });
        } catch (error) {
          features.dispose();
          throw error;
        }
        return {
          proposals,
          boxHead: async (boxes, n) => {
            const [classLogits, boxDeltas] = tf.tidy(() => {
              const crops = roiAlign(features, boxes, new Int32Array(boxes.length / 4).fill(n), this.roiAlignConfig(), this.frame([0, 0, 1, 1]));
              const head = this.head.apply(crops, false);
              return [head.classLogits, head.boxDeltas];
            });
            return { classLogits: classLogits!, boxDeltas: boxDeltas! };
          },
          dispose: () => features.dispose(),
        };
      },
    };
  }

  /**
   * Proposals of each image (test settings) from RPN outputs in anchor order, objectness [N, H*W*A] and
   * deltas [N, H*W*A, 4], clipped to `windows[n]`: [P*4] each.
   */
  selectProposals(objectness: tf.Tensor2D, deltas: tf.Tensor3D, windows: readonly Window[]): Float32Array[] {
    return windows.map((window, n) => this.proposals(objectness, deltas, n, 'test', window));
  }

  /** Detections of one image from its box-head outputs and proposals [R*4]. */
  postprocess(head: BoxHeadOutputs, proposals: Float32Array, window: Window): Detections {
    return tf.tidy(() => postprocessDetections({ ...head, proposals }, this.postprocessConfig, this.frame(window)));
  }

  /**
   * Detections of each image of `images` [N,S,S,3]; `windows[n]` is where image n lies in the input
   * (proposals and detections are clipped to it). Creates no lasting tensor.
   */
  async detect(images: tf.Tensor4D, windows: readonly Window[], runner: DetectionRunner = this.tfjsRunner()): Promise<Detections[]> {
    const rpn = await runner.rpn(images, windows);
    try {
      const out: Detections[] = [];
      for (let n = 0; n < windows.length; n++) {
        const boxes = rpn.proposals[n]!;
        if (boxes.length === 0) {
          out.push({ boxes: new Float32Array(0), scores: new Float32Array(0), labels: new Int32Array(0) });
          continue;
        }
        const head = await rpn.boxHead(boxes, n);
        try {
          out.push(this.postprocess(head, boxes, windows[n]!));
        } finally {
          tf.dispose([head.classLogits, head.boxDeltas]);
        }
      }
      return out;
    } finally {
      rpn.dispose();
    }
  }

  dispose(): void {
    this.anchors.dispose();
    this.rpn.dispose();
    this.head.dispose(); // disposes stage 2 with the cell head
    this.split.stage1.dispose();
    if (this.cells === undefined) this.split.stage2.dispose();
  }
}
