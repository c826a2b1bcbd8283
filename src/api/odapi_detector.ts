// Detectors imported from the TF Object Detection API: a directory holding `pipeline.config` and a TF
// checkpoint (`model.ckpt.index`, `model.ckpt.data-*`, as the zoo tarballs unpack), loaded by
// `loadDetector({weights: DIR})` like our own checkpoints and answering with the same `Detection` records.
// The OD API resizes without keeping the aspect ratio (fixed_shape_resizer), so a box normalised to the
// network input is normalised to the original image too. Class c (0-based) is COCO id c + 1; names come
// from the shipped COCO label map (an id outside it is "N/A", as the OD API's label_map_util says).
// Engines: 'onnx' (default) runs the network on onnxruntime-node (src/onnx/odapi_export.ts), 'tfjs' on the
// current TensorFlow.js engine (detection/odapi/tfjs_network.ts); both share the TypeScript stages.
import { access } from 'node:fs/promises';
import { join } from 'node:path';
import { NasnetError } from '../../core/errors.js';
import { decodeRgb } from '../../core/image_io.js';
import type { Logger } from '../../core/logger.js';
import { findCheckpointPrefix } from '../../core/tf_checkpoint.js';
import { CheckpointWeights } from '../../detection/odapi/checkpoint_weights.js';
import { OdapiFasterRcnnNas, type FirstStageOutputs, type OdapiNetwork, type SecondStageOutputs } from '../../detection/odapi/faster_rcnn_nas.js';
import { readPipelineConfig, type OdapiFasterRcnnConfig } from '../../detection/odapi/pipeline_config.js';
import { TfjsOdapiNetwork } from '../../detection/odapi/tfjs_network.js';
import { cocoCategoriesContiguous } from '../models/labels.js';
import { OnnxSession } from '../onnx/index.js';
import { cachedOnnx } from '../onnx/model_cache.js';
import { ODAPI_ONNX_FORMAT, exportOdapiOnnx, roiAlignBoxes, type OdapiOnnx } from '../onnx/odapi_export.js';
import type { DetectOptions, Detection, Detector, ImageMeta, ModelInfo } from './types.js';

export const PIPELINE_CONFIG = 'pipeline.config';

/** True when `dir` holds an OD API export (a `pipeline.config`). */
export async function isOdapiDirectory(dir: string): Promise<boolean> {
  try {
    await access(join(dir, PIPELINE_CONFIG));
    return true;
  } catch {
    return false;
  }
}

export interface OdapiOnnxOptions {
  readonly threads?: number;
  readonly executionProviders?: readonly string[];
  /** Proposals per run of the head session (bounds the crops' memory: P x c x c x C floats). Default 64. */
  readonly headBatch?: number;
  /** Keep the graphs in `<dir>/onnx-cache` (default) or export in memory. */
  readonly cache?: { readonly dir: string; readonly logger?: Logger } | undefined;
}

/** The network on onnxruntime: session 1 = stage 1 + RPN head, session 2 = crops + stage 2 + predictors. */
export class OnnxOdapiNetwork implements OdapiNetwork {
  private features: { data: Float32Array; dims: readonly number[] } | undefined;
  /** Milliseconds of the last run of each stage. */
  readonly timings = { firstStage: 0, secondStage: 0 };

  private constructor(
    private readonly config: OdapiFasterRcnnConfig,
    private readonly rpn: OnnxSession,
    private readonly head: OnnxSession,
    private readonly headBatch: number,
  ) {}

  static async create(config: OdapiFasterRcnnConfig, weights: () => Promise<CheckpointWeights>, options: OdapiOnnxOptions = {}): Promise<OnnxOdapiNetwork> {
    const open = (bytes: Uint8Array): Promise<OnnxSession> => OnnxSession.create(bytes, { threads: options.threads, executionProviders: options.executionProviders });
    let graphs: OdapiOnnx | undefined;
    const build = async (graph: keyof OdapiOnnx): Promise<Uint8Array> => (graphs ??= exportOdapiOnnx(config, await weights()))[graph];
    const session = async (graph: keyof OdapiOnnx): Promise<OnnxSession> => {
      const { cache } = options;
      if (cache === undefined) return open(await build(graph));
      const spec = { graph: `odapi_${graph}`, spec: { config, format: ODAPI_ONNX_FORMAT }, logger: cache.logger };
      return (await cachedOnnx(cache.dir, spec, () => build(graph), open)).value;
    };
    const rpn = await session('rpn');
    try {
      return new OnnxOdapiNetwork(config, rpn, await session('head'), options.headBatch ?? 64);
    } catch (error) {
      await rpn.dispose();
      throw error;
    }
  }

