// The built-in model kinds. Import this module (not registry.ts) to load models: it registers every
// kind the package ships. The kind "default" points at the embedded default of each task: the NASNet
// models in models/default/. `placeholder-tiny` stays available as a fast stand-in for tests.
import { loadPlaceholderClassifier, loadPlaceholderDetector, PLACEHOLDER_KIND } from './placeholder_tiny.js';
import { registerClassifier, registerDetector } from './registry.js';
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
