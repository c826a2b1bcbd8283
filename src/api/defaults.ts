// The API's defaults: where the embedded default models live (models/default/ in the package; its README
// says how they were trained and the exact command that reproduces them) and the detection options. This
// module stays light (no TensorFlow.js): the server's main thread reads it.
import { join } from 'node:path';
import { packageRoot } from '../../core/paths.js';

export function defaultModelsDir(): string {
  return join(packageRoot(), 'models', 'default');
}

export function defaultClassifierPath(): string {
  return join(defaultModelsDir(), 'classifier');
}

export function defaultDetectorPath(): string {
  return join(defaultModelsDir(), 'detector');
}

/**
 * The one default of `detect()`, `nasnet detect IMAGE` and the service's `minScore`: what a user looking
 * at the boxes wants. COCO evaluation wants the low-score tail too (`nasnet detect --dataset`: 0.001).
 */
export const DEFAULT_MIN_SCORE = 0.5;
export const DEFAULT_MAX_DETECTIONS = 100;
