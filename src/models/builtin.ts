// The built-in model kinds. Import this module (not registry.ts) to load models: it registers every
// kind the package ships. The kind "default" points at the embedded default of each task: the NASNet
// models in models/default/. `placeholder-tiny` stays available as a fast stand-in for tests.
import { loadPlaceholderClassifier, loadPlaceholderDetector, PLACEHOLDER_KIND } from './placeholder_tiny.js';
import { registerClassifier, registerDetector } from './registry.js';
import { loadDetector as loadFasterRcnnDetector } from '../api/detector.js';
import { defaultClassifierPath, defaultDetectorPath } from '../api/defaults.js';
import { loadClassifier as loadNasnetClassifier } from '../api/classifier.js';

const PLACEHOLDER_DEMO = 'nothing: seeded random weights (a fast stand-in for tests)';
registerClassifier(PLACEHOLDER_KIND, loadPlaceholderClassifier, { demoTrainedOn: PLACEHOLDER_DEMO });
registerDetector(PLACEHOLDER_KIND, loadPlaceholderDetector, { demoTrainedOn: PLACEHOLDER_DEMO });

export const SHAPES_DETECTOR_TRAINED_ON = '6 synthetic shapes (circle, square, triangle, star, cross, ring) on textured backgrounds, not COCO: boxes on real photos mean nothing';
export const SYNTHETIC_CLASSIFIER_TRAINED_ON = '10 synthetic classes (6 shapes and 4 textures: checker, dots, grid, stripes), not ImageNet: labels of real photos mean nothing';

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
  { isDefault: true, demoTrainedOn: SHAPES_DETECTOR_TRAINED_ON },
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
  { isDefault: true, demoTrainedOn: SYNTHETIC_CLASSIFIER_TRAINED_ON },
);

/**
 * The published Keras ImageNet classifiers by their weights names (src/weights): loaded from the cache
 * (`nasnet weights fetch nasnet-mobile`), or from the kind's explicit weights ("nasnet-large:file.h5").
 */
export const PUBLISHED_CLASSIFIER_KINDS = ['nasnet-mobile', 'nasnet-large'] as const;
for (const kind of PUBLISHED_CLASSIFIER_KINDS) {
  registerClassifier(kind, (options) =>
    loadNasnetClassifier({
      weights: options.weights ?? kind,
      backbone: kind === 'nasnet-large' ? 'large' : 'mobile',
      maxPixels: options.maxPixels,
      threads: options.threads,
      name: kind,
    }),
  );
}

export { DEFAULT_MODEL_KIND, demoTrainedOn, loadClassifier, loadDetector, modelKinds, resolveModelKind } from './registry.js';
export type { ModelSpec } from './registry.js';
