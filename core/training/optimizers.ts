// Optimizers with the update rules NASNet and the TF Object Detection API train with, written on tfjs ops
// so that every engine runs them and their state can be checkpointed by name (resume loses nothing).
// Momentum follows TF's MomentumOptimizer (accum = m*accum + g; w -= lr*accum) and RMSProp follows
// TF1's RMSPropOptimizer (ms starts at 1; mom = m*mom + lr*g/sqrt(ms+eps); w -= mom), which NASNet used
// with decay 0.9, eps 1.0 (spec/nasnet.md 4.2, PAPER A.7).
import * as tf from '@tensorflow/tfjs-core';

export interface OptimizerConfig {
  readonly kind: 'sgd' | 'momentum' | 'rmsprop';
  readonly momentum?: number;
  readonly nesterov?: boolean;
  readonly rmsDecay?: number;
  readonly epsilon?: number;
  /** L2 coefficient added to the gradient (w * weightDecay) of the variables `decays` accepts. */
  readonly weightDecay?: number;
  /** Rescale all gradients together when their global L2 norm exceeds this. */
  readonly clipGlobalNorm?: number;
}

export interface TrainableVariable {
  readonly name: string;
  readonly variable: tf.Variable;
}

/** Convolution and dense kernels decay; BN scales/offsets and biases do not (as in slim's arg scopes). */
export function isKernelName(name: string): boolean {
  return /(^|\/)(kernel|depthwise_kernel|pointwise_kernel)(:0)?$/.test(name);
}

export class Optimizer {
  private readonly slots = new Map<string, tf.Variable[]>();

  constructor(
    readonly config: OptimizerConfig,
    private readonly decays: (name: string) => boolean = isKernelName,
  ) {}

  private slotsFor(entry: TrainableVariable): tf.Variable[] {
    let slots = this.slots.get(entry.name);
    if (slots === undefined) {
      const shape = entry.variable.shape;
      slots =
        this.config.kind === 'momentum'
          ? [tf.variable(tf.zeros(shape), false)]
          : this.config.kind === 'rmsprop'
            ? [tf.variable(tf.ones(shape), false), tf.variable(tf.zeros(shape), false)]
            : [];
      this.slots.set(entry.name, slots);
    }
    return slots;
  }

  /**
   * Applies one update. `grads[name]` is the gradient of `variables[i]` named `name`; variables without a
   * gradient are left alone. Returns the global gradient norm before clipping (for logs). Does not dispose `grads`.
   */
  apply(variables: readonly TrainableVariable[], grads: Readonly<Record<string, tf.Tensor>>, lr: number): number {
    const present = variables.filter((entry) => grads[entry.name] !== undefined);
    const slotsByName = new Map(present.map((entry) => [entry.name, this.slotsFor(entry)] as const));
    return tf.tidy(() => {
      const normTensor = tf.sqrt(tf.addN(present.map((entry) => tf.sum(tf.square(grads[entry.name] as tf.Tensor)))));
      const norm = normTensor.dataSync()[0] as number;
      const clip = this.config.clipGlobalNorm;
      const scale = clip !== undefined && norm > clip ? clip / norm : 1;
      for (const entry of present) {
        const w = entry.variable;
        let g = grads[entry.name] as tf.Tensor;
        if (scale !== 1) g = tf.mul(g, scale);
        const decay = this.config.weightDecay ?? 0;
        if (decay > 0 && this.decays(entry.name)) g = tf.add(g, tf.mul(w, decay));
        const slots = slotsByName.get(entry.name) as tf.Variable[];
        this.update(w, g, slots, lr);
      }
      return norm;
    });
  }

  private update(w: tf.Variable, g: tf.Tensor, slots: tf.Variable[], lr: number): void {
    const m = this.config.momentum ?? 0.9;
    switch (this.config.kind) {
      case 'sgd':
        w.assign(tf.sub(w, tf.mul(g, lr)));
        return;
      case 'momentum': {
        const accum = slots[0] as tf.Variable;
        accum.assign(tf.add(tf.mul(accum, m), g));
        const step = this.config.nesterov ? tf.add(g, tf.mul(accum, m)) : accum;
        w.assign(tf.sub(w, tf.mul(step, lr)));
        return;
      }
      case 'rmsprop': {
        const [ms, mom] = slots as [tf.Variable, tf.Variable];
        const decay = this.config.rmsDecay ?? 0.9;
        const eps = this.config.epsilon ?? 1.0;
        ms.assign(tf.add(tf.mul(ms, decay), tf.mul(tf.square(g), 1 - decay)));
        mom.assign(tf.add(tf.mul(mom, m), tf.div(tf.mul(g, lr), tf.sqrt(tf.add(ms, eps)))));
        w.assign(tf.sub(w, mom));
        return;
      }
    }
  }

  /** Slot variables by name `<variable>/<slot>`, for checkpoints. */
  state(): { name: string; tensor: tf.Tensor }[] {
    const slotNames = this.config.kind === 'rmsprop' ? ['rms', 'momentum'] : ['momentum'];
    const out: { name: string; tensor: tf.Tensor }[] = [];
    for (const [name, slots] of this.slots) slots.forEach((slot, i) => out.push({ name: `${name}/${slotNames[i]}`, tensor: slot }));
    return out;
  }

  /** Restores slots saved by `state()` for the given variables (copies the values; the caller keeps `saved`). */
  loadState(variables: readonly TrainableVariable[], saved: ReadonlyMap<string, tf.Tensor>): void {
    const slotNames = this.config.kind === 'rmsprop' ? ['rms', 'momentum'] : ['momentum'];
    for (const entry of variables) {
      const values = slotNames.map((slot) => saved.get(`${entry.name}/${slot}`));
      if (values.some((value) => value === undefined)) continue;
      this.slotsFor(entry).forEach((slot, i) => slot.assign(values[i] as tf.Tensor));
    }
  }

  dispose(): void {
    for (const slots of this.slots.values()) for (const slot of slots) slot.dispose();
    this.slots.clear();
  }
}
