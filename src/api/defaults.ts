// Where the embedded default models live: models/default/ in the package (see its README for how they
// were trained and the exact command that reproduces them).
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
