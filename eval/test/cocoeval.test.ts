// COCOeval by hand: matching rules on tiny cases, computeIoU/evaluateImg shapes, stable argsort.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { argsortDesc } from '../argsort.js';
import { COCO } from '../coco.js';
import { COCOeval } from '../cocoeval.js';
import { evaluateCoco } from '../evaluate_coco.js';
import { npMean } from '../numpy_sum.js';
import type { CocoDataset } from '../types.js';

// precision of a single TP at rank 1: tp / (fp + tp + np.spacing(1))
const ONE_TP = 1 / (1 + 2 ** -52);
const filled = (n: number, v: number): number[] => new Array(n).fill(v);

const gtData = (): CocoDataset => ({
  images: [{ id: 1, width: 100, height: 100 }],
  categories: [{ id: 1, name: 'a' }],
  annotations: [
    { id: 5, image_id: 1, category_id: 1, bbox: [0, 0, 10, 10], area: 100, iscrowd: 0 },
    { id: 6, image_id: 1, category_id: 1, bbox: [50, 50, 10, 10], area: 100, iscrowd: 1 },
  ],
});

test('argsortDesc is a stable descending argsort (ties in index order, -0 equals 0)', () => {
  assert.deepEqual(Array.from(argsortDesc(Float64Array.of(0.5, 0.9, 0.5, 0, -0, 0.9))), [1, 5, 0, 2, 3, 4]);
  assert.deepEqual(Array.from(argsortDesc(new Float64Array(0))), []);
});

test('evaluateImg: one TP, a dt on the crowd region is ignored, an unmatched dt is an FP', () => {
  const gt = new COCO(gtData());
  const dt = gt.loadRes([
    { image_id: 1, category_id: 1, bbox: [0, 0, 10, 10], score: 0.9 }, // IoU 1 with gt 5
    { image_id: 1, category_id: 1, bbox: [52, 52, 4, 4], score: 0.8 }, // inside the crowd gt 6
    { image_id: 1, category_id: 1, bbox: [30, 30, 5, 5], score: 0.7 }, // nothing
  ]);
  const E = new COCOeval(gt, dt, 'bbox');
  E.evaluate();
  const ious = E.computeIoU(1, 1); // [D=3, G=2]: crowd IoU = inter / area(dt) = 1
  assert.deepEqual(Array.from(ious), [1, 0, 0, 1, 0, 0]);
  const e = E.evaluateImg(1, 1, [0, 1e10], 100)!;
  assert.deepEqual(e.dtIds, [1, 2, 3]);
  assert.deepEqual(e.gtIds, [5, 6]); // non-ignored first
  assert.deepEqual(Array.from(e.gtIgnore), [0, 1]);
  const T = 10;
  for (let t = 0; t < T; t++) {
    assert.deepEqual(Array.from(e.dtMatches.subarray(t * 3, t * 3 + 3)), [5, 6, 0]);
    assert.deepEqual(Array.from(e.dtIgnore.subarray(t * 3, t * 3 + 3)), [0, 1, 0]);
  }
  E.accumulate();
  E.summarize();
  // one TP ranked first: precision 1/(1+eps) at every recall threshold and IoU; recall 1
  assert.equal(ONE_TP, 0.9999999999999998);
  assert.equal(E.stats[0], npMean(filled(10 * 101, ONE_TP)));
  assert.equal(E.stats[8], 1);
});

test('IoU exactly at a threshold matches; a GT area outside a range is ignored there', () => {
  const gt = gtData();
  gt.annotations = [{ id: 1, image_id: 1, category_id: 1, bbox: [0, 0, 10, 10], area: 2000, iscrowd: 0 }];
  // dt [0,0,10,5]: IoU = 50/100 = 0.5 exactly: a match at t=0.5 only
  const r = evaluateCoco(gt, [{ image_id: 1, category_id: 1, bbox: [0, 0, 10, 5], score: 1 }]);
  const ap = npMean([...filled(101, ONE_TP), ...filled(9 * 101, 0)]); // one threshold of ten
  assert.equal(r.stats[1], npMean(filled(101, ONE_TP))); // AP50
  assert.equal(r.stats[2], 0); // AP75
  assert.equal(r.stats[0], ap);
  assert.equal(r.stats[3], -1); // small: the only GT (area field 2000) is medium
  assert.equal(r.stats[4], ap);
  assert.equal(r.stats[8], 0.1); // AR: recall 1 at t=0.5 only
});

test('evaluateCoco: allowEmptyResults evaluates to zeros, with -1 where there is no GT', () => {
  const r = evaluateCoco(gtData(), [], { allowEmptyResults: true });
  assert.deepEqual(r.stats, [0, 0, 0, 0, -1, -1, 0, 0, 0, 0, -1, -1]);
  assert.throws(() => evaluateCoco(gtData(), []), /the results list is empty/);
});

test('evaluate() sorts and uniques imgIds, catIds (with useCats) and maxDets', () => {
  const gt = new COCO(gtData());
  const E = new COCOeval(gt, gt.loadRes([{ image_id: 1, category_id: 1, bbox: [0, 0, 1, 1], score: 1 }]), 'bbox');
  E.params.imgIds = [1, 1];
  E.params.catIds = [1, 1];
  E.params.maxDets = [100, 1, 10];
  E.evaluate();
  assert.deepEqual([E.params.imgIds, E.params.catIds, E.params.maxDets], [[1], [1], [1, 10, 100]]);
  assert.throws(() => new COCOeval(gt, gt, 'bbox').accumulate(), /run evaluate\(\) first/);
});
