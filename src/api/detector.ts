// The detection API: loadDetector({weights}) -> detect(image, {minScore, maxDetections}).
// A detector checkpoint (written by `nasnet train --task detection`) carries its Faster R-CNN config and
// labels. Images are letterboxed into the square network input (aspect kept, grey padding at the right and
// bottom, as the training batches are padded), boxes come back as COCO [x, y, w, h] in pixels of the
// EXIF-oriented original. With engine 'onnx' (the default) the network runs on onnxruntime-node as two
// sessions over our ONNX export (stage 1 + RPN head + proposal selection; ROI align + box head); with
// 'tfjs' on the current TensorFlow.js engine, proposals selected in TypeScript. Post-processing runs in
// TypeScript on either engine (docs/detection.md, "Inference on onnxruntime").
import * as tf from '@tensorflow/tfjs-core';
import { FasterRcnn, type DetectionRunner } from '../../detection/faster_rcnn.js';
import type { FasterRcnnConfig } from '../../detection/faster_rcnn_config.js';
import { toCocoXywh, type Window } from '../../detection/box_ops.js';
import { resolveProposalConfig } from '../../detection/rpn.js';
import { assignWeights } from '../../detection/training.js';
import { loadCheckpoint } from '../../core/checkpoint.js';
import { currentEngine } from '../../core/engine.js';
import { NasnetError } from '../../core/errors.js';
import { MIN_MODEL_IMAGE_SIDE, fitRgb } from '../../core/image_io.js';
import type { Logger } from '../../core/logger.js';
import { OnnxSession } from '../onnx/index.js';
import { resolveExecutionProviders } from '../onnx/session.js';
import { DETECTOR_ONNX_FORMAT, exportDetectorOnnx, type DetectorOnnx } from '../onnx/detector_export.js';
import { cachedOnnx } from '../onnx/model_cache.js';
import type { DetectOptions, Detection, Detector, ImageMeta, ModelInfo } from './types.js';
import { isOdapiDirectory, loadOdapiDetector } from './odapi_detector.js';
import type { InferenceEngineOptions } from './classifier.js';
import { DEFAULT_MAX_DETECTIONS, DEFAULT_MIN_SCORE, defaultDetectorPath } from './defaults.js';
import { resolveWeights } from '../weights/cache.js';

export { DEFAULT_MAX_DETECTIONS, DEFAULT_MIN_SCORE };

export interface LoadDetectorOptions extends InferenceEngineOptions {
  /**
   * A detector checkpoint directory, an OD API export directory, or a published name (frcnn-nas-coco,
   * frcnn-nas-lowproposals-coco) resolved in the weights cache (default: the embedded detector,
   * models/default/detector).
   */
  readonly weights?: string;
  /** Fetch a published name that is not cached yet (default: only when NASNET_FETCH=1). */
  readonly fetch?: boolean;
  /**
   * Proposals kept per image at test time, i.e. ROIs through the box head (default: the checkpoint's
   * `proposals.test.postNmsTopN`; the TF OD API's faster_rcnn_nas "lowproposals" configs use 50). Stage 2
   * runs once per ROI, so on a NASNet box head this sets most of the latency (BENCHMARKS.md).
   */
  readonly proposals?: number;
  /**
   * ROI align samples per bin and axis (default: the checkpoint's `roiSamplingRatio`). 1 samples each bin
   * once, as the OD API's crop_and_resize does; measured on the embedded detector it kept AP (BENCHMARKS.md)
   * and it cuts ROI align, a third of NASNet-A Mobile's stage-2 time, by about half.
   */
  readonly roiSamplingRatio?: number;
}

/** The directory to load: the default, a path, or a published OD API name's unpacked tarball. */
async function detectorWeightsPath(options: LoadDetectorOptions): Promise<string> {
  if (options.weights === undefined) return defaultDetectorPath();
  const { path, entry } = await resolveWeights(options.weights, options.fetch === undefined ? {} : { fetch: options.fetch });
  if (entry !== undefined && entry.format !== 'od-api-tarball') {
    throw new NasnetError('INVALID_ARGUMENT', `loadDetector: ${entry.name} is a published classifier, not a detector; use frcnn-nas-coco or frcnn-nas-lowproposals-coco`);
  }
  return path;
}

/** Letterbox padding: mid-grey, ~0 after x / 127.5 - 1 like the zero padding of the training batches. */
const PAD_COLOUR: [number, number, number] = [128, 128, 128];

interface DetectorArtifact {
  readonly model: FasterRcnnConfig;
  readonly task: 'detection';
}

