import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { createPrng } from '../../core/prng.js';
import { Controller } from '../../search/controller.js';
import { DECISIONS, NUM_DECISIONS } from '../../search/decisions.js';
import { AgingEvolution, MUTABLE_DECISIONS, mutate } from '../../search/evolution.js';
import { PpoSearch, ppoLossAndGrads, updateBaseline } from '../../search/ppo.js';
import { RandomSearch } from '../../search/random.js';
import { loadSearchCheckpoint, saveSearchCheckpoint } from '../../search/checkpoint.js';

const sum = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0);

test('PPO: with nothing clipped (ratio 1) the gradient is REINFORCE\'s, -mean A grad logp; where the clip binds it is 0', () => {
  const controller = new Controller(5, { units: 12, initRange: 0.5 });
  const { decisions, logProbs } = controller.sample(4, createPrng(3));
  const old = logProbs.map(sum);
  const advantages = [0.3, -0.2, 0.5, -0.4];
  const ppo = ppoLossAndGrads(controller, { decisions, oldLogProbs: old, advantages }, 0.2, 0).grads;
  const reinforce = controller.backward(controller.forward(decisions), advantages.map((a) => -a / 4), [0, 0, 0, 0]);
  for (const [name, g] of ppo) g.forEach((v, i) => assert.ok(Math.abs(v - reinforce.get(name)![i]!) <= 1e-12, name));
  assert.ok([...ppo.values()].some((g) => g.some((v) => v !== 0)));

  // Ratio 1.5 with A > 0 and ratio 0.5 with A < 0: min() takes the clipped, constant term -> no gradient.
  const clipped = ppoLossAndGrads(controller, { decisions: decisions.slice(0, 2), oldLogProbs: [old[0]! - Math.log(1.5), old[1]! - Math.log(0.5)], advantages: [0.3, -0.2] }, 0.2, 0);
  for (const g of clipped.grads.values()) assert.ok(g.every((v) => v === 0));
  // Ratio 1.5 with A < 0 is not clipped (min takes the unclipped term): gradient ratio * REINFORCE's.
  const open = ppoLossAndGrads(controller, { decisions: decisions.slice(0, 1), oldLogProbs: [old[0]! - Math.log(1.5)], advantages: [-0.2] }, 0.2, 0).grads;
  const scaled = controller.backward(controller.forward(decisions.slice(0, 1)), [-1.5 * -0.2], [0]);
  for (const [name, g] of open) g.forEach((v, i) => assert.ok(Math.abs(v - scaled.get(name)![i]!) <= 1e-9 * Math.max(1, Math.abs(v)), name));
});

test('baseline: b\' = 0.95 b + 0.05 R per reward, failed trials skipped; PPO starts it at the first batch mean', () => {
  assert.equal(updateBaseline(0.5, [0.9], 0.95), 0.95 * 0.5 + 0.05 * 0.9);
  assert.equal(updateBaseline(0.5, [0.9, null, 0.1], 0.95), 0.95 * (0.95 * 0.5 + 0.05 * 0.9) + 0.05 * 0.1);
  const ppo = new PpoSearch(1, { epochs: 1 }, { units: 8 });
  const proposals = ppo.propose(0, 3);
  const stats = ppo.update(proposals, [0.2, 0.4, null]);
  assert.equal(stats.meanReward, (0.2 + 0.4) / 2);
  assert.equal(stats.baseline, updateBaseline(0.3, [0.2, 0.4], 0.95));
});

test('random search is uniform over every decision\'s choices', () => {
  const random = new RandomSearch(4);
  const proposals = random.propose(0, 2600);
  for (const t of [0, 2, 4, 20, 47]) {
    const n = DECISIONS[t]!.choices;
    const counts = new Array<number>(n).fill(0);
    for (const p of proposals) counts[p.decisions[t]!]! += 1;
    const expected = proposals.length / n;
    const chi2 = counts.reduce((s, c) => s + (c - expected) ** 2 / expected, 0);
    assert.ok(chi2 < n - 1 + 5 * Math.sqrt(2 * (n - 1)), `decision ${t}: chi2 ${chi2} over ${n - 1} dof`);
  }
  assert.ok(proposals.every((p) => p.logProbs === null));
  assert.deepEqual(random.propose(0, 5), proposals.slice(0, 5));
});

test('evolution: a child differs from its parent in exactly one input or op; the oldest dies; failures never join', () => {
  const prng = createPrng(8);
  const parent = new RandomSearch(1).propose(0, 1)[0]!.decisions;
  for (let i = 0; i < 300; i++) {
    const child = mutate(parent, prng);
    const changed = child.flatMap((v, t) => (v === parent[t] ? [] : [t]));
    assert.equal(changed.length, 1);
    assert.ok(MUTABLE_DECISIONS.includes(changed[0]!));
    assert.notEqual(DECISIONS[changed[0]!]!.kind, 'combine');
  }
  const evo = new AgingEvolution(2, { population: 4, sample: 2 });
  const first = evo.propose(0, 4);
  evo.update(first, [0.1, 0.9, null, 0.3]);
  const second = evo.propose(1, 3);
  assert.equal((evo.state().json as { population: unknown[] }).population.length, 3);
  evo.update(second, [0.2, 0.2, 0.2]);
  const pop = (evo.state().json as { population: { reward: number }[] }).population;
  assert.deepEqual(pop.map((m) => m.reward), [0.3, 0.2, 0.2, 0.2]); // 0.1 and 0.9 aged out; the failure never joined
  const children = evo.propose(2, 10);
  for (const c of children) {
    const diffs = pop.map((m) => (m as unknown as { decisions: number[] }).decisions.filter((v, t) => v !== c.decisions[t]).length);
    assert.ok(diffs.includes(1), 'every child is one mutation away from a member');
  }
});

test('checkpoint round trip: a restored PPO strategy proposes and updates exactly as the original', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'search-ckpt-'));
  try {
    const a = new PpoSearch(3, { minibatch: 4 }, { units: 16 });
    const p0 = a.propose(0, 6);
    a.update(p0, [0.1, 0.5, 0.3, 0.9, 0.2, 0.4]);
    const { json, arrays } = a.state();
    const numTensors = tf.memory().numTensors;
    await saveSearchCheckpoint(join(dir, 'ckpt'), { batch: 1, pending: [], strategy: json, history: [] }, arrays);
    const loaded = await loadSearchCheckpoint(join(dir, 'ckpt'));
    assert.equal(tf.memory().numTensors, numTensors);
    const b = new PpoSearch(3, { minibatch: 4 }, { units: 16 });
    b.restore(loaded.state.strategy, loaded.arrays);
    const [pa, pb] = [a.propose(1, 5), b.propose(1, 5)];
    assert.deepEqual(pb, pa);
    const rewards = [0.3, 0.1, 0.8, 0.6, 0.5];
    assert.deepEqual(b.update(pb, rewards), a.update(pa, rewards));
    assert.deepEqual(b.propose(2, 5), a.propose(2, 5));
    for (const [name, v] of a.state().arrays) assert.deepEqual(b.state().arrays.get(name), v, name);
    assert.equal(NUM_DECISIONS, pa[0]!.decisions.length);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
