// ScheduledDropPath (PAPER App. A.5; TF-slim nasnet_utils.py `_apply_drop_path`, drop_connect_version
// 'v3', and `drop_path`): during training each example's branch is zeroed with probability 1 - k and
// scaled by 1/k otherwise, where k shrinks linearly with the cell's depth and with training progress:
//   k1 = 1 - ((c + 1) / C) * (1 - k0)      c = cell index, C = total cells
//   k  = 1 - r * (1 - k1)                  r = min(1, step / total_steps)
// At inference (training false) the layer is the identity.
// Shape shorthand: x [N,H,W,C]; the mask is [N,1,1,1].
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { NasnetError } from '../core/errors.js';

export interface ScheduledDropPathArgs {
  /** Final keep probability k0 of the deepest cell (slim: cifar 0.6, large 0.7, mobile 1.0). */
  readonly keepProb: number;
  /** Index c of the cell holding the branch (stems first on ImageNet). */
  readonly cellIndex: number;
  /** Total number of cells C (slim `total_num_cells`). */
  readonly totalCells: number;
  readonly name?: string;
}

/** Keep probability of cell c of C once training is complete (r = 1). */
export function cellKeepProb(keepProb: number, cellIndex: number, totalCells: number): number {
  return 1 - ((cellIndex + 1) / totalCells) * (1 - keepProb);
}

/** Keep probability at training progress r (clamped to [0, 1]). */
export function scheduledKeepProb(keepProb: number, cellIndex: number, totalCells: number, progress: number): number {
  const r = Math.min(1, Math.max(0, progress));
  return 1 - r * (1 - cellKeepProb(keepProb, cellIndex, totalCells));
}

export class ScheduledDropPath extends tfl.layers.Layer {
  static readonly className = 'ScheduledDropPath';
  readonly keepProb: number;
  readonly cellIndex: number;
  readonly totalCells: number;
  /** Training progress r in [0, 1]; set it from the training loop (`setDropPathProgress`). */
  progress = 0;
  /** Seed of the next training call's mask (undefined: unseeded); set per step by `setDropPathProgress`. */
  seed: string | undefined;

  constructor(args: ScheduledDropPathArgs) {
    super({ name: args.name });
    const { keepProb, cellIndex, totalCells } = args;
    if (!(keepProb > 0 && keepProb <= 1)) {
      throw new NasnetError('INVALID_CONFIG', `ScheduledDropPath: keepProb must be in (0, 1]; received ${keepProb}`);
    }
    if (!(Number.isInteger(totalCells) && totalCells > 0 && Number.isInteger(cellIndex) && cellIndex >= 0 && cellIndex < totalCells)) {
      throw new NasnetError('INVALID_CONFIG', `ScheduledDropPath: need integers 0 <= cellIndex < totalCells; received ${cellIndex}, ${totalCells}`);
    }
    this.keepProb = keepProb;
    this.cellIndex = cellIndex;
    this.totalCells = totalCells;
  }

  /** The keep probability the next training call uses. */
  currentKeepProb(): number {
    return scheduledKeepProb(this.keepProb, this.cellIndex, this.totalCells, this.progress);
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Record<string, unknown>): tf.Tensor {
    const x = Array.isArray(inputs) ? inputs[0]! : inputs;
    const k = this.currentKeepProb();
    if (kwargs.training !== true || k >= 1) return tf.clone(x);
    return tf.tidy(() => {
      // mask = floor(k + U[0,1)) is 1 with probability k (slim `drop_path`).
      const mask = tf.floor(tf.add(tf.randomUniform([x.shape[0]!, 1, 1, 1], 0, 1, 'float32', this.seed), k));
      return tf.mul(x, tf.div(mask, k));
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), keepProb: this.keepProb, cellIndex: this.cellIndex, totalCells: this.totalCells };
  }
}
tf.serialization.registerClass(ScheduledDropPath);

/**
 * Sets the training progress r of every ScheduledDropPath layer of a model; returns how many. With
 * `stepSeed` (e.g. derived from the run seed and the global step) the masks of the next training call are
 * reproducible: layer i draws from seed `<stepSeed>/<i>`.
 */
export function setDropPathProgress(model: LayersModel, progress: number, stepSeed?: number): number {
  if (!Number.isFinite(progress)) {
    throw new NasnetError('INVALID_ARGUMENT', `setDropPathProgress: progress must be a finite number; received ${progress}`);
  }
  let count = 0;
  for (const layer of model.layers) {
    if (layer instanceof ScheduledDropPath) {
      layer.progress = Math.min(1, Math.max(0, progress));
      layer.seed = stepSeed === undefined ? undefined : `${stepSeed}/${count}`;
      count++;
    }
  }
  return count;
}
