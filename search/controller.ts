// The controller (PAPER §3 and App. A): a one-layer LSTM with 100 units that emits the 50 decisions of
// decisions.ts one after another, each through a softmax, the chosen token's embedding being the next input.
// Weights are drawn uniform in [-0.1, 0.1] (PAPER App. A) from a seeded PRNG, so a seed fixes the policy.
//
//   go -> LSTM -> head_input -> softmax over b+2 -> token -> embedding -> LSTM -> ... (x 50)
//
// Shape shorthand: B samples in a batch, U = 100 units, G = 4U gate pre-activations, C choices of a decision.
// Each of the 50 decisions has its own softmax classifier (as in Zoph & Le 2017 §3.1), the input
// decisions' over the block's b + 2 choices. Ours (the papers do not say): one embedding table per decision
// kind (input / op / combine) plus a learned "go" input; LSTM gates i, f, g, o, no forget-gate bias.
// (A first version shared one head per kind across the 50 positions: on the synthetic task of
// test/search/learning.test.ts it learned 3x slower, since the LSTM had to encode the position.) Optional ENAS-style logits
// (temperature, tanh constant: Pham et al. 2018 §2.1) are off by default.
//
// Why plain JavaScript, not tfjs ops: 50 steps of a [B,100] LSTM are ~6,600 tiny kernels per gradient pass
// under tf.variableGrads (0.93 s on wasm for B = 20; a PPO update is 4 of them), while the hand-written
// forward and backward below take ~0.05 s. The arithmetic is float64 with float32 weights, so the update
// is bit-identical on every engine and machine (a resumed run equals an uninterrupted one whatever backend
// it picks). test/search/controller.test.ts checks the gradients against tf.grads of the same model in tfjs.
import * as tf from '@tensorflow/tfjs-core';
import { NasnetError } from '../core/errors.js';
import { createPrng, type Prng } from '../core/prng.js';
import { COMBINES, OPS } from '../cells/search_space.js';
import { DECISIONS, MAX_INPUT_CHOICES, NUM_DECISIONS, type DecisionKind } from './decisions.js';

export interface ControllerConfig {
  /** LSTM units (PAPER: 100). */
  readonly units: number;
  /** Weights uniform in [-initRange, initRange] (PAPER: 0.1). */
  readonly initRange: number;
  /** ENAS softmax temperature (logits / T); null = off. */
  readonly temperature: number | null;
  /** ENAS tanh constant (C * tanh(logits / T)); null = off. */
  readonly tanhConstant: number | null;
}

export const DEFAULT_CONTROLLER_CONFIG: ControllerConfig = { units: 100, initRange: 0.1, temperature: null, tanhConstant: null };

export const KINDS: readonly DecisionKind[] = ['input', 'op', 'combine'];
export const KIND_CHOICES: Readonly<Record<DecisionKind, number>> = { input: MAX_INPUT_CHOICES, op: OPS.length, combine: COMBINES.length };

export interface Samples {
  /** [B][50] chosen choice indices. */
  readonly decisions: number[][];
  /** [B][50] log-probability of each chosen decision under the policy that drew it. */
  readonly logProbs: number[][];
}

/** A teacher-forced forward pass, kept for the backward pass. */
export interface Trace {
  readonly decisions: readonly (readonly number[])[];
  /** [B][50] */
  readonly logProbs: number[][];
  /** [B][50] entropy of each step's softmax (nats). */
  readonly entropies: number[][];
  readonly steps: StepTrace[];
}

interface StepTrace {
  /** Embedding table feeding this step ('go' at t = 0) and its row per sample. */
  readonly source: string;
  readonly tokens: Int32Array;
  readonly hPrev: Float64Array; // [B,U]
  readonly cPrev: Float64Array; // [B,U]
  readonly gates: Float64Array; // [B,G] after the activations: i, f, g, o
  readonly c: Float64Array; // [B,U]
  readonly tanhC: Float64Array; // [B,U]
  readonly h: Float64Array; // [B,U]
  readonly raw: Float64Array; // [B,C] logits before the ENAS transform
  readonly logSoftmax: Float64Array; // [B,C]
}

