// Params: np.linspace values bit for bit, defaults, and validated overrides.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyOverrides, defaultParams, linspace } from '../params.js';

test('iouThrs = np.linspace(.5, .95, 10): iouThrs[8] is 0.8999999999999999', () => {
  const p = defaultParams('bbox');
  assert.deepEqual(p.iouThrs, [0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.8999999999999999, 0.95]);
});

test('recThrs = np.linspace(0, 1, 101): i*0.01, so 35 and 57 are one ulp high', () => {
  const r = linspace(0, 1, 101);
  assert.equal(r.length, 101);
  assert.equal(r[35], 0.35000000000000003);
  assert.equal(r[57], 0.5700000000000001);
  assert.equal(r[50], 0.5);
  assert.equal(r[100], 1);
});

test('defaults: detection areas and maxDets, keypoints without small and with maxDets [20]', () => {
  const d = defaultParams('segm');
  assert.deepEqual(d.areaRng, [[0, 1e10], [0, 1024], [1024, 9216], [9216, 1e10]]);
  assert.deepEqual(d.maxDets, [1, 10, 100]);
  const k = defaultParams('keypoints');
  assert.deepEqual(k.areaRngLbl, ['all', 'medium', 'large']);
  assert.deepEqual(k.maxDets, [20]);
  assert.equal(k.kpt_oks_sigmas.length, 17);
  assert.equal(k.kpt_oks_sigmas[0], 0.26 / 10);
});

test('overrides are copied and checked field by field', () => {
  const base = defaultParams('bbox');
  const p = applyOverrides(base, { useCats: false, maxDets: [100, 1, 10], catIds: [3] });
  assert.equal(p.useCats, 0);
  assert.deepEqual(p.maxDets, [100, 1, 10]);
  assert.deepEqual(base.catIds, []);
  assert.throws(() => applyOverrides(base, { maxDets: [1, 10] }), /params\.maxDets: expected at least 3 values/);
  assert.throws(() => applyOverrides(base, { maxDets: [1, 10, 0.5] }), /positive integers/);
  assert.throws(() => applyOverrides(base, { iouThrs: [] }), /params\.iouThrs/);
  assert.throws(() => applyOverrides(base, { useCats: 2 as 1 }), /params\.useCats: expected 0, 1, true or false; received 2/);
  assert.throws(() => applyOverrides(base, { areaRng: [[0, 1]] }), /params\.areaRngLbl/);
  assert.throws(() => defaultParams('mask' as 'bbox'), /iouType must be one of bbox, segm, keypoints/);
});
