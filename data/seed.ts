// Derived seeds: every random stream of the data layer is a pure function of (seed, what, which), so an
// image, a shuffle or an augmentation can be reproduced alone, e.g. after resuming training mid-epoch.

/** Mixes a base seed with integer parts (murmur3 finalizer per part) into a 32-bit seed for createPrng. */
export function deriveSeed(seed: number, ...parts: readonly number[]): number {
  let h = (seed ^ 0x9e3779b9) | 0;
  for (const part of parts) {
    h = Math.imul(h ^ (part | 0) ^ Math.floor(part / 4294967296), 0x85ebca6b);
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35);
    h ^= h >>> 16;
  }
  return h | 0;
}

/**
 * The seed of one TensorFlow.js initializer (tf.randomNormal, tfl.initializers.*): derived from the model
 * seed and the weight's stream, and never 0, which tfjs-core reads as "unseeded" (rand_util.ts:
 * `seed ? seed : Math.random()`), so that model seed 0 (the default) is as reproducible as any other.
 */
export function initializerSeed(seed: number, ...parts: readonly number[]): number {
  return (deriveSeed(seed, ...parts) >>> 0) || 1;
}

/** Stream tags, so that e.g. the train split's image 3 and the val split's image 3 never share a stream. */
export const STREAM = {
  TRAIN_IMAGE: 1,
  VAL_IMAGE: 2,
  SHUFFLE: 3,
  AUGMENT: 4,
} as const;