/** Parameter name -> shape, in creation (and initialisation) order. */
export function parameterShapes(units: number): [string, number[]][] {
  return [
    ['controller/lstm/kernel', [2 * units, 4 * units]],
    ['controller/lstm/bias', [4 * units]],
    ['controller/embedding/go', [1, units]],
    ...KINDS.map((k): [string, number[]] => [`controller/embedding/${k}`, [KIND_CHOICES[k], units]]),
    ...DECISIONS.flatMap((d, t): [string, number[]][] => [[`controller/head/${t}/kernel`, [units, d.choices]], [`controller/head/${t}/bias`, [d.choices]]]),
  ];
}

/** Validates a controller config (errors name the field). */
export function resolveControllerConfig(partial: Partial<ControllerConfig> = {}): ControllerConfig {
  const config = { ...DEFAULT_CONTROLLER_CONFIG, ...partial };
  if (!Number.isInteger(config.units) || config.units < 1) throw new NasnetError('INVALID_CONFIG', `controller.units must be a positive integer; received ${config.units}`, { field: 'units' });
  if (!(config.initRange > 0)) throw new NasnetError('INVALID_CONFIG', `controller.initRange must be > 0; received ${config.initRange}`, { field: 'initRange' });
  for (const field of ['temperature', 'tanhConstant'] as const) {
    const v = config[field];
    if (v !== null && !(typeof v === 'number' && v > 0)) throw new NasnetError('INVALID_CONFIG', `controller.${field} must be null or > 0; received ${v}`, { field });
  }
  return config;
}

const sigmoid = (x: number): number => 1 / (1 + Math.exp(-x));

export class Controller {
  readonly config: ControllerConfig;
  /** Float32 storage of every parameter, by name (parameterShapes order). */
  readonly params: Map<string, Float32Array>;
  readonly shapes: Map<string, number[]>;

  /** Draws the initial weights from `seed` (uniform in [-initRange, initRange]). */
  constructor(seed: number, config: Partial<ControllerConfig> = {}) {
    this.config = resolveControllerConfig(config);
    const prng = createPrng(seed);
    const r = this.config.initRange;
    const shapes = parameterShapes(this.config.units);
    this.shapes = new Map(shapes);
    this.params = new Map(shapes.map(([name, shape]) => {
      const values = new Float32Array(shape.reduce((a, b) => a * b, 1));
      for (let i = 0; i < values.length; i++) values[i] = prng.uniform(-r, r);
      return [name, values];
    }));
  }

  private p(name: string): Float32Array {
    return this.params.get(`controller/${name}`)!;
  }

  /**
   * The input half of the LSTM's pre-activations for every embedding row: P_s = E_s Kx + bias [rows,G], one
   * table per embedding source, so a step adds a row lookup instead of a [B,U] x [U,G] product.
   */
  private projections(): Map<string, Float64Array> {
    const U = this.config.units;
    const G = 4 * U;
    const kernel = this.p('lstm/kernel');
    const bias = this.p('lstm/bias');
    const tables = new Map<string, Float64Array>();
    for (const source of ['go', ...KINDS]) {
      const emb = this.p(`embedding/${source}`);
      const rows = emb.length / U;
      const table = new Float64Array(rows * G);
      for (let r = 0; r < rows; r++) {
        for (let j = 0; j < G; j++) table[r * G + j] = bias[j]!;
        for (let k = 0; k < U; k++) {
          const e = emb[r * U + k]!;
          for (let j = 0; j < G; j++) table[r * G + j] += e * kernel[k * G + j]!;
        }
      }
      tables.set(source, table);
    }
    return tables;
  }

  /** The recurrent half of the LSTM kernel transposed, Kh^T [G,U] in float64. */
  private recurrentTransposed(): Float64Array {
    const U = this.config.units;
    const G = 4 * U;
    const kernel = this.p('lstm/kernel');
    const out = new Float64Array(G * U);
    for (let k = 0; k < U; k++) for (let j = 0; j < G; j++) out[j * U + k] = kernel[(U + k) * G + j]!;
    return out;
  }

