// Weight-level conversion between a Keras weight file (keras_h5.ts) and the flat list of named weights our
// checkpoints hold. A named weight is '<layer>/<weight>', the name tfjs-layers gives the variable (the
// LayerVariable's originalName), e.g. 'stem_conv1/kernel', 'stem_bn1/moving_variance'.
// Keras stores the same tensor as 'stem_conv1/kernel:0' (Keras 2), 'stem_conv1/kernel' (Keras 3) or under
// name scopes ('normal_A_block_0/.../separable_conv_1_normal_left1_0/depthwise_kernel'); the layer is the
// h5 group and the last path component names the tensor (spec nasnet.md 3.3), so neither suffix nor
// scope reaches our names.
import type { WeightSpec } from '../core/checkpoint.js';
import { compareWeights, mismatchError } from '../core/checkpoint_manifest.js';
import { NasnetError } from '../core/errors.js';
import type { KerasLayerWeights, KerasWeightFile } from './keras_h5.js';
import { NASNET_PRESETS, type NasnetConfig, type NasnetPresetName } from './config.js';

export interface NamedWeight {
  /** '<layer>/<weight>', e.g. 'stem_conv1/kernel'. */
  readonly name: string;
  readonly shape: number[];
  readonly data: Float32Array;
}

/** What a model expects: a weight's name and shape. */
export type { WeightSpec };

/**
 * Root attrs of files we write when the source carries none: a Keras 2 version, as the layout is Keras 2's.
 * Keras 2's loader (saving.py preprocess_weights_for_loading) reads a missing keras_version as Keras 1 and
 * converts some kernels, and flips conv kernels for a 'theano' backend, so both are always written.
 */
export const DEFAULT_KERAS_ATTRS = { backend: 'tensorflow', kerasVersion: '2.1.6' } as const;

/** 'stem_conv1/kernel:0' or 'scope/stem_conv1/kernel' in layer 'stem_conv1' -> 'stem_conv1/kernel'. */
export function namedWeightName(layer: string, storedName: string): string {
  const leaf = storedName.slice(storedName.lastIndexOf('/') + 1).replace(/:\d+$/, '');
  if (leaf === '') throw new NasnetError('INVALID_DATA', `kerasFileToNamedWeights: layer "${layer}" has a weight named ${JSON.stringify(storedName)} with no tensor name`);
  return `${layer}/${leaf}`;
}

/** The weights of a Keras file as named weights, in file order (layer_names order, then Keras' per-layer order). */
export function kerasFileToNamedWeights(file: KerasWeightFile): NamedWeight[] {
  const out: NamedWeight[] = [];
  const seen = new Map<string, string>();
  for (const layer of file.layers) {
    for (const weight of layer.weights) {
      const name = namedWeightName(layer.name, weight.name);
      const clash = seen.get(name);
      if (clash !== undefined) {
        throw new NasnetError('INVALID_DATA', `kerasFileToNamedWeights: weights "${clash}" and "${weight.name}" of layer "${layer.name}" both map to "${name}"`);
      }
      seen.set(name, weight.name);
      out.push({ name, shape: weight.shape, data: weight.data });
    }
  }
  return out;
}

function splitName(name: string): [layer: string, weight: string] {
  const cut = name.lastIndexOf('/');
  if (cut <= 0 || cut === name.length - 1) {
    throw new NasnetError('INVALID_ARGUMENT', `namedWeightsToKerasFile: weight name ${JSON.stringify(name)} must be '<layer>/<weight>'`);
  }
  return [name.slice(0, cut), name.slice(cut + 1)];
}

export interface ToKerasOptions {
  /**
   * All layer names in Keras model.layers order (weightless ones included). Keras' legacy loader assigns
   * weighted layers BY POSITION in this list, so it must be the Keras order; default: the order in which
   * the weights' layers first appear.
   */
  readonly layerNames?: readonly string[];
  readonly attrs?: KerasWeightFile['attrs'];
}

/**
 * Groups '<layer>/<weight>' weights by layer, in `layerNames` order, keeping each layer's weights in the
 * given order (Keras' per-layer order: kernel; depthwise, pointwise; gamma, beta, moving_mean, moving_variance).
 * Stored names follow Keras 2: '<layer>/<weight>:0'.
 */
