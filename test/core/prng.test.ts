import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createPrng } from '../../core/prng.js';

test('the same seed gives the same stream; different seeds differ', () => {
  const a = createPrng(42);
  const b = createPrng(42);
  const c = createPrng(43);
  const sa = Array.from({ length: 8 }, () => a.next());
  assert.deepEqual(sa, Array.from({ length: 8 }, () => b.next()));
  assert.notDeepEqual(sa, Array.from({ length: 8 }, () => c.next()));
});

test('uniform outputs have the moments of U[0,1) and normal outputs those of N(0,1)', () => {
  const prng = createPrng(7);
  const n = 200_000;
  let sum = 0;
  let sumSq = 0;
  let min = 1;
  let max = 0;
  for (let i = 0; i < n; i++) {
    const u = prng.next();
    sum += u;
    sumSq += u * u;
    min = Math.min(min, u);
    max = Math.max(max, u);
  }
  assert.ok(Math.abs(sum / n - 0.5) < 0.005);
  assert.ok(Math.abs(sumSq / n - sum * sum / n / n - 1 / 12) < 0.002);
  assert.ok(min >= 0 && max < 1);
  let ns = 0;
  let nsq = 0;
  for (let i = 0; i < n; i++) {
    const z = prng.normal();
    ns += z;
    nsq += z * z;
  }
  assert.ok(Math.abs(ns / n) < 0.01);
  assert.ok(Math.abs(nsq / n - 1) < 0.02);
});

test('int covers [0, n) evenly and shuffle is a permutation', () => {
  const prng = createPrng(1);
  const counts = new Array<number>(5).fill(0);
  for (let i = 0; i < 50_000; i++) counts[prng.int(5)]! += 1;
  for (const count of counts) assert.ok(Math.abs(count - 10_000) < 400, `count ${count}`);
  const items = Array.from({ length: 100 }, (_, i) => i);
  const shuffled = prng.shuffle([...items]);
  assert.notDeepEqual(shuffled, items);
  assert.deepEqual([...shuffled].sort((x, y) => x - y), items);
  assert.throws(() => prng.int(0), RangeError);
  assert.throws(() => createPrng(1.5), RangeError);
});
