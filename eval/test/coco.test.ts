// The COCO index and loadRes rules (coco.py), with hand-made data.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { COCO } from '../coco.js';
import { rleArea, rleFrPoly, rleToBbox } from '../rle.js';
import { rleToJson } from '../segm.js';
import type { CocoDataset } from '../types.js';

const dataset = (): CocoDataset => ({
  images: [{ id: 7, width: 50, height: 40 }, { id: 3, width: 50, height: 40 }],
  categories: [{ id: 2, name: 'b', supercategory: 'x' }, { id: 1, name: 'a', supercategory: 'y' }],
  annotations: [
    { id: 10, image_id: 7, category_id: 2, bbox: [0, 0, 10, 10], area: 100, iscrowd: 0 },
    { id: 11, image_id: 3, category_id: 1, bbox: [0, 0, 5, 5], area: 25, iscrowd: 1 },
    { id: 12, image_id: 7, category_id: 1, bbox: [5, 5, 10, 10], area: 2000, iscrowd: 0 },
  ],
});

test('getAnnIds keeps file order and applies each filter; getCatIds/getImgIds filter', () => {
  const c = new COCO(dataset());
  assert.deepEqual(c.getAnnIds(), [10, 11, 12]);
  assert.deepEqual(c.getAnnIds({ imgIds: [3, 7] }), [11, 10, 12]);
  assert.deepEqual(c.getAnnIds({ catIds: [1] }), [11, 12]);
  assert.deepEqual(c.getAnnIds({ areaRng: [25, 2000] }), [10]); // bounds exclusive here
  assert.deepEqual(c.getAnnIds({ iscrowd: true }), [11]);
  assert.deepEqual(c.getCatIds(), [2, 1]);
  assert.deepEqual(c.getCatIds({ supNms: ['y'] }), [1]);
  assert.deepEqual(c.getImgIds(), [7, 3]);
  assert.deepEqual(c.getImgIds({ catIds: [1, 2] }), [7]);
  assert.deepEqual(c.loadAnns([12]).map((a) => a.area), [2000]);
  assert.throws(() => c.loadImgs([99]), /unknown image id 99/);
});

test('loadRes on boxes: area = w*h (negative kept), id = index+1, iscrowd 0, GT images and categories', () => {
  const gt = new COCO(dataset());
  const res = [
    { image_id: 7, category_id: 2, bbox: [1, 1, 4, 5], score: 0.5, area: 999 },
    { image_id: 3, category_id: 42, bbox: [1, 1, -2, 3], score: 0.1 },
  ];
  const dt = gt.loadRes(res);
  assert.deepEqual(dt.loadAnns([1, 2]).map((a) => [a.id, a.area, a.iscrowd]), [[1, 20, 0], [2, -6, 0]]);
  assert.deepEqual(dt.getImgIds(), [7, 3]);
  assert.deepEqual(dt.getCatIds(), [2, 1]);
  assert.deepEqual(dt.getAnnIds({ imgIds: [7] }), [1]);
});

test('loadRes decides the kind from the first record; segmentation gives area and bbox from the mask', () => {
  const gt = new COCO(dataset());
  const rle = rleFrPoly([2, 2, 12, 2, 12, 9, 2, 9], 40, 50);
  const dt = gt.loadRes([{ image_id: 3, category_id: 1, score: 1, segmentation: rleToJson(rle) }]);
  const a = dt.loadAnns([1])[0];
  assert.equal(a.area, rleArea(rle));
  assert.deepEqual(a.bbox, rleToBbox(rle));
  // a later record without bbox in a bbox-kind list is an error naming it
  assert.throws(() => gt.loadRes([{ image_id: 3, category_id: 1, score: 1, bbox: [0, 0, 1, 1] }, { image_id: 3, category_id: 1, score: 1 }], 'r.json'),
    /^CocoEvalError: r\.json: results\[1\]\.bbox: expected 4 finite numbers/);
});

test('loadRes on keypoints: area and bbox from the extent of all keypoints', () => {
  const gt = new COCO(dataset());
  const dt = gt.loadRes([{ image_id: 7, category_id: 1, score: 1, keypoints: [1, 2, 1, 5, 10, 1, 3, 4, 0] }]);
  const a = dt.loadAnns([1])[0];
  assert.equal(a.area, 4 * 8);
  assert.deepEqual(a.bbox, [1, 2, 4, 8]);
});

test('loadRes refuses an empty list and unknown images before touching any record', () => {
  const gt = new COCO(dataset());
  assert.throws(() => gt.loadRes([], 'dt.json'), /dt\.json: the results list is empty/);
  const res = [{ image_id: 7, category_id: 2, bbox: [1, 1, 4, 5], score: 0.5 }, { image_id: 8, category_id: 2, bbox: [1, 1, 4, 5], score: 0.5 }];
  assert.throws(() => gt.loadRes(res, 'dt.json'), /dt\.json: results\[1\]\.image_id: expected an image id of ground truth; received 8/);
  assert.equal('id' in res[0], false);
});

test('annToRLE: polygons in the image size; a box result without segmentation is its box polygon', () => {
  const gt = new COCO({ ...dataset(), annotations: [{ id: 1, image_id: 3, category_id: 1, area: 1, iscrowd: 0, segmentation: [[2, 2, 12, 2, 12, 9, 2, 9]] }] });
  const r = gt.annToRLE(gt.loadAnns([1])[0]);
  assert.deepEqual([r.h, r.w], [40, 50]);
  const dt = gt.loadRes([{ image_id: 3, category_id: 1, score: 1, bbox: [2, 2, 10, 7] }]);
  assert.deepEqual(Array.from(dt.annToRLE(dt.loadAnns([1])[0]).cnts), Array.from(r.cnts));
});
