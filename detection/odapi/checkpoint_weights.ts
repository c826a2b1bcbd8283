// The float variables of an OD API checkpoint, by their slim names, on the host. The network builders read
// them by name (and so decide widths from shapes); the loader then reports, tfjs-layers style, any variable
// the network did not use (a checkpoint of another architecture) and fails on any it wanted but was absent.
import { NasnetError } from '../../core/errors.js';
import { TfCheckpoint } from '../../core/tf_checkpoint.js';

export interface HostWeight {
  readonly shape: readonly number[];
  readonly values: Float32Array;
}

/** Variables that are not weights of the network (the training step counter). */
const NOT_WEIGHTS = new Set(['global_step']);

export class CheckpointWeights {
  private readonly used = new Set<string>();

  constructor(
    readonly source: string,
    private readonly weights: ReadonlyMap<string, HostWeight>,
  ) {}

  /** Reads every float variable of the checkpoint at `prefix` (crc-checked). */
  static async read(prefix: string): Promise<CheckpointWeights> {
    const ckpt = await TfCheckpoint.open(prefix);
    const weights = new Map<string, HostWeight>();
    for (const entry of ckpt.entries.values()) {
      const tensor = await ckpt.read(entry.name); // every tensor's crc is checked, global_step too
      if (NOT_WEIGHTS.has(entry.name)) continue;
      if (!(tensor.values instanceof Float32Array)) {
        throw new NasnetError('WEIGHTS_MISMATCH', `${prefix}.index: variable ${entry.name} is ${tensor.dtype}; expected a float variable`, { tensor: entry.name });
      }
      weights.set(entry.name, { shape: tensor.shape, values: tensor.values });
    }
    ckpt.release();
    return new CheckpointWeights(prefix, weights);
  }

  has(name: string): boolean {
    return this.weights.has(name);
  }

  /** The variable `name`; `rank` checks its shape's length. */
  get(name: string, rank?: number): HostWeight {
    const weight = this.weights.get(name);
    if (weight === undefined) {
      throw new NasnetError('WEIGHTS_MISMATCH', `${this.source}: the network needs variable ${name}, which the checkpoint does not hold`, { tensor: name });
    }
    if (rank !== undefined && weight.shape.length !== rank) {
      throw new NasnetError('WEIGHTS_MISMATCH', `${this.source}: variable ${name} has shape [${weight.shape.join(', ')}]; expected rank ${rank}`, { tensor: name });
    }
    this.used.add(name);
    return weight;
  }

  /** Names never read, sorted. */
  unused(): string[] {
    return [...this.weights.keys()].filter((n) => !this.used.has(n)).sort();
  }

  /** Throws when the network left variables of the checkpoint unread. */
  assertAllUsed(what: string): void {
    const unused = this.unused();
    if (unused.length > 0) {
      const shown = unused.slice(0, 5).join(', ');
      throw new NasnetError('WEIGHTS_MISMATCH', `${this.source}: ${unused.length} variables are not part of ${what}: ${shown}${unused.length > 5 ? ', ...' : ''}`, { unexpected: unused });
    }
  }

  /** The slim batch norm at `scope` as y = x * scale + offset (float64 math, float32 result). */
  batchNormAffine(scope: string, epsilon: number): { scale: Float32Array; offset: Float32Array } {
    const gamma = this.get(`${scope}/gamma`, 1).values;
    const beta = this.get(`${scope}/beta`, 1).values;
    const mean = this.get(`${scope}/moving_mean`, 1).values;
    const variance = this.get(`${scope}/moving_variance`, 1).values;
    const scale = Float32Array.from(gamma, (g, c) => g / Math.sqrt(variance[c]! + epsilon));
    const offset = Float32Array.from(beta, (b, c) => b - mean[c]! * scale[c]!);
    return { scale, offset };
  }
}
