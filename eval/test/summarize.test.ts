// summarize: Python's number formatting, the stats mapping and numpy's broadcasting of index lists.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Accumulated } from '../accumulate.js';
import { npMean, npSum } from '../numpy_sum.js';
import { defaultParams } from '../params.js';
import { formatFixed, summaryLine, summaryQueries, summarizeOne } from '../summarize.js';
import { FIXTURE_DIR } from './fixtures.js';

test("formatFixed is Python's '{:0.3f}': exact ties go to the even digit", () => {
  assert.equal(formatFixed(0.0625, 3), '0.062'); // JS toFixed gives 0.063
  assert.equal(formatFixed(0.1875, 3), '0.188');
  assert.equal(formatFixed(0.125, 2), '0.12');
  assert.equal(formatFixed(0.0005, 3), '0.001'); // 0.0005 is not an exact tie in binary
  assert.equal(formatFixed(-1, 3), '-1.000');
  assert.equal(formatFixed(0.6769086176980913, 3), '0.677');
});

test('numpy summation: 8 accumulators per block of 128, halves above', () => {
  assert.equal(npSum([1, 2, 3]), 6);
  // 0.1 ten times: 8 accumulators combined pairwise (0.8), then the tail: exactly 1, while a
  // left-to-right sum gives 0.9999999999999999
  const tenths = new Array(10).fill(0.1);
  assert.equal(tenths.reduce((s, v) => s + v, 0), 0.9999999999999999);
  assert.equal(npSum(tenths), 1);
  assert.equal(npMean([0.5, 0.25]), 0.375);
});

test('summaryLine formats like pycocotools', () => {
  const p = defaultParams('bbox');
  const [q0, q1, , , , , q6] = summaryQueries(p);
  assert.equal(summaryLine(p, q0, 0.5), ' Average Precision  (AP) @[ IoU=0.50:0.95 | area=   all | maxDets=100 ] = 0.500');
  assert.equal(summaryLine(p, q1, -1), ' Average Precision  (AP) @[ IoU=0.50      | area=   all | maxDets=100 ] = -1.000');
  assert.equal(summaryLine(p, q6, 0.25), ' Average Recall     (AR) @[ IoU=0.50:0.95 | area=   all | maxDets=  1 ] = 0.250');
});

test('summarizeOne: mean over valid entries; -1 when none; duplicated maxDets broadcast', () => {
  const p = { ...defaultParams('bbox'), iouThrs: [0.5], recThrs: [0, 0.5], maxDets: [10, 10, 100] };
  // T=1, R=2, K=2, A=4, M=3; precision[t,r,k,a,m]
  const e: Accumulated = {
    counts: [1, 2, 2, 4, 3],
    precision: new Float64Array(1 * 2 * 2 * 4 * 3).fill(-1),
    recall: new Float64Array(1 * 2 * 4 * 3).fill(-1),
    scores: new Float64Array(0),
  };
  const at = (r: number, k: number, a: number, m: number) => ((r * 2 + k) * 4 + a) * 3 + m;
  e.precision[at(0, 0, 0, 0)] = 0.2;
  e.precision[at(1, 1, 0, 1)] = 0.6;
  e.precision[at(0, 0, 0, 2)] = 0.9;
  // maxDets=10 matches m=0 and m=1: both are read
  assert.equal(summarizeOne(e, p, { ap: true, areaRng: 'all', maxDets: 10 }), (0.2 + 0.6) / 2);
  assert.equal(summarizeOne(e, p, { ap: true, areaRng: 'all', maxDets: 100 }), 0.9);
  assert.equal(summarizeOne(e, p, { ap: true, areaRng: 'small', maxDets: 100 }), -1);
  assert.equal(summarizeOne(e, p, { ap: true, iouThr: 0.75, areaRng: 'all', maxDets: 100 }), -1);
  assert.equal(summarizeOne(e, p, { ap: true, areaRng: 'all', maxDets: 10, k: 1 }), 0.6);
});

test('npSum equals np.sum (NumPy 2.4) on arrays of up to 300,000 values', () => {
  const ref = JSON.parse(readFileSync(join(FIXTURE_DIR, 'numpy_sums.json'), 'utf8')) as {
    sums: { n: number; a: number; b: number; m: number; sum: number; mean: number }[];
  };
  for (const c of ref.sums) {
    const x = Float64Array.from({ length: c.n }, (_, i) => ((c.a * i + c.b) % c.m) / c.m);
    assert.equal(npSum(x), c.sum, `n=${c.n}`);
    assert.equal(npMean(x), c.mean, `n=${c.n}`);
  }
});