  /** One step from inputs (embedding `source` rows `tokens`) and state. */
  private step(t: number, table: Float64Array, recurrentT: Float64Array, source: string, tokens: Int32Array, hPrev: Float64Array, cPrev: Float64Array): StepTrace {
    const U = this.config.units;
    const G = 4 * U;
    const B = tokens.length;
    const z = new Float64Array(B * G);
    // z[b,j] = P[token_b, j] + sum_k h[b,k] Kh[k,j], as dot products over the transposed Kh (fastest in JS).
    for (let b = 0; b < B; b++) {
      const x = tokens[b]! * G;
      const hb = b * U;
      for (let j = 0; j < G; j++) {
        let sum = table[x + j]!;
        const col = j * U;
        for (let k = 0; k < U; k++) sum += hPrev[hb + k]! * recurrentT[col + k]!;
        z[b * G + j] = sum;
      }
    }
    const gates = new Float64Array(B * G);
    const c = new Float64Array(B * U);
    const tanhC = new Float64Array(B * U);
    const h = new Float64Array(B * U);
    for (let b = 0; b < B; b++) {
      for (let k = 0; k < U; k++) {
        const zb = b * G;
        const i = sigmoid(z[zb + k]!);
        const f = sigmoid(z[zb + U + k]!);
        const g = Math.tanh(z[zb + 2 * U + k]!);
        const o = sigmoid(z[zb + 3 * U + k]!);
        gates[zb + k] = i;
        gates[zb + U + k] = f;
        gates[zb + 2 * U + k] = g;
        gates[zb + 3 * U + k] = o;
        const cv = f * cPrev[b * U + k]! + i * g;
        c[b * U + k] = cv;
        tanhC[b * U + k] = Math.tanh(cv);
        h[b * U + k] = o * tanhC[b * U + k]!;
      }
    }
    const spec = DECISIONS[t]!;
    const C = spec.choices;
    const width = C;
    const W = this.p(`head/${t}/kernel`);
    const hb = this.p(`head/${t}/bias`);
    const raw = new Float64Array(B * C);
    const logSoftmax = new Float64Array(B * C);
    const { temperature: T, tanhConstant: K } = this.config;
    for (let b = 0; b < B; b++) {
      for (let j = 0; j < C; j++) {
        let s = hb[j]!;
        for (let k = 0; k < U; k++) s += h[b * U + k]! * W[k * width + j]!;
        raw[b * C + j] = s;
      }
      let max = -Infinity;
      const logits = new Float64Array(C);
      for (let j = 0; j < C; j++) {
        let l = raw[b * C + j]!;
        if (T !== null) l /= T;
        if (K !== null) l = K * Math.tanh(l);
        logits[j] = l;
        max = Math.max(max, l);
      }
      let sum = 0;
      for (let j = 0; j < C; j++) sum += Math.exp(logits[j]! - max);
      const lse = max + Math.log(sum);
      for (let j = 0; j < C; j++) logSoftmax[b * C + j] = logits[j]! - lse;
    }
    return { source, tokens, hPrev, cPrev, gates, c, tanhC, h, raw, logSoftmax };
  }

  /**
   * Runs the 50 steps. `choose(t, logSoftmax [B,C])` returns the tokens of step t (sampled or given).
   */
  private run(batch: number, choose: (t: number, logSoftmax: Float64Array) => Int32Array): StepTrace[] {
    const U = this.config.units;
    let h: Float64Array = new Float64Array(batch * U);
    let c: Float64Array = new Float64Array(batch * U);
    let source = 'go';
    let tokens: Int32Array = new Int32Array(batch);
    const steps: StepTrace[] = [];
    const tables = this.projections();
    const recurrentT = this.recurrentTransposed();
    for (let t = 0; t < NUM_DECISIONS; t++) {
      const s = this.step(t, tables.get(source)!, recurrentT, source, tokens, h, c);
      steps.push(s);
      h = s.h;
      c = s.c;
      tokens = choose(t, s.logSoftmax);
      source = DECISIONS[t]!.kind;
    }
    return steps;
  }

