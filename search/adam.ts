// Adam (Kingma & Ba 2015, Algorithm 1: beta1 0.9, beta2 0.999, eps 1e-8) over the controller's float32
// parameters, in plain JavaScript like the controller (controller.ts says why). Slots are float32 too, so
// that a checkpoint holds the exact state and a resumed run takes exactly the steps an uninterrupted one would.
import { NasnetError } from '../core/errors.js';

export interface AdamConfig {
  readonly beta1: number;
  readonly beta2: number;
  readonly epsilon: number;
}

export const DEFAULT_ADAM: AdamConfig = { beta1: 0.9, beta2: 0.999, epsilon: 1e-8 };

export class Adam {
  step = 0;
  readonly slots = new Map<string, { m: Float32Array; v: Float32Array }>();

  constructor(readonly params: ReadonlyMap<string, Float32Array>, readonly config: AdamConfig = DEFAULT_ADAM) {
    for (const [name, p] of params) this.slots.set(name, { m: new Float32Array(p.length), v: new Float32Array(p.length) });
  }

  /** One step with the gradients by parameter name. */
  apply(grads: ReadonlyMap<string, Float64Array>, lr: number): void {
    this.step += 1;
    const { beta1, beta2, epsilon } = this.config;
    const alpha = (lr * Math.sqrt(1 - beta2 ** this.step)) / (1 - beta1 ** this.step);
    for (const [name, p] of this.params) {
      const g = grads.get(name);
      if (g === undefined) continue;
      const { m, v } = this.slots.get(name)!;
      for (let i = 0; i < p.length; i++) {
        m[i] = beta1 * m[i]! + (1 - beta1) * g[i]!;
        v[i] = beta2 * v[i]! + (1 - beta2) * g[i]! * g[i]!;
        p[i] = p[i]! - (alpha * m[i]!) / (Math.sqrt(v[i]!) + epsilon);
      }
    }
  }

  /** Slots as `<parameter>/adam_m` and `<parameter>/adam_v`. */
  state(): Map<string, Float32Array> {
    return new Map([...this.slots].flatMap(([name, { m, v }]) => [[`${name}/adam_m`, m], [`${name}/adam_v`, v]]));
  }

  /** Restores the slots saved by `state()` and the step count. */
  load(step: number, saved: ReadonlyMap<string, Float32Array>): void {
    for (const [name, { m, v }] of this.slots) {
      const sm = saved.get(`${name}/adam_m`);
      const sv = saved.get(`${name}/adam_v`);
      if (sm?.length !== m.length || sv?.length !== v.length) throw new NasnetError('CHECKPOINT_INVALID', `Adam.load: the slots of ${name} are missing or of the wrong size`);
      m.set(sm);
      v.set(sv);
    }
    this.step = step;
  }
}
