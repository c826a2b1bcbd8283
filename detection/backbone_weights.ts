// The backbone's variables as the detector trains and checkpoints them: named '<layer>/<weight>' (the
// Keras names of keras_weights.ts, stable across processes, unlike tfjs' uniquified variable names),
// with BatchNorm statistics never trainable and BatchNorm scale/offset frozen on request.
import type * as tf from '@tensorflow/tfjs-core';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { kerasWeightName } from '../backbones/keras_weights.js';

export interface NamedVariable {
  /** Checkpoint name. */
  readonly name: string;
  readonly variable: tf.Variable;
  readonly trainable: boolean;
}

const BATCH_NORM = 'BatchNormalization';

/** Every weight of `models` (each once), trainable unless BN statistics or, with `frozenBatchNorm`, any BN weight. */
export function backboneWeights(models: readonly LayersModel[], frozenBatchNorm = false): NamedVariable[] {
  const out: NamedVariable[] = [];
  const seen = new Set<string>();
  for (const model of models) {
    for (const layer of model.layers) {
      const frozen = frozenBatchNorm && layer.getClassName() === BATCH_NORM;
      const trainable = new Set(layer.trainableWeights.map((w) => w.id));
      for (const weight of layer.weights) {
        const name = kerasWeightName(layer.name, weight);
        if (seen.has(name)) continue;
        seen.add(name);
        out.push({ name, variable: weight.read() as tf.Variable, trainable: !frozen && trainable.has(weight.id) });
      }
    }
  }
  return out;
}
