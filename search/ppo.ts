// Proximal Policy Optimization of the controller (PAPER §3 and App. A: PPO, learning rate 0.00035, entropy
// penalty 0.00001, baseline an exponential moving average of rewards with weight 0.95, minibatches of 20
// children). Not in the paper (ours): the clipped surrogate of Schulman et al. 2017 (eq. 7) with clip 0.2,
// 4 epochs over each batch, Adam; the whole architecture is one action (its log-probability is the sum of
// the 50 decisions'); the entropy term is a bonus on the summed per-decision entropies (loss -= w * H);
// the baseline starts at the first batch's mean reward and advantages use the baseline before the batch.
//
//   L = -mean_i min(r_i A_i, clip(r_i, 1-e, 1+e) A_i) - w * mean_i H_i,   r_i = exp(logp_i - logp_old_i)
//
// At r = 1 (the first epoch) its gradient is REINFORCE's, -mean_i A_i grad logp_i; where the clip binds it is 0.
import { NasnetError } from '../core/errors.js';
import { Adam } from './adam.js';
import { Controller, type ControllerConfig } from './controller.js';
import { meanOf, proposalPrng, type Proposal, type Strategy, type StrategyState, type UpdateStats } from './strategy.js';

export interface PpoConfig {
  readonly learningRate: number;
  readonly clip: number;
  readonly epochs: number;
  readonly entropyWeight: number;
  /** b' = decay * b + (1 - decay) * R. */
  readonly baselineDecay: number;
  /** Children per gradient step (PAPER: 20). */
  readonly minibatch: number;
}

/** The paper's settings (tuned for 20,000 children). */
export const PPO_PAPER: PpoConfig = { learningRate: 0.00035, clip: 0.2, epochs: 4, entropyWeight: 0.00001, baselineDecay: 0.95, minibatch: 20 };

/**
 * Ours, for budgets of hundreds to a few thousand children: the paper's rate barely moves the policy in
 * 2,000 samples; 0.03 learns the synthetic task of test/search/learning.test.ts within 1,000.
 */
export const PPO_SMALL_BUDGET: PpoConfig = { ...PPO_PAPER, learningRate: 0.03 };

export const PPO_PRESETS = { paper: PPO_PAPER, small: PPO_SMALL_BUDGET } as const;

export function resolvePpoConfig(partial: Partial<PpoConfig> = {}): PpoConfig {
  const config = { ...PPO_SMALL_BUDGET, ...partial };
  const positive = (field: keyof PpoConfig, integer = false): void => {
    const v = config[field];
    if (!(typeof v === 'number' && v > 0 && Number.isFinite(v)) || (integer && !Number.isInteger(v))) {
      throw new NasnetError('INVALID_CONFIG', `ppo.${field} must be a positive ${integer ? 'integer' : 'number'}; received ${v}`, { field });
    }
  };
  positive('learningRate');
  positive('clip');
  positive('epochs', true);
  positive('minibatch', true);
  if (!(config.entropyWeight >= 0)) throw new NasnetError('INVALID_CONFIG', `ppo.entropyWeight must be >= 0; received ${config.entropyWeight}`, { field: 'entropyWeight' });
  if (!(config.baselineDecay >= 0 && config.baselineDecay < 1)) throw new NasnetError('INVALID_CONFIG', `ppo.baselineDecay must be in [0, 1); received ${config.baselineDecay}`, { field: 'baselineDecay' });
  return config;
}

/** The moving-average baseline after seeing `rewards` in order (null rewards are skipped). */
export function updateBaseline(baseline: number, rewards: readonly (number | null)[], decay: number): number {
  let b = baseline;
  for (const r of rewards) if (r !== null) b = decay * b + (1 - decay) * r;
  return b;
}

export interface PpoBatch {
  readonly decisions: readonly (readonly number[])[];
  /** Summed log-probability of each sample under the policy that drew it. */
  readonly oldLogProbs: readonly number[];
  readonly advantages: readonly number[];
}

/**
 * The clipped-surrogate loss (file comment) at the controller's current weights, with its gradients and the
 * mean summed entropy. Where min() picks the clipped term and the ratio is outside [1-e, 1+e] the sample
 * contributes no gradient (ties go to the unclipped term, as tf.minimum's gradient does).
 */