  /** Draws `count` architectures with `prng` (one batched pass of 50 steps). */
  sample(count: number, prng: Prng): Samples {
    if (!Number.isInteger(count) || count < 1) throw new NasnetError('INVALID_ARGUMENT', `Controller.sample: count must be a positive integer; received ${count}`);
    const decisions = Array.from({ length: count }, () => new Array<number>(NUM_DECISIONS));
    const logProbs = Array.from({ length: count }, () => new Array<number>(NUM_DECISIONS));
    this.run(count, (t, ls) => {
      const C = DECISIONS[t]!.choices;
      const tokens = new Int32Array(count);
      for (let b = 0; b < count; b++) {
        const u = prng.next();
        let k = 0;
        let cumulative = Math.exp(ls[b * C]!);
        while (k < C - 1 && u >= cumulative) cumulative += Math.exp(ls[b * C + ++k]!);
        tokens[b] = k;
        decisions[b]![t] = k;
        logProbs[b]![t] = ls[b * C + k]!;
      }
      return tokens;
    });
    return { decisions, logProbs };
  }

  /** Teacher-forced pass over `decisions` [B][50]: per-decision log-probabilities and entropies, with the trace for `backward`. */
  forward(decisions: readonly (readonly number[])[]): Trace {
    const B = decisions.length;
    const logProbs = Array.from({ length: B }, () => new Array<number>(NUM_DECISIONS));
    const entropies = Array.from({ length: B }, () => new Array<number>(NUM_DECISIONS));
    const steps = this.run(B, (t, ls) => {
      const C = DECISIONS[t]!.choices;
      const tokens = new Int32Array(B);
      for (let b = 0; b < B; b++) {
        const a = decisions[b]![t]!;
        tokens[b] = a;
        logProbs[b]![t] = ls[b * C + a]!;
        let H = 0;
        for (let j = 0; j < C; j++) H -= Math.exp(ls[b * C + j]!) * ls[b * C + j]!;
        entropies[b]![t] = H;
      }
      return tokens;
    });
    return { decisions, logProbs, entropies, steps };
  }

