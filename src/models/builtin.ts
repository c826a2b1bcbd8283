// The built-in model kinds. Import this module (not registry.ts) to load models: it registers every
// kind the package ships. The kind "default" points at the embedded default of each task; when the
// NASNet classifier and the Faster R-CNN detector land, they register here and take `isDefault`.
import { loadPlaceholderClassifier, loadPlaceholderDetector, PLACEHOLDER_KIND } from './placeholder_tiny.js';
import { registerClassifier, registerDetector } from './registry.js';
import { loadDetector as loadFasterRcnnDetector } from '../api/detector.js';
import { defaultDetectorPath } from '../api/defaults.js';

registerClassifier(PLACEHOLDER_KIND, loadPlaceholderClassifier, { isDefault: true });
registerDetector(PLACEHOLDER_KIND, loadPlaceholderDetector, { isDefault: true });

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

export { DEFAULT_MODEL_KIND, loadClassifier, loadDetector, modelKinds, resolveModelKind } from './registry.js';
export type { ModelSpec } from './registry.js';
