// Learning-rate schedules as pure functions of the global step. NASNet uses single-period cosine decay on
// CIFAR and exponential decay (x0.97 every 2.4 epochs) on ImageNet (spec/nasnet.md 4.2, TFN 32-110); the
// detector uses momentum SGD with a linear warm-up and step decay (spec/nasnet.md 5.2).

export type LrSchedule =
  | { readonly kind: 'constant'; readonly lr: number; readonly warmupSteps?: number }
  | { readonly kind: 'cosine'; readonly lr: number; readonly totalSteps: number; readonly minLr?: number; readonly warmupSteps?: number }
  | {
      readonly kind: 'exponential';
      readonly lr: number;
      readonly decayRate: number;
      readonly decaySteps: number;
      /** TF's staircase: decay in whole periods. */
      readonly staircase?: boolean;
      readonly warmupSteps?: number;
    }
  | {
      readonly kind: 'step';
      readonly lr: number;
      /** Global steps at which the rate is multiplied by `factor`. */
      readonly boundaries: readonly number[];
      readonly factor: number;
      readonly warmupSteps?: number;
    };

function decayed(schedule: LrSchedule, step: number): number {
  switch (schedule.kind) {
    case 'constant':
      return schedule.lr;
    case 'cosine': {
      const progress = Math.min(1, step / Math.max(1, schedule.totalSteps));
      const minLr = schedule.minLr ?? 0;
      return minLr + 0.5 * (schedule.lr - minLr) * (1 + Math.cos(Math.PI * progress));
    }
    case 'exponential': {
      const periods = step / schedule.decaySteps;
      return schedule.lr * schedule.decayRate ** (schedule.staircase ? Math.floor(periods) : periods);
    }
    case 'step': {
      const passed = schedule.boundaries.filter((boundary) => step >= boundary).length;
      return schedule.lr * schedule.factor ** passed;
    }
  }
}

/** The rate at `step` (0-based): a linear warm-up from lr/warmup to the schedule, then the decay. */
export function learningRateAt(schedule: LrSchedule, step: number): number {
  const warmup = schedule.warmupSteps ?? 0;
  const rate = decayed(schedule, step);
  return step < warmup ? (rate * (step + 1)) / warmup : rate;
}
