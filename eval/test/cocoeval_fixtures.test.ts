// Every fixture case made by the real pycocotools: the 12 stats within 1e-12 (and bit-exact where
// asserted), the printed lines, the params after evaluate(), the [T,R,K,A,M] counts and, for the cases
// that carry them, the precision/recall/scores checksums.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { COCO } from '../coco.js';
import { COCOeval } from '../cocoeval.js';
import { evaluateCoco } from '../evaluate_coco.js';
import { npMean, npSum } from '../numpy_sum.js';
import { applyOverrides } from '../params.js';
import type { Accumulated } from '../accumulate.js';
import type { Checksums, FixtureCase } from './fixtures.js';
import { loadCases } from './fixtures.js';

const TOL = 1e-12;

function assertStats(actual: number[], expected: number[], what: string): void {
  assert.equal(actual.length, expected.length, `${what}: number of stats`);
  actual.forEach((v, i) => {
    assert.ok(Math.abs(v - expected[i]) <= TOL, `${what}: stats[${i}] = ${v}, pycocotools ${expected[i]}`);
  });
}

function run(c: FixtureCase, dt: unknown[]) {
  return evaluateCoco(c.gt, dt as never, { ...(c.meta.params as object), iouType: c.meta.iouType ?? 'bbox', allowEmptyResults: true });
}

function assertChecksums(e: Accumulated, ck: Checksums): void {
  const [T, R, K, A, M] = e.counts;
  assert.deepEqual([T, R, K, A, M], ck.precision_shape);
  const valid = Array.from(e.precision).filter((v) => v !== -1);
  assert.equal(e.precision.filter((v) => v === -1).length, ck.precision_count_minus1);
  assert.equal(valid.length, ck.precision_count_valid);
  assert.equal(e.precision.filter((v) => v === 0).length, ck.precision_count_zero);
  assert.ok(Math.abs(npSum(valid) - ck.precision_sum_valid) <= 1e-9, 'precision_sum_valid');
  assert.ok(Math.abs(npMean(valid) - ck.precision_mean_valid) <= TOL, 'precision_mean_valid');
  for (let k = 0; k < K; k++) {
    for (let a = 0; a < A; a++) {
      for (let m = 0; m < M; m++) {
        const tr: number[] = [];
        for (let t = 0; t < T; t++) for (let r = 0; r < R; r++) tr.push(e.precision[(((t * R + r) * K + k) * A + a) * M + m]);
        assert.ok(Math.abs(npMean(tr) - ck.precision_mean_TR_per_KAM[k][a][m]) <= TOL, `mean over T,R at k=${k} a=${a} m=${m}`);
      }
    }
    const curve = Array.from({ length: R }, (_, r) => e.precision[((r * K + k) * A) * M + M - 1]);
    assert.deepEqual(curve, ck.precision_t0_all_lastM_per_K[k], `precision[0,:,${k},0,-1] bit for bit`);
  }
  assert.deepEqual([T, K, A, M], ck.recall_shape);
  const recall = Array.from({ length: T }, (_, t) => Array.from({ length: K }, (_, k) =>
    Array.from({ length: A }, (_, a) => Array.from({ length: M }, (_, m) => e.recall[((t * K + k) * A + a) * M + m]))));
  assert.deepEqual(recall, ck.recall, 'recall bit for bit');
  assert.ok(Math.abs(npSum(Array.from(e.scores).filter((v) => v !== -1)) - ck.scores_sum_valid) <= 1e-9, 'scores_sum_valid');
}

describe('COCOeval against pycocotools fixtures', () => {
  for (const c of loadCases()) {
    test(c.name, () => {
      const ex = c.expected;
      if (ex.loadRes_error !== null) {
        // pycocotools raised in loadRes; we raise a typed, explained error instead.
        const gt = new COCO(c.gt, 'gt.json');
        assert.throws(() => gt.loadRes(c.dt, 'dt.json'), (err: Error & { code?: string }) => {
          assert.equal(err.code, 'INVALID_DATA');
          assert.match(err.message, /^dt\.json: /);
          return true;
        });
      }
      if (ex.stats === null) {
        // case04: the stats pycocotools gives once the unknown-image records are dropped.
        const known = new Set(c.gt.images.map((im) => im.id));
        const r = run(c, c.dt.filter((d) => known.has(d.image_id)));
        assertStats(r.stats, ex.stats_after_dropping_unknown_images!, c.name);
        return;
      }
      const r = run(c, c.dt);
      assertStats(r.stats, ex.stats, c.name);
      assert.deepEqual(r.stats, ex.stats, `${c.name}: stats bit for bit`);
      assert.deepEqual(r.lines, ex.summary_lines);
      assert.deepEqual(r.params.imgIds, ex.params.imgIds);
      assert.deepEqual(r.params.catIds, ex.params.catIds);
      assert.deepEqual(r.params.iouThrs, ex.params.iouThrs);
      assert.deepEqual(r.params.recThrs, ex.params.recThrs);
      assert.deepEqual(r.params.maxDets, ex.params.maxDets);
      assert.equal(r.params.useCats, ex.params.useCats);
      if (ex.counts) assert.deepEqual(r.eval.counts, ex.counts);
      if (ex.checksums) assertChecksums(r.eval, ex.checksums);
    });
  }
});

describe('COCOeval class, step by step', () => {
  test('evaluate/accumulate/summarize on case17 match evaluateCoco', () => {
    const c = loadCases().find((x) => x.name === 'case17_quirks')!;
    const gt = new COCO(c.gt);
    const E = new COCOeval(gt, gt.loadRes(c.dt), 'bbox');
    E.params = applyOverrides(E.params, {});
    E.evaluate();
    E.accumulate();
    E.summarize();
    assert.deepEqual(E.stats, c.expected.stats);
  });
});
