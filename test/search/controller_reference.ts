// The controller's model written again with tfjs ops, so that the hand-written backward pass of
// search/controller.ts can be checked against tf.grads: same parameters, same step order, float32.
import * as tf from '@tensorflow/tfjs-core';
import { DECISIONS, NUM_DECISIONS } from '../../search/decisions.js';
import { KIND_CHOICES, type Controller } from '../../search/controller.js';

/** sum_b alpha_b * logp_b + beta_b * H_b of `decisions` under the parameters `p` (tensors by name). */
export function referenceObjective(
  controller: Controller, p: Record<string, tf.Tensor>, decisions: readonly (readonly number[])[], alpha: readonly number[], beta: readonly number[],
): tf.Scalar {
  const { units: U, temperature: T, tanhConstant: K } = controller.config;
  const B = decisions.length;
  const w = (name: string): tf.Tensor => p[`controller/${name}`]!;
  let x = tf.tile(tf.reshape(w('embedding/go'), [1, U]), [B, 1]);
  let h = tf.zeros([B, U]);
  let c = tf.zeros([B, U]);
  let logp: tf.Tensor = tf.zeros([B]);
  let ent: tf.Tensor = tf.zeros([B]);
  for (let t = 0; t < NUM_DECISIONS; t++) {
    const z = tf.add(tf.matMul(tf.concat([x, h], 1), tf.reshape(w('lstm/kernel'), [2 * U, 4 * U])), w('lstm/bias'));
    const [i, f, g, o] = tf.split(z, 4, 1) as tf.Tensor[];
    c = tf.add(tf.mul(tf.sigmoid(f!), c), tf.mul(tf.sigmoid(i!), tf.tanh(g!)));
    h = tf.mul(tf.sigmoid(o!), tf.tanh(c));
    const spec = DECISIONS[t]!;
    const width = KIND_CHOICES[spec.kind];
    let logits = tf.add(tf.matMul(h, tf.reshape(w(`head/${t}/kernel`), [U, spec.choices])), w(`head/${t}/bias`));
    if (T !== null) logits = tf.div(logits, T);
    if (K !== null) logits = tf.mul(tf.tanh(logits), K);
    const ls = tf.logSoftmax(logits);
    const tokens = tf.tensor1d(decisions.map((d) => d[t]!), 'int32');
    logp = tf.add(logp, tf.sum(tf.mul(ls, tf.oneHot(tokens, spec.choices)), 1));
    ent = tf.sub(ent, tf.sum(tf.mul(tf.exp(ls), ls), 1));
    x = tf.gather(tf.reshape(w(`embedding/${spec.kind}`), [width, U]), tokens);
  }
  return tf.add(tf.sum(tf.mul(logp, tf.tensor1d(alpha as number[]))), tf.sum(tf.mul(ent, tf.tensor1d(beta as number[])))) as tf.Scalar;
}