export function ppoLossAndGrads(controller: Controller, batch: PpoBatch, clip: number, entropyWeight: number): { loss: number; entropy: number; grads: Map<string, Float64Array> } {
  const trace = controller.forward(batch.decisions);
  const n = batch.decisions.length;
  const alpha: number[] = [];
  const beta: number[] = [];
  let surrogate = 0;
  let entropy = 0;
  trace.logProbs.forEach((lp, b) => {
    const logp = lp.reduce((x, y) => x + y, 0);
    const ratio = Math.exp(logp - batch.oldLogProbs[b]!);
    const adv = batch.advantages[b]!;
    const clipped = Math.min(Math.max(ratio, 1 - clip), 1 + clip);
    const unclippedWins = ratio * adv <= clipped * adv;
    surrogate += unclippedWins ? ratio * adv : clipped * adv;
    alpha.push(unclippedWins ? (-ratio * adv) / n : 0);
    beta.push(-entropyWeight / n);
    entropy += trace.entropies[b]!.reduce((x, y) => x + y, 0);
  });
  entropy /= n;
  return { loss: -surrogate / n - entropyWeight * entropy, entropy, grads: controller.backward(trace, alpha, beta) };
}

export class PpoSearch implements Strategy {
  readonly name = 'ppo' as const;
  readonly config: PpoConfig;
  readonly controller: Controller;
  readonly optimizer: Adam;
  baseline: number | null = null;

  constructor(private readonly seed: number, config: Partial<PpoConfig> = {}, controller: Partial<ControllerConfig> = {}) {
    this.config = resolvePpoConfig(config);
    this.controller = new Controller(seed, controller);
    this.optimizer = new Adam(this.controller.params);
  }

  propose(batch: number, count: number): Proposal[] {
    const { decisions, logProbs } = this.controller.sample(count, proposalPrng(this.seed, batch));
    return decisions.map((d, i) => ({ decisions: d, logProbs: logProbs[i]! }));
  }

  update(proposals: readonly Proposal[], rewards: readonly (number | null)[]): UpdateStats {
    const meanReward = meanOf(rewards);
    if (meanReward === null) return { meanReward, baseline: this.baseline, entropy: null };
    const baseline = this.baseline ?? meanReward;
    const items = proposals.flatMap((p, i) => {
      const r = rewards[i];
      if (r === null || r === undefined) return [];
      if (p.logProbs === null) throw new NasnetError('INTERNAL', 'PpoSearch.update: a proposal has no log-probabilities');
      return [{ decisions: p.decisions, old: p.logProbs.reduce((a, b) => a + b, 0), adv: r - baseline }];
    });
    const { clip, entropyWeight, learningRate, minibatch } = this.config;
    let entropy = 0;
    for (let epoch = 0; epoch < this.config.epochs; epoch++) {
      for (let start = 0; start < items.length; start += minibatch) {
        const part = items.slice(start, start + minibatch);
        const step = ppoLossAndGrads(this.controller, { decisions: part.map((x) => x.decisions), oldLogProbs: part.map((x) => x.old), advantages: part.map((x) => x.adv) }, clip, entropyWeight);
        this.optimizer.apply(step.grads, learningRate);
        if (epoch === 0 && start === 0) entropy = step.entropy;
      }
    }
    this.baseline = updateBaseline(baseline, rewards, this.config.baselineDecay);
    return { meanReward, baseline: this.baseline, entropy };
  }

  state(): StrategyState {
    const arrays = new Map([...this.controller.params, ...this.optimizer.state()]);
    return { json: { baseline: this.baseline, adamStep: this.optimizer.step }, arrays };
  }

  restore(json: unknown, arrays: ReadonlyMap<string, Float32Array>): void {
    const value = json as { baseline?: unknown; adamStep?: unknown };
    if (!(value?.baseline === null || typeof value?.baseline === 'number') || !Number.isInteger(value.adamStep)) {
      throw new NasnetError('CHECKPOINT_INVALID', 'PpoSearch.restore: the checkpoint lacks {baseline, adamStep}');
    }
    this.controller.load(arrays);
    this.optimizer.load(value.adamStep as number, arrays);
    this.baseline = value.baseline as number | null;
  }

  dispose(): void {}
}
