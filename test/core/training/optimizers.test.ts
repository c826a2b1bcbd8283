import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { initEngine } from '../../../core/engine.js';
import { Optimizer, isKernelName } from '../../../core/training/optimizers.js';

before(async () => {
  await initEngine({ backend: 'cpu' });
});

function close(actual: ArrayLike<number>, expected: number[], tol = 1e-6): void {
  assert.equal(actual.length, expected.length);
  for (let i = 0; i < expected.length; i++) assert.ok(Math.abs((actual[i] as number) - (expected[i] as number)) < tol, `[${i}] ${actual[i]} vs ${expected[i]}`);
}

test('momentum follows TF: accum = m*accum + g, w -= lr*accum', () => {
  const w = tf.variable(tf.tensor1d([1, -2]));
  const opt = new Optimizer({ kind: 'momentum', momentum: 0.9 });
  const vars = [{ name: 'dense/kernel', variable: w }];
  const g = tf.tensor1d([0.5, 1]);
  opt.apply(vars, { 'dense/kernel': g }, 0.1);
  close(w.dataSync(), [1 - 0.05, -2 - 0.1]);
  opt.apply(vars, { 'dense/kernel': g }, 0.1);
  // accum = 0.9*0.5 + 0.5 = 0.95, 0.9*1 + 1 = 1.9
  close(w.dataSync(), [0.95 - 0.095, -2.1 - 0.19]);
  g.dispose();
  opt.dispose();
  w.dispose();
});

test('TF1 RMSProp with ms initialised to 1 (NASNet: decay 0.9, eps 1.0)', () => {
  const w = tf.variable(tf.tensor1d([1]));
  const opt = new Optimizer({ kind: 'rmsprop', momentum: 0.9, rmsDecay: 0.9, epsilon: 1.0 });
  const g = tf.tensor1d([2]);
  opt.apply([{ name: 'k/kernel', variable: w }], { 'k/kernel': g }, 0.1);
  const ms = 0.9 * 1 + 0.1 * 4;
  const mom = (0.1 * 2) / Math.sqrt(ms + 1);
  close(w.dataSync(), [1 - mom]);
  g.dispose();
  opt.dispose();
  w.dispose();
});

test('global-norm clipping scales every gradient together; weight decay touches kernels only', () => {
  const a = tf.variable(tf.tensor1d([0, 0]));
  const b = tf.variable(tf.tensor1d([1]));
  const opt = new Optimizer({ kind: 'sgd', clipGlobalNorm: 1, weightDecay: 0.5 });
  const grads = { 'conv/kernel': tf.tensor1d([3, 0]), 'bn/gamma': tf.tensor1d([4]) };
  const norm = opt.apply(
    [
      { name: 'conv/kernel', variable: a },
      { name: 'bn/gamma', variable: b },
    ],
    grads,
    1,
  );
  assert.ok(Math.abs(norm - 5) < 1e-6);
  close(a.dataSync(), [-0.6, 0]); // kernel decay adds 0.5*w = 0 here
  close(b.dataSync(), [1 - 0.8]); // no decay on gamma
  assert.ok(isKernelName('separable_conv_1_x/depthwise_kernel') && !isKernelName('stem_bn1/beta'));
  Object.values(grads).forEach((t) => t.dispose());
  opt.dispose();
  a.dispose();
  b.dispose();
});

test('state round-trips into a fresh optimizer, which then continues identically; no tensor leaks', () => {
  const make = () => tf.variable(tf.tensor1d([1, 2, 3]));
  const g = tf.tensor1d([0.1, -0.2, 0.3]);
  const w1 = make();
  const opt1 = new Optimizer({ kind: 'momentum', momentum: 0.9 });
  const vars1 = [{ name: 'x/kernel', variable: w1 }];
  opt1.apply(vars1, { 'x/kernel': g }, 0.5);
  const saved = new Map(opt1.state().map((s) => [s.name, s.tensor.clone()] as const));
  const w2 = tf.variable(w1.clone());
  const opt2 = new Optimizer({ kind: 'momentum', momentum: 0.9 });
  const vars2 = [{ name: 'x/kernel', variable: w2 }];
  opt2.loadState(vars2, saved);
  const before = tf.memory().numTensors;
  for (let i = 0; i < 3; i++) {
    opt1.apply(vars1, { 'x/kernel': g }, 0.5);
    opt2.apply(vars2, { 'x/kernel': g }, 0.5);
  }
  assert.equal(tf.memory().numTensors, before);
  close(w2.dataSync(), Array.from(w1.dataSync()), 1e-7);
  saved.forEach((t) => t.dispose());
  [g, w1, w2].forEach((t) => t.dispose());
  opt1.dispose();
  opt2.dispose();
});