  async firstStage(preprocessed: Float32Array): Promise<FirstStageOutputs> {
    const { height, width } = this.config.imageResizer;
    const start = performance.now();
    const out = await this.rpn.run({ image: { data: preprocessed, dims: [1, height, width, 3] } });
    this.timings.firstStage = performance.now() - start;
    this.features = out.features!;
    const [, , h, w] = this.features.dims as [number, number, number, number];
    return { featureSize: [h, w], boxEncodings: out.box_encodings!.data, objectness: out.objectness!.data };
  }

  async secondStage(proposalsNormalized: Float32Array): Promise<SecondStageOutputs> {
    const features = this.features;
    if (features === undefined) throw new NasnetError('INTERNAL', 'OnnxOdapiNetwork.secondStage before firstStage');
    const start = performance.now();
    const [, , h, w] = features.dims as [number, number, number, number];
    const c = this.config.initialCropSize;
    const p = proposalsNormalized.length / 4;
    const parts: SecondStageOutputs[] = [];
    for (let from = 0; from < p; from += this.headBatch) {
      const boxes = proposalsNormalized.subarray(4 * from, 4 * Math.min(p, from + this.headBatch));
      const r = boxes.length / 4;
      const { rois, mask } = roiAlignBoxes(boxes, h, w, c);
      const out = await this.head.run({ features, rois: { data: rois, dims: [r, 4] }, crop_mask: { data: mask, dims: [r, 1, c, c] } });
      parts.push({ refinedBoxEncodings: out.refined_box_encodings!.data, classLogits: out.class_logits!.data });
    }
    this.timings.secondStage = performance.now() - start;
    const join = (pick: (s: SecondStageOutputs) => Float32Array): Float32Array => {
      const out = new Float32Array(parts.reduce((n, s) => n + pick(s).length, 0));
      let o = 0;
      for (const s of parts) o = (out.set(pick(s), o), o + pick(s).length);
      return out;
    };
    return { refinedBoxEncodings: join((s) => s.refinedBoxEncodings), classLogits: join((s) => s.classLogits) };
  }

  dispose(): void {
    this.features = undefined;
    void this.rpn.dispose();
    void this.head.dispose();
  }
}

export interface LoadOdapiDetectorOptions {
  readonly weights: string;
  readonly engine?: 'onnx' | 'tfjs';
  readonly threads?: number;
  readonly executionProviders?: readonly string[];
  readonly onnxCache?: boolean;
  readonly maxPixels?: number;
  readonly name?: string;
  readonly logger?: Logger;
  /** Stage-2 proposals per image (default: the pipeline's first_stage_max_proposals, 50 in the lowproposals configs). */
  readonly proposals?: number;
  /** Refused: the OD API crops with crop_and_resize, one sample per cell, which has no sampling ratio. */
  readonly roiSamplingRatio?: number;
}

/** The pipeline's config with the caller's proposals; roiSamplingRatio is refused (no such knob here). */
function withOverrides(config: OdapiFasterRcnnConfig, options: Pick<LoadOdapiDetectorOptions, 'proposals' | 'roiSamplingRatio'>): OdapiFasterRcnnConfig {
  if (options.roiSamplingRatio !== undefined) {
    throw new NasnetError(
      'INVALID_ARGUMENT',
      `loadDetector: roiSamplingRatio does not apply to a TF Object Detection API detector (it crops with crop_and_resize, one sample per cell); received ${JSON.stringify(options.roiSamplingRatio)}`,
      { field: 'roiSamplingRatio' },
    );
  }
  const { proposals } = options;
  if (proposals === undefined) return config;
  if (!Number.isInteger(proposals) || proposals < 1) {
    throw new NasnetError('INVALID_ARGUMENT', `loadDetector: proposals must be an integer >= 1; received ${JSON.stringify(proposals)}`, { field: 'proposals' });
  }
  return { ...config, firstStage: { ...config.firstStage, maxProposals: proposals } };
}

