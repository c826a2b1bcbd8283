// What the run needs from a search strategy (PPO on the controller, random search, aging evolution): propose
// a batch of architectures, take the batch's rewards, and put its whole state into the run's checkpoint.
// `propose(batch, ...)` draws from a PRNG seeded by (run seed, batch index), so the random state a checkpoint
// must hold is just the batch index; `update` is deterministic. A failed trial has reward null: strategies
// leave it out (it is never given a made-up reward).
import { createPrng, type Prng } from '../core/prng.js';
import { deriveSeed } from '../data/seed.js';

export const STRATEGY_NAMES = ['ppo', 'random', 'evolution'] as const;
export type StrategyName = (typeof STRATEGY_NAMES)[number];

export interface Proposal {
  /** The 50 decisions (decisions.ts). */
  readonly decisions: readonly number[];
  /** Per-decision log-probabilities under the policy that drew them (PPO); null for the other strategies. */
  readonly logProbs: readonly number[] | null;
}

export interface UpdateStats {
  /** Mean reward of the batch's successful trials (null when all failed). */
  readonly meanReward: number | null;
  /** PPO's moving-average baseline after the update. */
  readonly baseline: number | null;
  /** PPO: mean over the batch of the summed per-decision softmax entropies (nats). */
  readonly entropy: number | null;
}

export interface StrategyState {
  /** JSON part (baseline, optimizer step, evolution population...). */
  readonly json: unknown;
  /** Float32 arrays by name (controller weights, optimizer slots); the strategy's own, not copies. */
  readonly arrays: ReadonlyMap<string, Float32Array>;
}

export interface Strategy {
  readonly name: StrategyName;
  propose(batch: number, count: number): Proposal[];
  update(proposals: readonly Proposal[], rewards: readonly (number | null)[]): UpdateStats;
  state(): StrategyState;
  /** Restores what `state()` returned (copies the arrays). */
  restore(json: unknown, arrays: ReadonlyMap<string, Float32Array>): void;
  dispose(): void;
}

/** Stream tag of the proposal PRNG (the data layer uses 1..4, the model 101..102). */
const PROPOSE_STREAM = 201;

/** The PRNG that batch `batch` of a run seeded `seed` proposes with. */
export function proposalPrng(seed: number, batch: number): Prng {
  return createPrng(deriveSeed(seed, PROPOSE_STREAM, batch));
}

/** Mean of the non-null values (null when there are none). */
export function meanOf(values: readonly (number | null)[]): number | null {
  const present = values.filter((v): v is number => v !== null);
  return present.length === 0 ? null : present.reduce((a, b) => a + b, 0) / present.length;
}
