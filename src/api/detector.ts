// The detection API: loadDetector({weights}) -> detect(image, {minScore, maxDetections}).
// A detector checkpoint (written by `nasnet train --task detection`) carries its Faster R-CNN config and
// labels. Images are letterboxed into the square network input (aspect kept, grey padding at the right and
// bottom, as the training batches are padded), boxes come back as COCO [x, y, w, h] in pixels of the
// EXIF-oriented original. The two NASNet stages run on onnxruntime-node through our ONNX export (engine
// 'onnx', the default) or on the current TensorFlow.js engine ('tfjs'); the RPN, ROI align, the box
// predictor and post-processing always run on TensorFlow.js (they are small and data-dependent).
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { FasterRcnn, type BackboneRunner } from '../../detection/faster_rcnn.js';
import type { FasterRcnnConfig } from '../../detection/faster_rcnn_config.js';
import { toCocoXywh, type Window } from '../../detection/box_ops.js';
import { assignWeights } from '../../detection/training.js';
import { loadCheckpoint } from '../core/checkpoint.js';
import { currentEngine } from '../core/engine.js';
import { NasnetError } from '../core/errors.js';
import { fitRgb } from '../core/image_io.js';
import { OnnxSession, exportLayersModel } from '../onnx/index.js';
import type { DetectOptions, Detection, Detector, ImageMeta, ModelInfo } from './types.js';
import type { InferenceEngine } from './classifier.js';

export interface LoadDetectorOptions {
  /** A detector checkpoint directory. */
  readonly weights: string;
  readonly engine?: InferenceEngine;
  /** onnxruntime intra-op threads (0 = one per core). */
  readonly threads?: number;
  readonly maxPixels?: number;
  readonly name?: string;
}

export const DEFAULT_MIN_SCORE = 0.05;
export const DEFAULT_MAX_DETECTIONS = 100;
/** Letterbox padding: mid-grey, ~0 after x / 127.5 - 1 like the zero padding of the training batches. */
const PAD_COLOUR: [number, number, number] = [128, 128, 128];

interface DetectorArtifact {
  readonly model: FasterRcnnConfig;
  readonly task: 'detection';
}

/** Builds the detector a checkpoint describes and loads its weights (optimizer slots are ignored). */
export async function loadFasterRcnn(dir: string): Promise<FasterRcnn> {
  const loaded = await loadCheckpoint(dir);
  try {
    const config = loaded.config as Partial<DetectorArtifact> | null;
    if (config === null || typeof config !== 'object' || config.task !== 'detection' || typeof config.model !== 'object') {
      throw new NasnetError('CHECKPOINT_INVALID', `loadDetector: ${dir} is not a detector checkpoint (config.task must be "detection")`);
    }
    const model = new FasterRcnn(config.model);
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

/** Stage 1 and the stage-2 cells as onnxruntime sessions over our ONNX export. */
export async function onnxRunner(model: FasterRcnn, threads?: number): Promise<BackboneRunner & { dispose(): Promise<void> }> {
  const { stage1, stage2, channels } = model.split;
  const features = tfl.model({ inputs: stage1.inputs, outputs: stage1.outputs[2]!, name: 'rpn_features' });
  const first = await OnnxSession.create(exportLayersModel(features, { inputNames: ['image'], outputNames: ['features'] }), { threads });
  const second =
    model.config.boxHead === 'cells'
      ? await OnnxSession.create(exportLayersModel(stage2, { inputNames: ['previous', 'hidden'], outputNames: ['cells'] }), { threads })
      : undefined;
  const toTensor = (out: { data: Float32Array; dims: readonly number[] }): tf.Tensor4D => tf.tensor4d(out.data, out.dims as [number, number, number, number]);
  return {
    async stage1(images) {
      const out = await first.run({ image: { data: (await images.data()) as Float32Array, dims: images.shape } });
      return toTensor(out.features!);
    },
    async stage2(crops) {
      if (second === undefined) throw new NasnetError('INTERNAL', 'onnxRunner: stage 2 runs only with the cell head');
      const [previous, hidden] = tf.split(crops, [...channels], 3) as [tf.Tensor4D, tf.Tensor4D];
      try {
        const feeds = {
          previous: { data: (await previous.data()) as Float32Array, dims: previous.shape },
          hidden: { data: (await hidden.data()) as Float32Array, dims: hidden.shape },
        };
        return toTensor((await second.run(feeds)).cells!);
      } finally {
        tf.dispose([previous, hidden]);
      }
    },
    async dispose() {
      await first.dispose();
      await second?.dispose();
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

export async function loadDetector(options: LoadDetectorOptions): Promise<Detector> {
  const engine = options.engine ?? 'onnx';
  if (engine !== 'onnx' && engine !== 'tfjs') {
    throw new NasnetError('INVALID_ARGUMENT', `loadDetector: engine must be "onnx" or "tfjs"; received ${JSON.stringify(engine)}`);
  }
  const model = await loadFasterRcnn(options.weights);
  const onnx = engine === 'onnx' ? await onnxRunner(model, options.threads) : undefined;
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
  };

  return {
    info,
    async detect(image: Uint8Array, detectOptions: DetectOptions = {}): Promise<{ detections: Detection[]; image: ImageMeta }> {
      const { minScore, maxDetections } = checkDetectOptions(detectOptions);
      const fitted = await fitRgb(image, { width: size, height: size, mode: 'letterbox', align: 'top-left', padColor: PAD_COLOUR, kernel: 'linear', maxPixels: options.maxPixels });
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
