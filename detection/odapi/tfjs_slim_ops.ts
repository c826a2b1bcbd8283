// `SlimOps` on TensorFlow.js eager tensors [N,H,W,C]. Weights are uploaded once, on first use, and owned
// by this object (`dispose`); batch norms are kept as (scale, offset) pairs computed in float64 from the
// moving statistics (slim_nasnet.ts SLIM_BN_EPSILON). Callers run the network inside `tf.tidy`.
// TF.js pools with 'same' padding as TensorFlow does: max over the in-bounds pixels only (= -inf padding),
// average over the in-bounds pixels only.
import * as tf from '@tensorflow/tfjs-core';
import { NasnetError } from '../../core/errors.js';
import type { CheckpointWeights } from './checkpoint_weights.js';
import { SLIM_BN_EPSILON, type Padding, type SlimOps } from './slim_nasnet.js';

type T4 = tf.Tensor4D;

export class TfjsSlimOps implements SlimOps<T4> {
  private readonly cache = new Map<string, tf.Tensor>();

  constructor(private readonly weights: CheckpointWeights) {}

  /** The variable `name` as a kept tensor (uploaded once). */
  tensor(name: string, rank?: number): tf.Tensor {
    let t = this.cache.get(name);
    if (t === undefined) {
      const w = this.weights.get(name, rank);
      t = tf.keep(tf.tensor(w.values, [...w.shape], 'float32'));
      this.cache.set(name, t);
    }
    return t;
  }

  private affine(scope: string): [tf.Tensor1D, tf.Tensor1D] {
    const key = `${scope}/__affine`;
    if (!this.cache.has(`${key}/scale`)) {
      const { scale, offset } = this.weights.batchNormAffine(scope, SLIM_BN_EPSILON);
      this.cache.set(`${key}/scale`, tf.keep(tf.tensor1d(scale)));
      this.cache.set(`${key}/offset`, tf.keep(tf.tensor1d(offset)));
    }
    return [this.cache.get(`${key}/scale`) as tf.Tensor1D, this.cache.get(`${key}/offset`) as tf.Tensor1D];
  }

  shape(x: T4): readonly [number, number, number] {
    return [x.shape[1], x.shape[2], x.shape[3]];
  }

  has(scope: string): boolean {
    return this.weights.has(`${scope}/weights`);
  }

  convWidth(scope: string): number {
    return this.weights.get(`${scope}/weights`, 4).shape[3]!;
  }

  conv(x: T4, scope: string, stride: number, padding: Padding, bias = false): T4 {
    const w = this.tensor(`${scope}/weights`, 4) as tf.Tensor4D;
    if (w.shape[2] !== x.shape[3]) {
      throw new NasnetError('WEIGHTS_MISMATCH', `${this.weights.source}: ${scope}/weights is [${w.shape.join(', ')}] but its input has ${x.shape[3]} channels`, { tensor: `${scope}/weights` });
    }
    const y = tf.conv2d(x, w, stride, padding === 'SAME' ? 'same' : 'valid');
    return bias ? tf.add(y, this.tensor(`${scope}/biases`, 1)) : y;
  }

  separable(x: T4, scope: string, stride: number): T4 {
    const depthwise = this.tensor(`${scope}/depthwise_weights`, 4) as tf.Tensor4D;
    const pointwise = this.tensor(`${scope}/pointwise_weights`, 4) as tf.Tensor4D;
    if (depthwise.shape[2] !== x.shape[3]) {
      throw new NasnetError('WEIGHTS_MISMATCH', `${this.weights.source}: ${scope}/depthwise_weights is [${depthwise.shape.join(', ')}] but its input has ${x.shape[3]} channels`, { tensor: `${scope}/depthwise_weights` });
    }
    return tf.separableConv2d(x, depthwise, pointwise, stride, 'same');
  }

  batchNorm(x: T4, scope: string): T4 {
    const [scale, offset] = this.affine(scope);
    return tf.add(tf.mul(x, scale), offset);
  }

  relu(x: T4): T4 {
    return tf.relu(x);
  }

  pool(x: T4, kind: 'avg' | 'max', kernel: number, stride: number, padding: Padding): T4 {
    const pad = padding === 'SAME' ? 'same' : 'valid';
    return kind === 'avg' ? tf.avgPool(x, kernel, stride, pad) : tf.maxPool(x, kernel, stride, pad);
  }

  add(a: T4, b: T4): T4 {
    return tf.add(a, b);
  }

  concat(xs: readonly T4[]): T4 {
    return tf.concat([...xs], 3);
  }

  shift(x: T4): T4 {
    const [n, h, w, c] = x.shape;
    return tf.slice(tf.pad(x, [[0, 0], [0, 1], [0, 1], [0, 0]]), [0, 1, 1, 0], [n, h, w, c]);
  }

  dispose(): void {
    for (const t of this.cache.values()) t.dispose();
    this.cache.clear();
  }
}
