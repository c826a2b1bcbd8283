// Seeded weight initialisation. tfjs-layers draws each weight from an unseeded generator (tfjs-core seeds
// it from Math.random), so two builds of the same config start from different weights. Training runs that
// must be reproducible (fixed seeds, resume checks) redraw every randomly initialised weight here with the
// layer's own initializer (from its config) and a seed derived from (seed, weight position).
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { NasnetError } from '../core/errors.js';
import { initializerSeed } from '../data/seed.js';

/** Config keys of the initializers of tfjs-layers' weights, by weight leaf name. */
const INITIALIZER_KEYS: Readonly<Record<string, string>> = {
  kernel: 'kernelInitializer',
  depthwise_kernel: 'depthwiseInitializer',
  pointwise_kernel: 'pointwiseInitializer',
  bias: 'biasInitializer',
  gamma: 'gammaInitializer',
  beta: 'betaInitializer',
  moving_mean: 'movingMeanInitializer',
  moving_variance: 'movingVarianceInitializer',
};

/** Initializers whose values do not depend on a generator: nothing to redraw. */
const CONSTANT_INITIALIZERS = new Set(['Zeros', 'Ones', 'Constant']);

/**
 * he_normal (Keras `VarianceScaling(2, fan_in, truncated normal)`): the kernel initializer of layers that
 * do not report one in their config (cells/dilated_conv.ts), as of every conv of the search space.
 */
const HE_NORMAL = { className: 'VarianceScaling', config: { scale: 2, mode: 'fanIn', distribution: 'normal' } } as const;

interface InitializerConfig {
  readonly className: string;
  readonly config: { readonly scale: number; readonly mode: 'fanIn' | 'fanOut' | 'fanAvg'; readonly distribution: 'normal' | 'uniform' };
}

function initializerOf(layer: tfl.layers.Layer, leaf: string): InitializerConfig | undefined {
  const key = INITIALIZER_KEYS[leaf];
  const fromConfig = key === undefined ? undefined : (layer.getConfig()[key] as unknown as InitializerConfig | undefined);
  return fromConfig ?? (leaf === 'kernel' ? HE_NORMAL : undefined);
}

/**
 * Redraws every randomly initialised weight of `model` from its layer's initializer with a seed derived
 * from `seed` and the weight's position, so that the same (config, seed) always gives the same weights.
 * Returns the number of weights redrawn.
 */
export function initializeWeights(model: LayersModel, seed: number): number {
  let position = 0;
  let redrawn = 0;
  for (const layer of model.layers) {
    for (const weight of layer.weights) {
      position += 1;
      const leaf = weight.originalName.slice(weight.originalName.lastIndexOf('/') + 1);
      const initializer = initializerOf(layer, leaf);
      if (initializer === undefined || CONSTANT_INITIALIZERS.has(initializer.className)) continue;
      if (initializer.className !== 'VarianceScaling') {
        throw new NasnetError('INVALID_CONFIG', `initializeWeights: ${weight.originalName} uses the ${initializer.className} initializer; only VarianceScaling (he/glorot/lecun) and constants can be seeded`);
      }
      const { scale, mode, distribution } = initializer.config;
      const weightSeed = initializerSeed(seed, position);
      const values = tf.tidy(() => tfl.initializers.varianceScaling({ scale, mode, distribution, seed: weightSeed }).apply(weight.shape));
      weight.write(values);
      values.dispose();
      redrawn += 1;
    }
  }
  return redrawn;
}
