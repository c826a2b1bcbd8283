// The gradient of one batch shard: the forward pass, the weighted loss sum under tf.variableGrads, the
// four losses as numbers. One function for the training step on the main thread and for data-parallel
// replicas (training_replica.ts), so that every replica computes exactly what a one-worker step does.
//
// Shape shorthand: n = images in the shard, S = network input side.
import * as tf from '@tensorflow/tfjs-core';
import { createPrng } from '../core/prng.js';
import type { TrainableVariable } from '../core/training/optimizers.js';
import { deriveSeed } from '../data/seed.js';
import type { Window } from './box_ops.js';
import type { FasterRcnn, GroundTruth } from './faster_rcnn.js';
import type { LossName } from './losses.js';

/** What a training step needs of a batch (or of one shard of it). */
export interface TrainingShard {
  /** [n,S,S,3] */
  readonly images: tf.Tensor4D;
  readonly groundTruth: readonly GroundTruth[];
  readonly windows: readonly Window[];
}

export interface ShardGradients {
  /** Gradient of each trainable variable that has one, by checkpoint name (caller disposes). */
  readonly grads: Record<string, tf.Tensor>;
  /** `loss` (the weighted sum) and the four losses, as numbers. */
  readonly losses: Record<string, number>;
}

/**
 * Seed of the samplers of shard `shard` at `globalStep`. Shard 0 keeps the one-worker derivation, so a
 * one-worker run is unchanged by the data-parallel path.
 */
export function shardSamplerSeed(seed: number, globalStep: number, shard: number): number {
  return shard === 0 ? deriveSeed(seed, 0x5a3, globalStep) : deriveSeed(seed, 0x5a3, globalStep, shard);
}

/** Runs the training forward and backward pass of `model` on `shard` (BN statistics update as a side effect). */
export async function shardGradients(
  model: FasterRcnn,
  trainables: readonly TrainableVariable[],
  shard: TrainingShard,
  samplerSeed: number,
): Promise<ShardGradients> {
  const weights = model.config.lossWeights;
  const prng = createPrng(samplerSeed);
  const nameOf = new Map(trainables.map((t) => [t.variable.name, t.name]));
  let parts: Record<LossName, tf.Scalar> | undefined;
  const { value, grads } = tf.variableGrads(() => {
    parts = model.losses(shard.images, shard.groundTruth, shard.windows, prng);
    for (const loss of Object.values(parts)) tf.keep(loss);
    return tf.addN(Object.entries(parts).map(([name, loss]) => tf.mul(loss, weights[name as LossName]))) as tf.Scalar;
  }, trainables.map((t) => t.variable));
  const losses: Record<string, number> = { loss: (await value.data())[0]! };
  for (const [name, loss] of Object.entries(parts!)) losses[name] = (await loss.data())[0]!;
  tf.dispose([value, ...Object.values(parts!)]);
  return { grads: Object.fromEntries(Object.entries(grads).map(([name, g]) => [nameOf.get(name)!, g])), losses };
}
