import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { initEngine } from '../../core/engine.js';
import { createPrng } from '../../core/prng.js';
import { genotypeIssues } from '../../cells/genotype.js';
import { Controller } from '../../search/controller.js';
import { DECISIONS, NUM_DECISIONS, decisionsToGenotype, genotypeToDecisions } from '../../search/decisions.js';
import { referenceObjective } from './controller_reference.js';

before(async () => {
  await initEngine({ backend: 'cpu' });
});

test('the decision space: 50 decisions, input choices b + 2, normal cell first', () => {
  assert.equal(NUM_DECISIONS, 50);
  assert.deepEqual(DECISIONS.slice(0, 5).map((d) => [d.kind, d.choices]), [['input', 2], ['input', 2], ['op', 13], ['op', 13], ['combine', 2]]);
  assert.deepEqual(DECISIONS.slice(20, 25).map((d) => d.choices), [6, 6, 13, 13, 2]);
  assert.equal(DECISIONS[25]!.cell, 'reduction');
  assert.equal(DECISIONS[25]!.choices, 2);
});

test('the real controller (100 units, init in [-0.1, 0.1]) samples valid genotypes; their decisions round-trip', () => {
  const controller = new Controller(7);
  assert.equal(controller.params.get('controller/lstm/kernel')!.length, 200 * 400);
  for (const values of controller.params.values()) assert.ok(values.every((v) => v >= -0.1 && v <= 0.1));
  const { decisions } = controller.sample(20, createPrng(1));
  for (const d of decisions) {
    const genotype = decisionsToGenotype(d);
    assert.deepEqual(genotypeIssues(genotype), []);
    assert.deepEqual(genotypeToDecisions(genotype), d);
  }
});

test('recorded per-decision log-probabilities are exactly the ones the policy recomputes (any batch split)', () => {
  const controller = new Controller(3, { units: 24, initRange: 1 });
  const { decisions, logProbs } = controller.sample(6, createPrng(9));
  assert.deepEqual(controller.logProbs(decisions), logProbs);
  assert.deepEqual(controller.logProbs(decisions.slice(2, 3)), logProbs.slice(2, 3));
  for (const row of logProbs) for (const lp of row) assert.ok(lp <= 0 && Number.isFinite(lp));
});

test('sampling frequencies match the softmax (decision 0, and decision 2 given decisions 0 and 1)', () => {
  // A peaked policy (weights in [-1, 1]) so that the probabilities differ; 4,000 samples.
  const controller = new Controller(11, { units: 16, initRange: 1 });
  const n = 4000;
  const { decisions } = controller.sample(n, createPrng(5));
  const probs = controller.firstDistribution();
  assert.ok(Math.abs(probs[0]! - probs[1]!) > 0.1, `want a skewed first decision, got ${probs}`);
  const counts = [0, 0];
  for (const d of decisions) counts[d[0]!]! += 1;
  probs.forEach((p, k) => {
    const sd = Math.sqrt((n * p * (1 - p)));
    assert.ok(Math.abs(counts[k]! - n * p) < 4 * sd, `choice ${k}: ${counts[k]} vs ${n * p} +- ${4 * sd}`);
  });
  // Conditional: among samples starting (0, 0), the frequencies of decision 2 match exp(log-prob) of that step.
  const group = decisions.filter((d) => d[0] === 0 && d[1] === 0);
  const trace = controller.forward([group[0]!]);
  const stepProbs = Array.from({ length: 13 }, (_, k) => {
    const probe = [...group[0]!];
    probe[2] = k;
    return Math.exp(controller.logProbs([probe])[0]![2]!);
  });
  assert.ok(Math.abs(stepProbs.reduce((a, b) => a + b, 0) - 1) < 1e-9);
  assert.ok(trace.entropies[0]![2]! > 0);
  for (let k = 0; k < 13; k++) {
    const m = group.length;
    const got = group.filter((d) => d[2] === k).length;
    const p = stepProbs[k]!;
    assert.ok(Math.abs(got - m * p) < 4 * Math.sqrt(m * p * (1 - p)) + 1, `op ${k}: ${got} of ${m} vs p = ${p}`);
  }
});

for (const enas of [false, true]) {
  test(`backward equals tf.grads of the same model in tfjs${enas ? ' (temperature 5, tanh constant 2.5)' : ''}`, () => {
    const controller = new Controller(4, { units: 6, initRange: 0.5, ...(enas ? { temperature: 5, tanhConstant: 2.5 } : {}) });
    const { decisions } = controller.sample(3, createPrng(2));
    const alpha = [0.7, -1.3, 0.4];
    const beta = [0.2, 0.05, -0.3];
    const grads = controller.backward(controller.forward(decisions), alpha, beta);
    const names = [...controller.params.keys()];
    const expected = tf.tidy(() => {
      const vars = names.map((name) => tf.tensor(controller.params.get(name)!, [controller.params.get(name)!.length]));
      const g = tf.grads((...xs: tf.Tensor[]) => referenceObjective(controller, Object.fromEntries(names.map((n, i) => [n, xs[i]!])), decisions, alpha, beta))(vars);
      return g.map((t) => Array.from(t.dataSync()));
    });
    names.forEach((name, i) => {
      const got = grads.get(name)!;
      const want = expected[i]!;
      const scale = Math.max(1e-3, ...want.map(Math.abs));
      want.forEach((v, j) => assert.ok(Math.abs(got[j]! - v) <= 2e-4 * scale, `${name}[${j}]: ${got[j]} vs ${v}`));
    });
  });
}

test('sampling and backward create no tensors (no leak on the hot path)', () => {
  const controller = new Controller(1, { units: 8 });
  const before = tf.memory().numTensors;
  const { decisions } = controller.sample(4, createPrng(1));
  controller.backward(controller.forward(decisions), [1, 1, 1, 1], [0, 0, 0, 0]);
  const tensors = controller.tensors();
  tf.dispose(tensors.map((t) => t.tensor));
  assert.equal(tf.memory().numTensors, before);
});
