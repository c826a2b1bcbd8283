// Random search (PAPER §4.4, Fig. 6 baseline): the same 50 decisions drawn uniformly, through the same
// pipeline and budget as the controller's samples.
import type { Prng } from '../core/prng.js';
import { DECISIONS } from './decisions.js';
import { meanOf, proposalPrng, type Proposal, type Strategy, type StrategyState, type UpdateStats } from './strategy.js';

/** One architecture drawn uniformly (each decision uniform over its choices). */
export function uniformDecisions(prng: Prng): number[] {
  return DECISIONS.map((d) => prng.int(d.choices));
}

export class RandomSearch implements Strategy {
  readonly name = 'random' as const;

  constructor(private readonly seed: number) {}

  propose(batch: number, count: number): Proposal[] {
    const prng = proposalPrng(this.seed, batch);
    return Array.from({ length: count }, () => ({ decisions: uniformDecisions(prng), logProbs: null }));
  }

  update(_proposals: readonly Proposal[], rewards: readonly (number | null)[]): UpdateStats {
    return { meanReward: meanOf(rewards), baseline: null, entropy: null };
  }

  state(): StrategyState {
    return { json: {}, arrays: new Map() };
  }

  restore(): void {}

  dispose(): void {}
}
