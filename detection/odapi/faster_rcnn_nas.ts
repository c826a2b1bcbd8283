// The TF Object Detection API's `faster_rcnn_nas` detector (meta_architectures/faster_rcnn_meta_arch.py +
// models/faster_rcnn_nas_feature_extractor.py, tensorflow/models at the 2018-01 zoo release), at inference,
// from a zoo checkpoint directory (model.ckpt.* + pipeline.config):
//
//   image [h,w,3] uint8 --fixed_shape_resizer (TF1 bilinear)--> [H,W,3] --(2/255) x - 1--> preprocessed
//     --stage 1 (slim NASNet-A Large: stem, cells 0-5, reduction_cell_0, cells 6-11)-->
//     features_to_crop = concat(Cell_10, Cell_11) [h16,w16,C]
//     --RPN: Conv 3x3 + ReLU6 [h16,w16,M] -> 1x1 box encodings [h16*w16*A,4], objectness [.., 2]-->
//     proposals: decode against grid anchors (FasterRcnnBoxCoder 10,10,5,5), softmax[:,1], clip to the
//     image, NMS (first_stage_nms_iou_threshold), first_stage_max_proposals by score, normalised
//     --crop_and_resize c x c + max pool (k, s) [P,c,c,C], split into (Cell_10, Cell_11) halves-->
//     --stage 2 (reduction_cell_1, cells 12-17, ReLU) [P,c',c',D] --spatial mean [P,D]-->
//     --SecondStageBoxPredictor FCs: refined encodings [P,K,4], class logits [P,K+1]-->
//     decode per class against the proposals, softmax, drop background, per-class NMS, top max_total
//     --> boxes normalised to the resized (= original, stretched) image, scores, class ids 0..K-1 (+1 = COCO id)
//
// Shape shorthand: H, W = resizer output; A = anchors per location; P = proposals; K = classes.
// The network runs behind an `OdapiNetwork` (TensorFlow.js here, onnxruntime in src/onnx/odapi_export.ts
// + src/api); the anchors, proposal selection and post-processing are the pure functions of odapi_ops.ts.
import { NasnetError } from '../../core/errors.js';
import type { RgbImage } from '../../core/resize.js';
import { clipToWindow, decodeBoxes, gridAnchors, multiclassNms, nonMaxSuppressionTf, preprocessNas, resizeBilinearTf1, softmaxRows } from './odapi_ops.js';
import type { OdapiFasterRcnnConfig } from './pipeline_config.js';

/** FasterRcnnBoxCoder scale factors of every OD API Faster R-CNN (model_builder: [10, 10, 5, 5]). */
export const ODAPI_BOX_CODER_SCALES = [10, 10, 5, 5] as const;

/**
 * Where the OD API cuts NASNet-A Large (faster_rcnn_nas_feature_extractor.py): 18 normal cells, reduction
 * cells before cells 6 and 12 (slim calc_reduction_layers(18, 2)); stage 1 ends at Cell_11 and the RPN
 * reads concat(Cell_10, Cell_11); stage 2 is reduction_cell_1 and cells 12-17 on the crops.
 */
export const NASNET_LARGE_SPLIT = { numCells: 18, reductions: [6, 12], firstStageCells: 12 } as const;

/** Variable scopes of the two NASNet stages in OD API checkpoints. */
export const FIRST_STAGE_SCOPE = 'FirstStageFeatureExtractor';
export const SECOND_STAGE_SCOPE = 'SecondStageFeatureExtractor';

export interface FirstStageOutputs {
  /** [h16, w16] of the feature map. */
  readonly featureSize: readonly [number, number];
  /** RPN box encodings [h16*w16*A*4] and objectness logits [h16*w16*A*2] (background, object). */
  readonly boxEncodings: Float32Array;
  readonly objectness: Float32Array;
}

export interface SecondStageOutputs {
  /** [P*K*4] */
  readonly refinedBoxEncodings: Float32Array;
  /** [P*(K+1)] */
  readonly classLogits: Float32Array;
}

/** The network on some engine; `firstStage` keeps the features that `secondStage` crops. */
export interface OdapiNetwork {
  firstStage(preprocessed: Float32Array): Promise<FirstStageOutputs>;
  secondStage(proposalsNormalized: Float32Array): Promise<SecondStageOutputs>;
  dispose(): void;
}

export interface Proposals {
  /** [P*4] absolute, in the resized image. */
  readonly boxes: Float32Array;
  readonly scores: Float32Array;
}

export interface OdapiDetections {
  /** [D*4] [y1,x1,y2,x2] normalised to the image (the resize stretches it, so also to the original). */
  readonly boxes: Float32Array;
  readonly scores: Float32Array;
  /** 0-based classes; the zoo's COCO id is class + 1. */
  readonly classes: Int32Array;
}

