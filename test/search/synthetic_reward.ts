// A synthetic search task with a known optimum: every choice of every decision has a fixed score drawn
// uniform in [0, 1) from `seed`; an architecture's reward is the mean score of its 50 choices plus Gaussian
// noise. Uniform sampling averages 0.5; the optimum (each decision's best choice) about 0.78.
import { createPrng } from '../../core/prng.js';
import { DECISIONS } from '../../search/decisions.js';

export interface SyntheticReward {
  readonly optimum: number;
  reward(decisions: readonly number[], noiseSeed: number): number;
}

export function syntheticReward(seed: number, noise = 0.05): SyntheticReward {
  const prng = createPrng(seed);
  const scores = DECISIONS.map((d) => Array.from({ length: d.choices }, () => prng.next()));
  const optimum = scores.reduce((sum, s) => sum + Math.max(...s), 0) / scores.length;
  return {
    optimum,
    reward(decisions, noiseSeed) {
      const mean = decisions.reduce((sum, k, t) => sum + scores[t]![k]!, 0) / decisions.length;
      return mean + noise * createPrng(noiseSeed).normal();
    },
  };
}
