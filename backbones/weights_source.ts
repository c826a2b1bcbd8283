// A backbone's initial weights from either side of `nasnet convert`: a Keras .h5 file or a nasnet-ts
// checkpoint directory (a converted one, a trained classifier, a detector), as one Keras weight file.
import { stat } from 'node:fs/promises';
import { loadCheckpoint } from '../core/checkpoint.js';
import { NasnetError } from '../core/errors.js';
import { TRAINING_STATE_PREFIX } from './classifier_artifact.js';
import { namedWeightsToKerasFile, type NamedWeight } from './keras_convert.js';
import { readKerasWeightsFile, type KerasWeightFile } from './keras_h5.js';

/** Reads `path` (.h5 file or checkpoint directory); loading it into a model matches by '<layer>/<weight>' name. */
export async function readBackboneWeights(path: string): Promise<KerasWeightFile> {
  const info = await stat(path).catch((error: Error) => {
    throw new NasnetError('IO_ERROR', `readBackboneWeights: cannot read ${path}: ${error.message}`, { path });
  });
  if (!info.isDirectory()) return readKerasWeightsFile(path);
  const { weights } = await loadCheckpoint(path);
  const named: NamedWeight[] = [];
  try {
    for (const [name, tensor] of weights) {
      // Training state (optimizer slots, aux head) and names that are not '<layer>/<weight>' are no layer's weights.
      if (name.startsWith(TRAINING_STATE_PREFIX) || tensor.dtype !== 'float32' || name.lastIndexOf('/') <= 0) continue;
      named.push({ name, shape: [...tensor.shape], data: (await tensor.data()) as Float32Array });
    }
  } finally {
    weights.forEach((tensor) => tensor.dispose());
  }
  return namedWeightsToKerasFile(named);
}