export function namedWeightsToKerasFile(weights: readonly NamedWeight[], options: ToKerasOptions = {}): KerasWeightFile {
  const byLayer = new Map<string, KerasLayerWeights>();
  const names = new Set<string>();
  for (const w of weights) {
    if (names.has(w.name)) throw new NasnetError('INVALID_ARGUMENT', `namedWeightsToKerasFile: weight "${w.name}" appears twice`);
    names.add(w.name);
    const [layer, leaf] = splitName(w.name);
    let entry = byLayer.get(layer);
    if (entry === undefined) {
      entry = { name: layer, weights: [] };
      byLayer.set(layer, entry);
    }
    entry.weights.push({ name: `${layer}/${leaf}:0`, shape: w.shape, data: w.data });
  }
  const layerNames = options.layerNames ? [...options.layerNames] : [...byLayer.keys()];
  const listed = new Set(layerNames);
  const unlisted = [...byLayer.keys()].filter((layer) => !listed.has(layer));
  if (unlisted.length > 0) {
    throw new NasnetError('INVALID_ARGUMENT', `namedWeightsToKerasFile: ${unlisted.length} weighted layer(s) are not in layerNames: ${unlisted.slice(0, 5).join(', ')}${unlisted.length > 5 ? ', ...' : ''}`, { unlisted });
  }
  const layers = layerNames.flatMap((layer) => byLayer.get(layer) ?? []);
  return { layerNames, attrs: options.attrs ?? { ...DEFAULT_KERAS_ATTRS }, layers };
}

/**
 * Matches weights against what a model expects, by name; returns them in the model's order. Strict (the
 * default) rejects missing and unexpected weights; shape mismatches are always rejected. Every problem is
 * reported in one WEIGHTS_MISMATCH error (the checkpoint loader's comparison and message).
 */
export function matchNamedWeights(
  expected: readonly WeightSpec[],
  weights: readonly NamedWeight[],
  options: { readonly strict?: boolean; readonly source?: string } = {},
): NamedWeight[] {
  const strict = options.strict ?? true;
  const comparison = compareWeights(expected, weights.map((w) => ({ name: w.name, shape: w.shape, dtype: 'float32' as const })));
  if (comparison.mismatched.length > 0 || (strict && (comparison.missing.length > 0 || comparison.unexpected.length > 0))) {
    throw mismatchError('matchNamedWeights', options.source ?? 'the Keras file', comparison, strict);
  }
  const given = new Map(weights.map((w) => [w.name, w]));
  return expected.flatMap((spec) => given.get(spec.name) ?? []);
}

/** What a Keras NASNet weight file says about its model: the preset it fits, whether it has the top, its classes. */
export interface KerasFileModel {
  readonly preset: NasnetPresetName;
  readonly includeTop: boolean;
  /** The width of `predictions` (with the top only). */
  readonly classes?: number;
}

/**
 * Tells Mobile, Large and CIFAR files apart by three shapes (the weight match afterwards checks the rest):
 * the stem conv's filters, the number of normal cells (the last is `normal_..._{3 * numCells}`), and the
 * last cell's width, penultimateFilters / 6. The top is the `predictions` layer (NASNet-*-no-top.h5 lack it).
 */
export function inferKerasModel(file: KerasWeightFile, source = 'the Keras file'): KerasFileModel {
  const shapes = new Map(kerasFileToNamedWeights(file).map((w) => [w.name, w.shape]));
  const fits = (config: NasnetConfig): boolean => {
    const stem = shapes.get('stem_conv1/kernel');
    const last = shapes.get(`separable_conv_2_bn_normal_left5_${3 * config.numCells}/beta`);
    return stem?.[3] === config.stemFilters && last?.[0] === config.penultimateFilters / 6 &&
      !shapes.has(`separable_conv_2_bn_normal_left5_${3 * config.numCells + 1}/beta`);
  };
  const presets = (Object.keys(NASNET_PRESETS) as NasnetPresetName[]).filter((name) => fits(NASNET_PRESETS[name]));
  if (presets.length !== 1) {
    throw new NasnetError('INVALID_DATA', `${source}: cannot tell which NASNet this is (${presets.length === 0 ? 'no preset fits its weights' : `it fits ${presets.join(' and ')}`}); give the backbone (--backbone ${Object.keys(NASNET_PRESETS).join('|')} or --config FILE.json)`);
  }
  const top = shapes.get('predictions/kernel');
  return { preset: presets[0]!, includeTop: top !== undefined, ...(top !== undefined ? { classes: top[1]! } : {}) };
}
