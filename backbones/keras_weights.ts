// Keras weights <-> a tfjs-layers model, by name: a model weight is '<layer>/<weight>' (the variable's
// originalName, e.g. 'stem_conv1/kernel'), a file weight is its h5 group plus the last path component
// of its weight_names entry (keras_convert.ts). Loading is strict by default: missing, unexpected and
// mismatched weights are reported together in one WEIGHTS_MISMATCH error.
import * as tf from '@tensorflow/tfjs-core';
import type { LayersModel, LayerVariable } from '@tensorflow/tfjs-layers';
import { NasnetError } from '../core/errors.js';
import { kerasFileToNamedWeights, matchNamedWeights, namedWeightsToKerasFile, type NamedWeight, type WeightSpec } from './keras_convert.js';
import type { KerasWeightFile } from './keras_h5.js';
import { kerasLayerOrder } from './keras_order.js';

interface ModelWeight extends WeightSpec {
  readonly variable: LayerVariable;
}

/** A weight's stable name '<layer>/<weight>' (tfjs uniquifies variable names per process; this does not). */
export function kerasWeightName(layerName: string, variable: LayerVariable): string {
  return `${layerName}/${variable.originalName.slice(variable.originalName.lastIndexOf('/') + 1)}`;
}

/** Every weight of the models as '<layer>/<weight>' in Keras order (layers, then per-layer order). */
function modelWeights(models: readonly LayersModel[]): ModelWeight[] {
  const out: ModelWeight[] = [];
  const seen = new Set<string>();
  for (const model of models) {
    for (const layer of kerasLayerOrder(model)) {
      for (const variable of layer.weights) {
        const name = kerasWeightName(layer.name, variable);
        if (seen.has(name)) continue; // a layer shared by several models
        seen.add(name);
        out.push({ name, shape: variable.shape as number[], variable });
      }
    }
  }
  return out;
}

/** Names and shapes of a model's weights in Keras order (what a Keras .h5 of it holds). */
export function modelWeightSpecs(model: LayersModel): WeightSpec[] {
  return modelWeights([model]).map(({ name, shape }) => ({ name, shape }));
}

export interface LoadKerasWeightsOptions {
  /** Reject missing and unexpected weights (default true); shape mismatches are always rejected. */
  readonly strict?: boolean;
}

/**
 * Copies a Keras weight file into one model, or into several models that together hold the file's
 * weights (the two detection stages). Returns the number of tensors loaded.
 */
export function loadKerasWeightsIntoModel(model: LayersModel | readonly LayersModel[], file: KerasWeightFile, options: LoadKerasWeightsOptions = {}): number {
  const models = Array.isArray(model) ? model : [model as LayersModel];
  const expected = modelWeights(models);
  const matched = matchNamedWeights(expected, kerasFileToNamedWeights(file), { strict: options.strict ?? true });
  const byName = new Map(expected.map((w) => [w.name, w.variable]));
  for (const weight of matched) {
    const value = tf.tensor(weight.data, weight.shape, 'float32');
    byName.get(weight.name)!.write(value);
    value.dispose();
  }
  return matched.length;
}

/**
 * The model's weights laid out as a Keras weight file (for keras_h5.ts' writer): every layer name in
 * Keras order in `layerNames`, weighted layers with '<layer>/<weight>:0' tensors in Keras order.
 */
export async function modelWeightsForKeras(model: LayersModel): Promise<KerasWeightFile> {
  const named: NamedWeight[] = [];
  for (const { name, shape, variable } of modelWeights([model])) {
    const data = await variable.read().data();
    if (!(data instanceof Float32Array)) {
      throw new NasnetError('INVALID_ARGUMENT', `modelWeightsForKeras: weight "${name}" is ${variable.dtype}; expected float32`);
    }
    named.push({ name, shape: [...shape], data });
  }
  return namedWeightsToKerasFile(named, { layerNames: kerasLayerOrder(model).map((layer) => layer.name) });
}
