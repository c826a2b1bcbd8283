// The public inference interfaces. The service, the CLIs and the worker pool program against these;
// the NASNet classifier and the Faster R-CNN detector implement them.

import type { ImageMeta } from '../../core/image_meta.js';

export type { ImageMeta };

export interface ClassPrediction {
  /** Index in the model's 1000-class (Keras) layout. */
  readonly classId: number;
  /** WordNet id, e.g. n01440764; empty for models trained on other label sets. */
  readonly wnid: string;
  readonly label: string;
  /** Softmax probability. */
  readonly score: number;
}

export interface ClassifyOptions {
  readonly topK?: number;
}

export interface Detection {
  /** COCO [x, y, width, height] in pixels of the EXIF-oriented original image. */
  readonly bbox: [number, number, number, number];
  readonly categoryId: number;
  readonly label: string;
  readonly score: number;
}

export interface DetectOptions {
  readonly minScore?: number;
  readonly maxDetections?: number;
}

/** What a loaded model tells about itself (GET /models). */
export interface ModelInfo {
  readonly name: string;
  readonly task: 'classification' | 'detection';
  readonly backbone: string;
  readonly inputWidth: number;
  readonly inputHeight: number;
  readonly numClasses: number;
  readonly engine: string;
  /** onnxruntime execution providers in priority order (engine onnxruntime-node only), e.g. ['cuda', 'cpu']. */
  readonly executionProviders?: readonly string[];
  /** Engine onnx-int8: how many calibration images the int8 graph was calibrated on. */
  readonly calibrationImages?: number;
  /** Detectors: stage-2 proposals per image in effect (the checkpoint's or the caller's). */
  readonly proposals?: number;
  /** Our Faster R-CNN detectors: ROI align samples per bin and axis in effect. */
  readonly roiSamplingRatio?: number;
}

export interface Classifier {
  readonly info: ModelInfo;
  /** `image` is an encoded image (JPEG, PNG, ...). */
  classify(image: Uint8Array, options?: ClassifyOptions): Promise<{ predictions: ClassPrediction[]; image: ImageMeta }>;
  /** Several images in one forward pass (decoded concurrently); results in the order of `images`. Optional: loadClassifier's classifiers have it. */
  classifyBatch?(images: readonly Uint8Array[], options?: ClassifyOptions): Promise<{ predictions: ClassPrediction[]; image: ImageMeta }[]>;
  dispose(): void;
}

export interface Detector {
  readonly info: ModelInfo;
  detect(image: Uint8Array, options?: DetectOptions): Promise<{ detections: Detection[]; image: ImageMeta }>;
  dispose(): void;
}
