// RLE functions against pycocotools' _mask (mask_cases.json, made by generate_cases.py) and by hand.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  boxIou, rleArea, rleDecode, rleEncode, rleFrBbox, rleFrPoly, rleFrString, rleIou, rleMerge, rleToBbox, rleToString,
} from '../rle.js';
import { segmentationToRle } from '../segm.js';
import { FIXTURE_DIR } from './fixtures.js';

interface MaskCases {
  polygons: { h: number; w: number; poly: number[]; counts: string; area: number; bbox: number[] }[];
  box: { h: number; w: number; bbox: number[]; counts: string };
  encode: { h: number; w: number; mask_colmajor: number[]; counts: string }[];
  merge: { h: number; w: number; inputs: string[]; union: string; intersection: string }[];
  iou: { h: number; w: number; dts: string[]; gts: string[]; iscrowd: number[]; iou: number[][] }[];
}

const cases = JSON.parse(readFileSync(join(FIXTURE_DIR, 'mask_cases.json'), 'utf8')) as MaskCases;

describe('RLE against pycocotools', () => {
  test('frPyObjects(polygon): counts string, area and toBbox', () => {
    for (const c of cases.polygons) {
      const r = rleFrPoly(c.poly, c.h, c.w);
      assert.equal(rleToString(r), c.counts);
      assert.equal(rleArea(r), c.area);
      assert.deepEqual(rleToBbox(r), c.bbox);
    }
  });

  test('frBbox rasterises the box polygon', () => {
    assert.equal(rleToString(rleFrBbox(cases.box.bbox, cases.box.h, cases.box.w)), cases.box.counts);
  });

  test('encode a mask, decode it back, string round trip', () => {
    for (const c of cases.encode) {
      const mask = Uint8Array.from(c.mask_colmajor);
      const r = rleEncode(mask, c.h, c.w);
      assert.equal(rleToString(r), c.counts);
      assert.deepEqual(rleDecode(rleFrString(c.counts, c.h, c.w)), mask);
    }
  });

  test('merge: union and intersection', () => {
    for (const c of cases.merge) {
      const rs = c.inputs.map((s) => rleFrString(s, c.h, c.w));
      assert.equal(rleToString(rleMerge(rs, false)), c.union);
      assert.equal(rleToString(rleMerge(rs, true)), c.intersection);
    }
  });

  test('iou with crowd flags, bit for bit', () => {
    for (const c of cases.iou) {
      const dts = c.dts.map((s) => rleFrString(s, c.h, c.w));
      const gts = c.gts.map((s) => rleFrString(s, c.h, c.w));
      const out = new Float64Array(dts.length * gts.length);
      rleIou(dts, gts, c.iscrowd, out);
      assert.deepEqual(Array.from(out), c.iou.flat());
    }
  });
});

describe('RLE by hand', () => {
  test('a 3x2 mask (column-major) encodes to runs starting with zeros', () => {
    // columns: [0,1,1] and [1,0,0] -> runs 1 zero, 3 ones, 2 zeros
    const r = rleEncode(Uint8Array.from([0, 1, 1, 1, 0, 0]), 3, 2);
    assert.deepEqual(Array.from(r.cnts), [1, 3, 2]);
    assert.equal(rleArea(r), 3);
    assert.deepEqual(rleToBbox(r), [0, 0, 2, 3]);
  });

  test('string coding handles large and negative deltas', () => {
    const r = { h: 1000, w: 1000, cnts: Uint32Array.from([123456, 5, 7, 1, 999000, 2]) };
    assert.deepEqual(Array.from(rleFrString(rleToString(r), 1000, 1000).cnts), Array.from(r.cnts));
  });

  test('size mismatch gives -1; disjoint masks give 0; crowd divides by the dt area', () => {
    const a = rleEncode(Uint8Array.from([1, 1, 0, 0]), 2, 2);
    const b = rleEncode(Uint8Array.from([1, 0, 0, 0]), 2, 2);
    const c = rleEncode(Uint8Array.from([0, 0, 0, 1]), 2, 2);
    const odd = rleEncode(Uint8Array.from([1, 1, 1]), 3, 1);
    const o = new Float64Array(3);
    rleIou([a], [b, c, odd], [0, 0, 0], o);
    assert.deepEqual(Array.from(o), [0.5, 0, -1]);
    rleIou([b], [a, a, a], [1, 0, 1], o);
    assert.deepEqual(Array.from(o), [1, 0.5, 1]);
  });

  test('box IoU: i/u, crowd i/area(dt), touching boxes 0', () => {
    assert.equal(boxIou([0, 0, 10, 10], 0, [5, 0, 10, 10], 0, false), 50 / 150);
    assert.equal(boxIou([0, 0, 10, 10], 0, [5, 0, 10, 10], 0, true), 0.5);
    assert.equal(boxIou([0, 0, 10, 10], 0, [10, 0, 10, 10], 0, false), 0);
    assert.equal(boxIou([0, 0, -1, -1], 0, [0, 0, 10, 10], 0, false), 0);
  });

  // Unequal areas everywhere, so a crowd IoU divided by the union or by the GT's area gives other
  // numbers. By hand: dt0 [0,0,10,20] (area 200), dt1 [2,3,7,4.5] (31.5); gt0 [5,5,30,10] (300),
  // gt1 [1,1,4,9] (36); intersections 50, 36 (gt1 inside dt0), 10, 13.5. pycocotools 2.0.11
  // maskUtils.iou(dts, gts, iscrowd=[1,1]) -> [[0.25, 0.18], [0.31746031746031744, 0.42857142857142855]]
  // and iscrowd=[0,0] -> [[0.1111111111111111, 0.18], [0.03110419906687403, 0.25]].
  test('box IoU with unequal boxes: crowd = i/area(dt), not i/u or i/area(gt)', () => {
    const dts = [0, 0, 10, 20, 2, 3, 7, 4.5];
    const gts = [5, 5, 30, 10, 1, 1, 4, 9];
    const iou = (crowd: boolean) => [0, 1].map((d) => [0, 1].map((g) => boxIou(dts, 4 * d, gts, 4 * g, crowd)));
    assert.deepEqual(iou(true), [[50 / 200, 36 / 200], [10 / 31.5, 13.5 / 31.5]]);
    assert.deepEqual(iou(true), [[0.25, 0.18], [0.31746031746031744, 0.42857142857142855]]);
    assert.deepEqual(iou(false), [[50 / 450, 36 / 200], [10 / 321.5, 13.5 / 54]]);
    assert.deepEqual(iou(false), [[0.1111111111111111, 0.18], [0.03110419906687403, 0.25]]);
  });

  test('segmentationToRle: polygons merged, uncompressed taken as is, 4-number lists are boxes', () => {
    const poly = [[0, 0, 4, 0, 4, 4, 0, 4], [6, 6, 8, 6, 8, 8, 6, 8]];
    const merged = segmentationToRle(poly, 10, 10);
    assert.equal(rleToString(merged), rleToString(rleMerge(poly.map((p) => rleFrPoly(p, 10, 10)), false)));
    const un = segmentationToRle({ size: [2, 2], counts: [1, 2, 1] }, 0, 0);
    assert.deepEqual(Array.from(un.cnts), [1, 2, 1]);
    assert.equal(rleToString(segmentationToRle([[1, 1, 3, 3]], 10, 10)), rleToString(rleFrBbox([1, 1, 3, 3], 10, 10)));
  });
});
