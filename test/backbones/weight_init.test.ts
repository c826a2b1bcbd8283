import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { initEngine } from '../../core/engine.js';
import { buildNasnet } from '../../backbones/nasnet.js';
import { initializeWeights } from '../../backbones/weight_init.js';

const SMALL = { preset: 'cifar', numCells: 1, penultimateFilters: 96, stemFilters: 8, inputSize: 32, classes: 10 } as const;

before(async () => {
  await initEngine({ backend: 'cpu' });
});

/** Every weight of a fresh build of SMALL after initializeWeights(seed), by name. */
function weightsAfter(seed: number): Map<string, Float32Array> {
  const { model } = buildNasnet(SMALL);
  initializeWeights(model, seed);
  const out = new Map(model.weights.map((w) => [w.originalName, w.read().dataSync() as Float32Array]));
  model.dispose();
  return out;
}

test('initializeWeights: the same seed gives the same weights in two builds, another seed other ones', () => {
  const a = weightsAfter(5);
  const b = weightsAfter(5);
  const c = weightsAfter(6);
  for (const [name, values] of a) assert.deepEqual(values, b.get(name), name);
  assert.notDeepEqual(a.get('stem_conv1/kernel'), c.get('stem_conv1/kernel'));
  // Constants stay: BN gamma 1, beta 0, moving variance 1.
  assert.deepEqual([...new Set(a.get('stem_bn1/gamma'))], [1]);
  assert.deepEqual([...new Set(a.get('stem_bn1/moving_variance'))], [1]);
});

test('initializeWeights: draws from the layer initializer (he_normal stem conv: std sqrt(2 / fan_in), truncated)', () => {
  const { model } = buildNasnet({ ...SMALL, stemFilters: 64 });
  const redrawn = initializeWeights(model, 1);
  // Every conv / separable / dense kernel, none of the BN weights (constant initializers).
  assert.equal(redrawn, model.weights.filter((w) => /kernel$/.test(w.originalName)).length);
  const kernel = model.getLayer('stem_conv1').getWeights()[0]!; // [3,3,3,64]: fan_in 27
  const values = Array.from(kernel.dataSync());
  const mean = values.reduce((s, v) => s + v, 0) / values.length;
  const std = Math.sqrt(values.reduce((s, v) => s + (v - mean) ** 2, 0) / values.length);
  // tfjs truncates at 2 std without rescaling: the truncated normal's std is 0.88 of sqrt(2/27) = 0.272.
  assert.ok(Math.abs(std - 0.88 * Math.sqrt(2 / 27)) < 0.02, `std ${std}`);
  assert.ok(Math.max(...values.map(Math.abs)) <= 2 * Math.sqrt(2 / 27) + 1e-6);
  model.dispose();
});
