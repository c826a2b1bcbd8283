// The exporter on NASNets of genotypes other than NASNet-A: seeded random cells drawn from the whole
// search space (all 13 ops, add and concat, any input states) in both stems, run on onnxruntime against
// tfjs with random weights.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { buildNasnet } from '../../backbones/index.js';
import { validateGenotype, unusedStates, type BlockGene, type CellGenotype, type Genotype } from '../../cells/genotype.js';
import { COMBINES, NUM_BLOCKS, OPS } from '../../cells/search_space.js';
import { initEngine } from '../../core/engine.js';
import { createPrng, type Prng } from '../../core/prng.js';
import { compare, randomize } from './onnx_test_utils.js';

await initEngine({ backend: 'wasm' });

function pick<T>(prng: Prng, values: readonly T[]): T {
  return values[Math.floor(prng.next() * values.length)] as T;
}

/** A cell of NUM_BLOCKS random blocks; block b reads any of the b + 2 states before it. */
function randomCell(prng: Prng, ops: readonly (typeof OPS)[number][]): CellGenotype {
  const blocks: BlockGene[] = [];
  for (let b = 0; b < NUM_BLOCKS; b++) {
    const states = Array.from({ length: b + 2 }, (_, s) => s);
    blocks.push({ inputs: [pick(prng, states), pick(prng, states)], ops: [pick(prng, ops), pick(prng, ops)], combine: pick(prng, COMBINES) });
  }
  return { blocks, concat: unusedStates(blocks) };
}

/** Every op appears in some cell of the first genotypes: the ops are dealt out in a shuffled order first. */
function randomGenotypes(count: number, seed: number): Genotype[] {
  const prng = createPrng(seed);
  return Array.from({ length: count }, (_, i) => {
    const dealt = OPS.filter((_, k) => k % count === i);
    const pool = [...dealt, ...dealt, pick(prng, OPS)];
    return validateGenotype({ name: `random-${seed}-${i}`, normal: randomCell(prng, pool), reduction: randomCell(prng, pool) });
  });
}

test('random genotypes over all 13 ops export exactly (ImageNet and CIFAR stems, 1e-4)', async () => {
  const genotypes = randomGenotypes(3, 2026);
  const opsUsed = new Set(genotypes.flatMap((g) => [...g.normal.blocks, ...g.reduction.blocks].flatMap((b) => b.ops)));
  assert.deepEqual([...opsUsed].sort(), [...OPS].sort(), 'the random cells cover the search space');
  const combines = new Set(genotypes.flatMap((g) => [...g.normal.blocks, ...g.reduction.blocks].map((b) => b.combine)));
  assert.deepEqual([...combines].sort(), ['add', 'concat']);
  for (const [i, genotype] of genotypes.entries()) {
    const stem = i % 2 === 0 ? 'imagenet' : 'cifar';
    const { model } = buildNasnet({ genotype, stem, numCells: 1, penultimateFilters: 96, stemFilters: 8, inputSize: 32, classes: 5, includeTop: true, auxHead: false });
    try {
      randomize(model, 100 + i);
      const error = await compare(model, [2, 32, 32, 3], 1e-4);
      assert.ok(Number.isFinite(error));
    } finally {
      model.dispose();
    }
  }
});

test('a block whose two branches are identity of one state (concat(h, h), add(p, p)) runs in tfjs and exports exactly', async () => {
  // Found by the digits search: tfjs-layers freed the shared tensor early and inference threw.
  const sep = { inputs: [0, 1], ops: ['sep_conv_3x3', 'sep_conv_3x3'], combine: 'add' } as const;
  const cell = (combine: 'add' | 'concat', state: number): CellGenotype => ({
    blocks: [{ inputs: [state, state], ops: ['identity', 'identity'], combine }, { inputs: [2, 0], ops: ['sep_conv_3x3', 'max_pool_3x3'], combine: 'add' }, sep, sep, { inputs: [2, 3], ops: ['sep_conv_3x3', 'avg_pool_3x3'], combine: 'concat' }],
    concat: [4, 5, 6],
  });
  const genotype = validateGenotype({ name: 'twin-identity', normal: cell('concat', 1), reduction: cell('add', 1) });
  const { model } = buildNasnet({ genotype, stem: 'cifar', numCells: 1, penultimateFilters: 96, stemFilters: 8, inputSize: 32, classes: 5, includeTop: true, auxHead: false });
  try {
    randomize(model, 7);
    assert.ok(model.layers.some((layer) => layer.getClassName() === 'TensorCopy'));
    // The copies are freed with the other intermediates: repeated inference holds no extra tensors.
    const x = tf.ones([2, 32, 32, 3]);
    tf.dispose(model.predict(x));
    const held = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) tf.dispose(model.predict(x));
    assert.equal(tf.memory().numTensors, held);
    x.dispose();
    const error = await compare(model, [2, 32, 32, 3], 1e-4);
    assert.ok(Number.isFinite(error));
  } finally {
    model.dispose();
  }
});