/** Builds the detector a checkpoint describes and loads its weights (optimizer slots are ignored). */
export async function loadFasterRcnn(dir: string, overrides: { readonly proposals?: number; readonly roiSamplingRatio?: number } = {}): Promise<FasterRcnn> {
  const { proposals, roiSamplingRatio } = overrides;
  for (const [field, value, min] of [['proposals', proposals, 1], ['roiSamplingRatio', roiSamplingRatio, 1]] as const) {
    if (value !== undefined && !(Number.isInteger(value) && value >= min)) {
      throw new NasnetError('INVALID_ARGUMENT', `loadDetector: ${field} must be an integer >= ${min}; received ${JSON.stringify(value)}`, { field });
    }
  }
  const loaded = await loadCheckpoint(dir);
  try {
    const config = loaded.config as Partial<DetectorArtifact> | null;
    if (config === null || typeof config !== 'object' || config.task !== 'detection' || typeof config.model !== 'object') {
      throw new NasnetError('CHECKPOINT_INVALID', `loadDetector: ${dir} is not a detector checkpoint (config.task must be "detection")`);
    }
    let modelConfig = config.model;
    if (proposals !== undefined) modelConfig = { ...modelConfig, proposals: { ...modelConfig.proposals, test: { ...modelConfig.proposals?.test, postNmsTopN: proposals } } };
    if (roiSamplingRatio !== undefined) modelConfig = { ...modelConfig, roiSamplingRatio };
    const model = new FasterRcnn(modelConfig);
    try {
      assignWeights(model, loaded.weights);
    } catch (error) {
      model.dispose();
      throw error;
    }
    return model;
  } finally {
    tf.dispose([...loaded.weights.values()]);
  }
}

export interface OnnxRunnerOptions {
  /** onnxruntime intra-op threads of each session (0 = one per core). */
  readonly threads?: number;
  /** onnxruntime execution providers (default: see src/onnx/session.ts). */
  readonly executionProviders?: readonly string[];
  /** Read/write the graphs in the ONNX cache beside these checkpoint weights (src/onnx/model_cache.ts). */
  readonly cache?: { readonly weights: string; readonly logger?: Logger };
}

/** Sessions over the detector's two graphs, exported once for both (or read from the cache). */
async function detectorSessions(model: FasterRcnn, options: OnnxRunnerOptions): Promise<Record<keyof DetectorOnnx, OnnxSession>> {
  const open = (bytes: Uint8Array): Promise<OnnxSession> => OnnxSession.create(bytes, { threads: options.threads, executionProviders: options.executionProviders });
  let graphs: DetectorOnnx | undefined;
  const build = (graph: keyof DetectorOnnx): Uint8Array => (graphs ??= exportDetectorOnnx(model))[graph];
  const session = async (graph: keyof DetectorOnnx): Promise<OnnxSession> => {
    const { cache } = options;
    if (cache === undefined) return open(build(graph));
    const cacheOptions = { graph: `detector_${graph}`, spec: { config: model.config, format: DETECTOR_ONNX_FORMAT }, logger: cache.logger };
    return (await cachedOnnx(cache.weights, cacheOptions, () => build(graph), open)).value;
  };
  const rpn = await session('rpn');
  try {
    return { rpn, head: await session('head') };
  } catch (error) {
    await rpn.dispose();
    throw error;
  }
}

/**
 * The detector's network on onnxruntime: session 1 = stage-1 cells + RPN head + proposal selection,
 * session 2 = ROI align + box head (src/onnx/detector_export.ts). FasterRcnn post-processes in TypeScript.
 */
export async function onnxRunner(model: FasterRcnn, options: OnnxRunnerOptions = {}): Promise<DetectionRunner & { dispose(): Promise<void> }> {
  const { rpn: rpnSession, head: headSession } = await detectorSessions(model, options);
  const k = model.config.numClasses + 1;
  return {
    async rpn(images, windows) {
      const feeds = {
        image: { data: (await images.data()) as Float32Array, dims: images.shape },
        window: { data: Float32Array.from(windows.flat()), dims: [windows.length, 4] },
      };
      const out = await rpnSession.run(feeds);
      const features = out.features!;
      // Each image's rows, in NonMaxSuppression's order (decreasing score within an image).
      const owner = out.proposal_images!.data;
      const proposals = windows.map((_, n) => out.proposals!.data.filter((__, i) => owner[i >> 2] === n));
      return {
        proposals,
        async boxHead(boxes, n) {
          const count = boxes.length / 4;
          const head = await headSession.run({ features, rois: { data: boxes, dims: [count, 4] }, roi_images: { data: new Float32Array(count).fill(n), dims: [count] } });
          return { classLogits: tf.tensor2d(head.class_logits!.data, [count, k]), boxDeltas: tf.tensor2d(head.box_deltas!.data, [count, 4 * k]) };
        },
        dispose: () => undefined, // the features are a host array
      };
    },
    async dispose() {
      await rpnSession.dispose();
      await headSession.dispose();
    },
  };
}

/** Where the original image lies in the letterboxed input, normalised. */
export function letterboxWindow(meta: ImageMeta): Window {
  return [
    meta.padTop / meta.inputHeight,
    meta.padLeft / meta.inputWidth,
    (meta.padTop + meta.height * meta.scaleY) / meta.inputHeight,
    (meta.padLeft + meta.width * meta.scaleX) / meta.inputWidth,
  ];
}

