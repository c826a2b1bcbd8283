// nasnet-ts public entry: the load/classify/detect API, the engine, the building blocks a user composes
// (NASNet configs and genotypes, Keras weights, checkpoints, image I/O) and COCO evaluation.
export { initEngine, currentEngine, parseEngineRequest, type EngineInfo, type EngineName, type EngineRequest } from '../core/engine.js';
export { NasnetError, ERROR_TABLE, EXIT, type ErrorCode } from '../core/errors.js';
export type { Classifier, ClassPrediction, ClassifyOptions, Detection, DetectOptions, Detector, ImageMeta, ModelInfo } from './api/types.js';
export { classifierArtifactConfig } from '../backbones/classifier_artifact.js';
export { loadClassifier, type LoadClassifierOptions, type InferenceEngine } from './api/classifier.js';
export { loadDetector, DEFAULT_MIN_SCORE, DEFAULT_MAX_DETECTIONS, type LoadDetectorOptions } from './api/detector.js';
export { defaultClassifierPath, defaultDetectorPath, defaultModelsDir } from './api/defaults.js';
export { decodeImage, loadImageForModel, probeImage, encodePng, encodeJpeg } from '../core/image_io.js';
export { saveCheckpoint, loadCheckpoint } from '../core/checkpoint.js';
export { exportLayersModel, OnnxSession } from './onnx/index.js';
export {
  buildNasnet,
  endpointModel,
  splitForDetection,
  resolveNasnetConfig,
  NASNET_A_MOBILE,
  NASNET_A_LARGE,
  NASNET_CIFAR,
  NASNET_PRESETS,
  loadKerasWeightsIntoModel,
  modelWeightsForKeras,
  type NasnetConfig,
} from '../backbones/index.js';
export { readKerasWeightsFile, writeKerasWeightsFile } from '../backbones/keras_h5.js';
export { NASNET_A, GENOTYPES, validateGenotype, parseGenotype, genotypeToJson, buildCell, type Genotype } from '../cells/index.js';
export { evaluateCoco, COCO, COCOeval, type CocoEvalResult } from 'pycocotools-js';
