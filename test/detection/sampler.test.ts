import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createPrng } from '../../core/prng.js';
import { NasnetError } from '../../core/errors.js';
import { sampleBalanced, sampledLabels } from '../../detection/sampler.js';

// 10 positives (labels 1..3 as classes), 40 negatives, 10 ignored.
const labels = Int32Array.from({ length: 60 }, (_, i) => (i < 10 ? 1 + (i % 3) : i < 50 ? 0 : -1));

describe('sampleBalanced', () => {
  test('counts follow torchvision: min(#pos, floor(B*f)), min(#neg, B - num_pos)', () => {
    const a = sampleBalanced(labels, { batchSizePerImage: 16, positiveFraction: 0.25 }, createPrng(0));
    assert.equal(a.positive.length, 4);
    assert.equal(a.negative.length, 12);
    const b = sampleBalanced(labels, { batchSizePerImage: 256, positiveFraction: 0.5 }, createPrng(0));
    assert.equal(b.positive.length, 10);
    assert.equal(b.negative.length, 40);
  });

  test('picks only from the right pools, distinct, sorted', () => {
    const s = sampleBalanced(labels, { batchSizePerImage: 20, positiveFraction: 0.5 }, createPrng(3));
    for (const i of s.positive) assert.ok((labels[i] as number) >= 1);
    for (const i of s.negative) assert.equal(labels[i], 0);
    assert.equal(new Set(s.negative).size, s.negative.length);
    assert.deepEqual(Array.from(s.negative), Array.from(s.negative).sort((x, y) => x - y));
  });

  test('same seed -> same sample; another seed -> another sample', () => {
    const cfg = { batchSizePerImage: 16, positiveFraction: 0.25 };
    const a = sampleBalanced(labels, cfg, createPrng(42));
    const b = sampleBalanced(labels, cfg, createPrng(42));
    const c = sampleBalanced(labels, cfg, createPrng(43));
    assert.deepEqual(a, b);
    assert.notDeepEqual(a, c);
  });

  test('uniform: each negative is picked 12/40 of the time (2000 draws, within 5 sigma)', () => {
    const prng = createPrng(7);
    const counts = new Float64Array(60);
    const draws = 2000;
    for (let t = 0; t < draws; t++) for (const i of sampleBalanced(labels, { batchSizePerImage: 16, positiveFraction: 0.25 }, prng).negative) counts[i]++;
    const p = 12 / 40;
    const sigma = Math.sqrt(draws * p * (1 - p));
    for (let i = 10; i < 50; i++) assert.ok(Math.abs((counts[i] as number) - draws * p) < 5 * sigma, `index ${i}: ${counts[i]}`);
  });

  test('sampledLabels keeps the sampled labels and marks the rest -1', () => {
    const out = sampledLabels(labels, { positive: Int32Array.of(1), negative: Int32Array.of(20) });
    assert.equal(out[1], 2);
    assert.equal(out[20], 0);
    assert.equal(out.filter((v) => v !== -1).length, 2);
  });

  test('invalid config names the field', () => {
    assert.throws(() => sampleBalanced(labels, { batchSizePerImage: 0, positiveFraction: 0.5 }, createPrng(0)), (e: unknown) => e instanceof NasnetError && e.details?.field === 'batchSizePerImage');
    assert.throws(() => sampleBalanced(labels, { batchSizePerImage: 8, positiveFraction: 1.5 }, createPrng(0)), (e: unknown) => e instanceof NasnetError && e.details?.field === 'positiveFraction');
  });
});