export class OdapiFasterRcnnNas {
  constructor(
    readonly config: OdapiFasterRcnnConfig,
    readonly network: OdapiNetwork,
  ) {
    if (config.firstStage.atrousRate !== 1) {
      throw new NasnetError('INVALID_CONFIG', `pipeline.config: first_stage_atrous_rate ${config.firstStage.atrousRate} is not supported (faster_rcnn_nas uses 1)`);
    }
  }

  /** Fixed-shape resize + NAS preprocessing: [H*W*3]. */
  preprocess(image: RgbImage): Float32Array {
    const { height, width } = this.config.imageResizer;
    return preprocessNas(resizeBilinearTf1(image.data, image.height, image.width, height, width));
  }

  anchors(featureSize: readonly [number, number]): Float32Array {
    const { height, width } = this.config.imageResizer;
    return gridAnchors(this.config.anchors, featureSize[0], featureSize[1], height, width);
  }

  /** _postprocess_rpn: decode, objectness softmax, clip, NMS, the first max_proposals by score. */
  proposals(first: FirstStageOutputs): Proposals {
    const { height, width } = this.config.imageResizer;
    const { nmsScoreThreshold, nmsIouThreshold, maxProposals } = this.config.firstStage;
    const anchors = this.anchors(first.featureSize);
    const decoded = decodeBoxes(first.boxEncodings, anchors, ODAPI_BOX_CODER_SCALES);
    const scores = softmaxRows(first.objectness, 2);
    const n = anchors.length / 4;
    const objectness = Float32Array.from({ length: n }, (_, i) => scores[2 * i + 1]!);
    const above = Array.from({ length: n }, (_, i) => i).filter((i) => objectness[i]! > Math.fround(nmsScoreThreshold));
    const { boxes, kept } = clipToWindow(decoded, above, height, width);
    const keptScores = Float32Array.from(kept, (i) => objectness[i]!);
    const keep = nonMaxSuppressionTf(boxes, keptScores, nmsIouThreshold, maxProposals);
    return {
      boxes: Float32Array.from(Array.from(keep).flatMap((k) => Array.from(boxes.subarray(4 * k, 4 * k + 4)))),
      scores: Float32Array.from(keep, (k) => keptScores[k]!),
    };
  }

  /** Absolute boxes of the resized image -> normalised (to_normalized_coordinates). */
  normalize(boxes: Float32Array): Float32Array {
    const { height, width } = this.config.imageResizer;
    return boxes.map((v, i) => Math.fround(v / (i % 2 === 0 ? height : width)));
  }

  /** _postprocess_box_classifier: per-class decode against the proposals, scores, per-class NMS. */
  postprocess(proposals: Float32Array, second: SecondStageOutputs): OdapiDetections {
    const { height, width } = this.config.imageResizer;
    const k = this.config.numClasses;
    const p = proposals.length / 4;
    const s = this.config.secondStage;
    const decoded = decodeBoxes(second.refinedBoxEncodings, proposals, ODAPI_BOX_CODER_SCALES, (i) => Math.floor(i / k)); // [P*K*4]
    const withBackground = scoreConversion(second.classLogits, k + 1, s.scoreConverter, s.logitScale);
    const scores = new Float32Array(p * k);
    for (let r = 0; r < p; r++) scores.set(withBackground.subarray(r * (k + 1) + 1, (r + 1) * (k + 1)), r * k);
    const boxesOf = (c: number): Float32Array => {
      const out = new Float32Array(p * 4);
      for (let r = 0; r < p; r++) out.set(decoded.subarray(4 * (r * k + c), 4 * (r * k + c) + 4), 4 * r);
      return out;
    };
    const nms = multiclassNms(boxesOf, scores, p, k, {
      scoreThreshold: s.scoreThreshold, iouThreshold: s.iouThreshold, maxPerClass: s.maxDetectionsPerClass, maxTotal: s.maxTotalDetections, height, width,
    });
    return { boxes: nms.boxes.map((v, i) => Math.fround(v / (i % 2 === 0 ? height : width))), scores: nms.scores, classes: nms.classes };
  }

  /** The whole detector on one RGB image. */
  async detect(image: RgbImage): Promise<OdapiDetections> {
    const first = await this.network.firstStage(this.preprocess(image));
    const proposals = this.proposals(first);
    if (proposals.scores.length === 0) return { boxes: new Float32Array(0), scores: new Float32Array(0), classes: new Int32Array(0) };
    const second = await this.network.secondStage(this.normalize(proposals.boxes));
    return this.postprocess(proposals.boxes, second);
  }

  dispose(): void {
    this.network.dispose();
  }
}

/** second_stage_post_processing.score_converter (with logit_scale). */
function scoreConversion(logits: Float32Array, k: number, converter: OdapiFasterRcnnConfig['secondStage']['scoreConverter'], logitScale: number): Float32Array {
  if (converter === 'SOFTMAX') return softmaxRows(logits, k, logitScale);
  if (converter === 'SIGMOID') return logits.map((v) => 1 / (1 + Math.exp(-v / logitScale)));
  return logits.map((v) => v / logitScale);
}
