// Balanced positive/negative sampler: picks a fixed-size training minibatch of anchors or proposals
// with at most a given fraction of positives.
//
// Shape shorthand: P = predictions. labels: Int32Array [P] with >= 1 positive (a class id or 1),
// 0 negative, -1 ignored. Output: sorted Int32Array indices of the chosen positives and negatives.
//
// Counts follow torchvision/models/detection/_utils.py `BalancedPositiveNegativeSampler`:
// num_pos = min(#positives, floor(batch * fraction)), num_neg = min(#negatives, batch - num_pos).
// Which ones are picked comes from our seeded PRNG (torch.randperm is not portable), by a partial
// Fisher-Yates shuffle: every subset of the right size is equally likely.
import { NasnetError } from '../core/errors.js';
import type { Prng } from '../core/prng.js';

export interface SamplerConfig {
  /** Minibatch size per image (RPN: 256; box head: 512 in torchvision, 64 in the NASNet config). */
  readonly batchSizePerImage: number;
  /** Largest fraction of positives (RPN 0.5, box head 0.25; TF OD API uses 0.5 for both). */
  readonly positiveFraction: number;
}

export interface Sample {
  readonly positive: Int32Array;
  readonly negative: Int32Array;
}

/** `count` distinct items of `pool`, uniformly, in ascending order. Consumes `count` draws. */
function choose(pool: number[], count: number, prng: Prng): Int32Array {
  for (let i = 0; i < count; i++) {
    const j = i + prng.int(pool.length - i);
    [pool[i], pool[j]] = [pool[j] as number, pool[i] as number];
  }
  return Int32Array.from(pool.slice(0, count)).sort();
}

export function sampleBalanced(labels: Int32Array, config: SamplerConfig, prng: Prng): Sample {
  const { batchSizePerImage, positiveFraction } = config;
  if (!Number.isInteger(batchSizePerImage) || batchSizePerImage < 1) {
    throw new NasnetError('INVALID_CONFIG', `sampleBalanced: batchSizePerImage must be a positive integer; received ${batchSizePerImage}`, {
      field: 'batchSizePerImage',
    });
  }
  if (!(positiveFraction >= 0 && positiveFraction <= 1)) {
    throw new NasnetError('INVALID_CONFIG', `sampleBalanced: positiveFraction must be in [0, 1]; received ${positiveFraction}`, {
      field: 'positiveFraction',
    });
  }
  const positives: number[] = [];
  const negatives: number[] = [];
  labels.forEach((label, i) => {
    if (label >= 1) positives.push(i);
    else if (label === 0) negatives.push(i);
  });
  const numPos = Math.min(positives.length, Math.floor(batchSizePerImage * positiveFraction));
  const numNeg = Math.min(negatives.length, batchSizePerImage - numPos);
  return { positive: choose(positives, numPos, prng), negative: choose(negatives, numNeg, prng) };
}

/**
 * Labels restricted to a sample: positives and negatives keep their label, every other entry becomes
 * -1 (not part of the loss). This is the form the losses take (losses.ts).
 */
export function sampledLabels(labels: Int32Array, sample: Sample): Int32Array {
  const out = new Int32Array(labels.length).fill(-1);
  for (const i of sample.positive) out[i] = labels[i] as number;
  for (const i of sample.negative) out[i] = 0;
  return out;
}