function checkDetectOptions(options: DetectOptions): { minScore: number; maxDetections: number } {
  const minScore = options.minScore ?? DEFAULT_MIN_SCORE;
  const maxDetections = options.maxDetections ?? DEFAULT_MAX_DETECTIONS;
  if (typeof minScore !== 'number' || !(minScore >= 0 && minScore <= 1)) {
    throw new NasnetError('INVALID_ARGUMENT', `detect: minScore must be a number in [0, 1]; received ${JSON.stringify(minScore)}`, { field: 'minScore' });
  }
  if (!Number.isInteger(maxDetections) || maxDetections < 1) {
    throw new NasnetError('INVALID_ARGUMENT', `detect: maxDetections must be a positive integer; received ${JSON.stringify(maxDetections)}`, { field: 'maxDetections' });
  }
  return { minScore, maxDetections };
}

/**
 * Loads a detector: one of our checkpoint directories, a TF Object Detection API export (a directory with
 * `pipeline.config` and `model.ckpt.*`, src/api/odapi_detector.ts, answering with COCO ids and names) or a
 * published OD API name (frcnn-nas-coco, ...) from the weights cache. Without `weights`, the embedded
 * default detector (found from the package, not the caller's cwd).
 */
export async function loadDetector(partial: LoadDetectorOptions = {}): Promise<Detector> {
  const options = { ...partial, weights: await detectorWeightsPath(partial) };
  const engine = options.engine ?? 'onnx';
  if (engine !== 'onnx' && engine !== 'tfjs') {
    throw new NasnetError('INVALID_ARGUMENT', `loadDetector: engine must be "onnx" or "tfjs"; received ${JSON.stringify(engine)}`);
  }
  if (await isOdapiDirectory(options.weights)) return loadOdapiDetector({ ...options, engine }, checkDetectOptions);
  const model = await loadFasterRcnn(options.weights, { proposals: options.proposals, roiSamplingRatio: options.roiSamplingRatio });
  const cache = options.onnxCache === false ? undefined : { weights: options.weights, logger: options.logger };
  let onnx: Awaited<ReturnType<typeof onnxRunner>> | undefined;
  try {
    if (engine === 'onnx') onnx = await onnxRunner(model, { threads: options.threads, executionProviders: options.executionProviders, cache });
  } catch (error) {
    model.dispose();
    throw error;
  }
  const runner = onnx ?? model.tfjsRunner();
  const { config } = model;
  const size = config.imageSize;
  const b = config.backbone;
  const info: ModelInfo = {
    name: options.name ?? `nasnet-faster-rcnn-${size}`,
    task: 'detection',
    backbone: `NASNet-A ${b.numCells ?? ''}${b.penultimateFilters !== undefined ? `@${b.penultimateFilters}` : ` (${b.preset})`} Faster R-CNN`,
    inputWidth: size,
    inputHeight: size,
    numClasses: config.numClasses,
    engine: engine === 'onnx' ? 'onnxruntime-node' : `tfjs-${currentEngine()?.backend ?? tf.getBackend()}`,
    ...(engine === 'onnx' ? { executionProviders: resolveExecutionProviders(options.executionProviders, 'loadDetector: executionProviders') } : {}),
    proposals: resolveProposalConfig(config.proposals.test, 'test').postNmsTopN,
    roiSamplingRatio: config.roiSamplingRatio,
  };

  return {
    info,
    async detect(image: Uint8Array, detectOptions: DetectOptions = {}): Promise<{ detections: Detection[]; image: ImageMeta }> {
      const { minScore, maxDetections } = checkDetectOptions(detectOptions);
      const fitted = await fitRgb(image, { width: size, height: size, mode: 'letterbox', align: 'top-left', padColor: PAD_COLOUR, kernel: 'linear', maxPixels: options.maxPixels, minSide: MIN_MODEL_IMAGE_SIDE });
      const pixels = Float32Array.from(fitted.image.data, (v) => v / 127.5 - 1);
      const input = tf.tensor4d(pixels, [1, size, size, 3]);
      let found;
      try {
        [found] = await model.detect(input, [letterboxWindow(fitted.meta)], runner);
      } finally {
        input.dispose();
      }
      const xywh = toCocoXywh(found!.boxes, fitted.meta);
      const detections: Detection[] = [];
      for (let i = 0; i < found!.scores.length && detections.length < maxDetections; i++) {
        const score = found!.scores[i]!;
        if (score < minScore) break; // scores are sorted
        const label = found!.labels[i]!;
        detections.push({
          bbox: [xywh[4 * i]!, xywh[4 * i + 1]!, xywh[4 * i + 2]!, xywh[4 * i + 3]!],
          categoryId: config.categoryIds[label - 1]!,
          label: config.classNames[label - 1]!,
          score,
        });
      }
      return { detections, image: fitted.meta };
    },
    dispose() {
      void onnx?.dispose();
      model.dispose();
    },
  };
}
