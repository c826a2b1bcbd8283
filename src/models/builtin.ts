// The built-in model kinds. Import this module (not registry.ts) to load models: it registers every
// kind the package ships. The kind "default" points at the embedded default of each task: the NASNet
// models in models/default/. `placeholder-tiny` stays available as a fast stand-in for tests.
import { loadPlaceholderClassifier, loadPlaceholderDetector, PLACEHOLDER_KIND } from './placeholder_tiny.js';
import { DIRECTORY_KIND, registerClassifier, registerDetector } from './registry.js';
import { NasnetError } from '../../core/errors.js';
import { loadDetector as loadFasterRcnnDetector } from '../api/detector.js';
import { defaultClassifierPath, defaultDetectorPath } from '../api/defaults.js';
import { loadClassifier as loadNasnetClassifier } from '../api/classifier.js';

registerClassifier(PLACEHOLDER_KIND, loadPlaceholderClassifier);
registerDetector(PLACEHOLDER_KIND, loadPlaceholderDetector);

/** The embedded NASNet Faster R-CNN trained on the synthetic shapes set (models/default/detector, its README). */
export const SHAPES_DETECTOR_KIND = 'nasnet-frcnn-shapes';
registerDetector(
  SHAPES_DETECTOR_KIND,
  (options) =>
    loadFasterRcnnDetector({
      weights: options.weights ?? defaultDetectorPath(),
      maxPixels: options.maxPixels,
      threads: options.threads,
      name: SHAPES_DETECTOR_KIND,
    }),
  { isDefault: true },
);

/** A detector directory: one of our checkpoints, or a TF OD API export (pipeline.config + model.ckpt.*). */
registerDetector(DIRECTORY_KIND, (options) => {
  if (options.weights === undefined) throw new NasnetError('INVALID_CONFIG', 'detection model "directory" needs a path: --detector ./DIR or directory:DIR', { field: 'detector' });
  return loadFasterRcnnDetector({ weights: options.weights, maxPixels: options.maxPixels, threads: options.threads });
});

/**
 * The paper's COCO detector from the TF OD API zoo (faster_rcnn_nas_coco_2018_01_28, NASNet-A Large Faster
 * R-CNN): `frcnn-nas-coco:DIR` with DIR the unpacked tarball (`nasnet weights fetch frcnn-nas-coco`).
 */
export const FRCNN_NAS_COCO_KIND = 'frcnn-nas-coco';
registerDetector(FRCNN_NAS_COCO_KIND, (options) => {
  if (options.weights === undefined) {
    throw new NasnetError('INVALID_CONFIG', `detection model "${FRCNN_NAS_COCO_KIND}" needs its directory: --detector ${FRCNN_NAS_COCO_KIND}:DIR (the unpacked zoo tarball: pipeline.config + model.ckpt.*)`, { field: 'detector' });
  }
  return loadFasterRcnnDetector({ weights: options.weights, maxPixels: options.maxPixels, threads: options.threads, name: FRCNN_NAS_COCO_KIND });
});

/** The embedded NASNet-A 1@384 classifier of the 10 synthetic classes (models/default/classifier, its README). */
export const SYNTHETIC_CLASSIFIER_KIND = 'nasnet-synthetic-classes';
registerClassifier(
  SYNTHETIC_CLASSIFIER_KIND,
  (options) =>
    loadNasnetClassifier({
      weights: options.weights ?? defaultClassifierPath(),
      maxPixels: options.maxPixels,
      threads: options.threads,
      name: SYNTHETIC_CLASSIFIER_KIND,
    }),
  { isDefault: true },
);

export { DEFAULT_MODEL_KIND, loadClassifier, loadDetector, modelKinds, resolveModelKind } from './registry.js';
export type { ModelSpec } from './registry.js';