/** Detections of the OD API model as our API's records (COCO ids and names, boxes in original pixels). */
export function toDetections(found: { boxes: Float32Array; scores: Float32Array; classes: Int32Array }, width: number, height: number, options: { minScore: number; maxDetections: number }): Detection[] {
  const names = new Map(cocoCategoriesContiguous().map((c) => [c.id, c.name]));
  const out: Detection[] = [];
  for (let i = 0; i < found.scores.length && out.length < options.maxDetections; i++) {
    const score = found.scores[i]!;
    if (score < options.minScore) break; // sorted by score
    const [y1, x1, y2, x2] = found.boxes.subarray(4 * i, 4 * i + 4) as unknown as [number, number, number, number];
    const id = found.classes[i]! + 1;
    out.push({ bbox: [x1 * width, y1 * height, (x2 - x1) * width, (y2 - y1) * height], categoryId: id, label: names.get(id) ?? 'N/A', score });
  }
  return out;
}

/** Loads an OD API faster_rcnn_nas export directory as a `Detector`. */
export async function loadOdapiDetector(options: LoadOdapiDetectorOptions, checkOptions: (o: DetectOptions) => { minScore: number; maxDetections: number }): Promise<Detector> {
  const dir = options.weights;
  const engine = options.engine ?? 'onnx';
  const pipeline = await readPipelineConfig(join(dir, PIPELINE_CONFIG));
  // checked before the (slow) weights; the exported graphs do not depend on the proposals, so the pipeline's
  // config keeps their cache key and only the TypeScript stages see the override
  const config = withOverrides(pipeline, options);
  const readWeights = async (): Promise<CheckpointWeights> => CheckpointWeights.read(await findCheckpointPrefix(dir));
  let network: OdapiNetwork;
  if (engine === 'onnx') {
    const cache = options.onnxCache === false ? undefined : { dir, logger: options.logger };
    network = await OnnxOdapiNetwork.create(pipeline, readWeights, { threads: options.threads, executionProviders: options.executionProviders, cache });
  } else {
    const weights = await readWeights();
    const tfjs = new TfjsOdapiNetwork(config, weights);
    // One run on a grey image reads every variable; anything left unread is another architecture's.
    await tfjs.firstStage(new Float32Array(config.imageResizer.height * config.imageResizer.width * 3));
    await tfjs.secondStage(new Float32Array([0, 0, 1, 1]));
    weights.assertAllUsed('an OD API faster_rcnn_nas model');
    network = tfjs;
  }
  const model = new OdapiFasterRcnnNas(config, network);
  const { height, width } = config.imageResizer;
  const info: ModelInfo = {
    name: options.name ?? 'odapi-faster-rcnn-nas',
    task: 'detection',
    backbone: 'NASNet-A Large Faster R-CNN (TF Object Detection API)',
    inputWidth: width,
    inputHeight: height,
    numClasses: config.numClasses,
    engine: engine === 'onnx' ? 'onnxruntime-node' : 'tfjs',
    proposals: config.firstStage.maxProposals,
  };
  return {
    info,
    async detect(bytes: Uint8Array, detectOptions: DetectOptions = {}) {
      const limits = checkOptions(detectOptions);
      const decoded = await decodeRgb(bytes, { maxPixels: options.maxPixels });
      const found = await model.detect(decoded.image);
      const { width: w, height: h } = decoded.image;
      const image: ImageMeta = { width: w, height: h, inputWidth: width, inputHeight: height, scaleX: width / w, scaleY: height / h, padLeft: 0, padTop: 0 };
      return { detections: toDetections(found, w, h, limits), image };
    },
    dispose() {
      model.dispose();
    },
  };
}