  /**
   * Gradients (float64, by parameter name) of a loss L whose dependence on the policy is through each
   * sample's summed log-probability and summed entropy: alpha[b] = dL/dlogp_b, beta[b] = dL/dH_b.
   */
  backward(trace: Trace, alpha: readonly number[], beta: readonly number[]): Map<string, Float64Array> {
    const U = this.config.units;
    const G = 4 * U;
    const B = trace.decisions.length;
    const grads = new Map([...this.params].map(([name, v]) => [name, new Float64Array(v.length)]));
    const gr = (name: string): Float64Array => grads.get(`controller/${name}`)!;
    const kernel = this.p('lstm/kernel');
    const dKernel = gr('lstm/kernel');
    const dBias = gr('lstm/bias');
    const { temperature: T, tanhConstant: K } = this.config;
    // Gradients of the projection tables (projections()), turned into kernel, bias and embedding gradients at the end.
    const dTables = new Map(['go', ...KINDS].map((source) => [source, new Float64Array((this.p(`embedding/${source}`).length / U) * G)]));
    const recurrent = Float64Array.from(kernel);
    const N = NUM_DECISIONS * B;
    const hT = new Float64Array(U * N);
    const dzT = new Float64Array(G * N);
    let dhNext: Float64Array = new Float64Array(B * U);
    let dcNext: Float64Array = new Float64Array(B * U);
    for (let t = NUM_DECISIONS - 1; t >= 0; t--) {
      const s = trace.steps[t]!;
      const spec = DECISIONS[t]!;
      const C = spec.choices;
      const width = C;
      const W = this.p(`head/${t}/kernel`);
      const dW = gr(`head/${t}/kernel`);
      const dWb = gr(`head/${t}/bias`);
      const dh = dhNext;
      for (let b = 0; b < B; b++) {
        const a = trace.decisions[b]![t]!;
        const H = trace.entropies[b]![t]!;
        for (let j = 0; j < C; j++) {
          const ls = s.logSoftmax[b * C + j]!;
          const p = Math.exp(ls);
          // d logp_a / d l_j = [j = a] - p_j;  d H / d l_j = -p_j (log p_j + H)
          let dl = alpha[b]! * ((j === a ? 1 : 0) - p) - beta[b]! * p * (ls + H);
          let x = s.raw[b * C + j]!;
          if (T !== null) x /= T;
          if (K !== null) dl *= K * (1 - Math.tanh(x) ** 2);
          if (T !== null) dl /= T;
          if (dl === 0) continue;
          dWb[j] += dl;
          for (let k = 0; k < U; k++) {
            dW[k * width + j] += s.h[b * U + k]! * dl;
            dh[b * U + k] += W[k * width + j]! * dl;
          }
        }
      }
      const dz = new Float64Array(B * G);
      const dcPrev = new Float64Array(B * U);
      for (let b = 0; b < B; b++) {
        for (let k = 0; k < U; k++) {
          const n = b * U + k;
          const zb = b * G;
          const [i, f, g, o] = [s.gates[zb + k]!, s.gates[zb + U + k]!, s.gates[zb + 2 * U + k]!, s.gates[zb + 3 * U + k]!];
          const tc = s.tanhC[n]!;
          const dc = dcNext[n]! + dh[n]! * o * (1 - tc * tc);
          dz[zb + k] = dc * g * i * (1 - i);
          dz[zb + U + k] = dc * s.cPrev[n]! * f * (1 - f);
          dz[zb + 2 * U + k] = dc * i * (1 - g * g);
          dz[zb + 3 * U + k] = dh[n]! * tc * o * (1 - o);
          dcPrev[n] = dc * f;
        }
      }
      const dP = dTables.get(s.source)!;
      const dhPrev = new Float64Array(B * U);
      for (let b = 0; b < B; b++) {
        const zb = b * G;
        const x = s.tokens[b]! * G;
        for (let j = 0; j < G; j++) dP[x + j] += dz[zb + j]!;
        for (let k = 0; k < U; k++) {
          const rowH = (U + k) * G;
          let dhp = 0;
          for (let j = 0; j < G; j++) dhp += recurrent[rowH + j]! * dz[zb + j]!;
          dhPrev[b * U + k] = dhp;
        }
        // Kept transposed for dKh = sum over steps and samples of h_prev^T dz, formed once at the end
        // (in the order the steps are visited here, last step first).
        const n = (NUM_DECISIONS - 1 - t) * B + b;
        for (let k = 0; k < U; k++) hT[k * N + n] = s.hPrev[b * U + k]!;
        for (let j = 0; j < G; j++) dzT[j * N + n] = dz[zb + j]!;
      }
      dhNext = dhPrev;
      dcNext = dcPrev;
    }
    for (let k = 0; k < U; k++) {
      for (let j = 0; j < G; j++) {
        let sum = 0;
        for (let n = 0; n < N; n++) sum += hT[k * N + n]! * dzT[j * N + n]!;
        dKernel[(U + k) * G + j] += sum;
      }
    }
    for (const [source, dP] of dTables) {
      const emb = this.p(`embedding/${source}`);
      const dEmb = gr(`embedding/${source}`);
      for (let r = 0; r < dP.length / G; r++) {
        for (let j = 0; j < G; j++) dBias[j] += dP[r * G + j]!;
        for (let k = 0; k < U; k++) {
          const e = emb[r * U + k]!;
          let de = 0;
          for (let j = 0; j < G; j++) {
            const d = dP[r * G + j]!;
            dKernel[k * G + j] += e * d;
            de += kernel[k * G + j]! * d;
          }
          dEmb[r * U + k] += de;
        }
      }
    }
    return grads;
  }

  /** Per-decision log-probabilities of `decisions` under the current policy. */
  logProbs(decisions: readonly (readonly number[])[]): number[][] {
    return this.forward(decisions).logProbs;
  }

  /** The softmax probabilities of decision 0 (the same for every sample). */
  firstDistribution(): number[] {
    let first: number[] = [];
    this.run(1, (t, ls) => {
      if (t === 0) first = Array.from(ls, (v) => Math.exp(v));
      return new Int32Array(1);
    });
    return first;
  }

  /** The parameters as new tensors (the caller disposes them), for checkpoints. */
  tensors(): { name: string; tensor: tf.Tensor }[] {
    return [...this.params].map(([name, values]) => ({ name, tensor: tf.tensor(values, this.shapes.get(name)!, 'float32') }));
  }

  /** Copies parameters from `values` (every name must be present, with its size). */
  load(values: ReadonlyMap<string, Float32Array>): void {
    for (const [name, target] of this.params) {
      const v = values.get(name);
      if (v === undefined || v.length !== target.length) {
        throw new NasnetError('CHECKPOINT_INVALID', `Controller.load: ${name} ${v === undefined ? 'is missing' : `has ${v.length} values, expected ${target.length}`}`);
      }
      target.set(v);
    }
  }
}
