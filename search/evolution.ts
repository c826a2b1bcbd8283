// Regularized (aging) evolution (Real et al., AAAI 2019, §2 and Algorithm 1, on this search space): a
// population of P architectures; each child's parent is the best of S members drawn uniformly (with
// replacement); the child is the parent with exactly one mutation, a hidden-state input or an op replaced by
// a different value; the oldest member dies when a child joins. The first P children are random.
// Ours: children are proposed a batch at a time from the population as it stands (the run is batched), and
// joined in trial order when the batch's results are in; failed children never join. Real et al.'s
// "identity" mutation (no change) is not used, so every child differs from its parent.
import { NasnetError } from '../core/errors.js';
import type { Prng } from '../core/prng.js';
import { DECISIONS } from './decisions.js';
import { uniformDecisions } from './random.js';
import { meanOf, proposalPrng, type Proposal, type Strategy, type StrategyState, type UpdateStats } from './strategy.js';

export interface EvolutionConfig {
  /** P (Real et al.: 100 on CIFAR at 20,000 children; ours default 20 for small budgets). */
  readonly population: number;
  /** S (Real et al.: 25; ours default 5). */
  readonly sample: number;
}

export const DEFAULT_EVOLUTION: EvolutionConfig = { population: 20, sample: 5 };

interface Member {
  readonly decisions: readonly number[];
  readonly reward: number;
}

/** Indices of the decisions a mutation may change: the 2 inputs and 2 ops of each block (40 of 50). */
export const MUTABLE_DECISIONS: readonly number[] = DECISIONS.flatMap((d, t) => (d.kind === 'combine' ? [] : [t]));

/** The parent with one input or op replaced by a different value (uniform over both choices). */
export function mutate(parent: readonly number[], prng: Prng): number[] {
  const child = [...parent];
  const t = MUTABLE_DECISIONS[prng.int(MUTABLE_DECISIONS.length)]!;
  const choices = DECISIONS[t]!.choices;
  const shift = 1 + prng.int(choices - 1); // 1..choices-1: never the parent's value
  child[t] = (parent[t]! + shift) % choices;
  return child;
}

export function resolveEvolutionConfig(partial: Partial<EvolutionConfig> = {}): EvolutionConfig {
  const config = { ...DEFAULT_EVOLUTION, ...partial };
  for (const field of ['population', 'sample'] as const) {
    if (!Number.isInteger(config[field]) || config[field] < 1) throw new NasnetError('INVALID_CONFIG', `evolution.${field} must be a positive integer; received ${config[field]}`, { field });
  }
  if (config.sample > config.population) throw new NasnetError('INVALID_CONFIG', `evolution.sample (${config.sample}) must not exceed evolution.population (${config.population})`, { field: 'sample' });
  return config;
}

export class AgingEvolution implements Strategy {
  readonly name = 'evolution' as const;
  readonly config: EvolutionConfig;
  /** Oldest first. */
  private population: Member[] = [];
  /** Successful children seen so far (the first P are random). */
  private seen = 0;

  constructor(private readonly seed: number, config: Partial<EvolutionConfig> = {}) {
    this.config = resolveEvolutionConfig(config);
  }

  propose(batch: number, count: number): Proposal[] {
    const prng = proposalPrng(this.seed, batch);
    return Array.from({ length: count }, () => {
      if (this.seen < this.config.population || this.population.length === 0) return { decisions: uniformDecisions(prng), logProbs: null };
      let parent = this.population[prng.int(this.population.length)]!;
      for (let i = 1; i < this.config.sample; i++) {
        const candidate = this.population[prng.int(this.population.length)]!;
        if (candidate.reward > parent.reward) parent = candidate;
      }
      return { decisions: mutate(parent.decisions, prng), logProbs: null };
    });
  }

  update(proposals: readonly Proposal[], rewards: readonly (number | null)[]): UpdateStats {
    proposals.forEach((p, i) => {
      const reward = rewards[i];
      if (reward === null || reward === undefined) return;
      this.population.push({ decisions: p.decisions, reward });
      this.seen += 1;
      if (this.population.length > this.config.population) this.population.shift();
    });
    return { meanReward: meanOf(rewards), baseline: null, entropy: null };
  }

  state(): StrategyState {
    return { json: { seen: this.seen, population: this.population.map((m) => ({ decisions: [...m.decisions], reward: m.reward })) }, arrays: new Map() };
  }

  restore(json: unknown): void {
    const value = json as { seen?: unknown; population?: unknown };
    if (!Number.isInteger(value?.seen) || !Array.isArray(value.population)) throw new NasnetError('CHECKPOINT_INVALID', 'AgingEvolution.restore: the checkpoint lacks {seen, population}');
    this.seen = value.seen as number;
    this.population = (value.population as Member[]).map((m) => ({ decisions: [...m.decisions], reward: m.reward }));
  }

  dispose(): void {}
}
