// The fast paths of coco-eval, each against the plain one: parseBboxResults gives the doubles
// JSON.parse gives and null for anything but the usual box results (so the general path decides);
// the columnar loadRes/evaluate and the threaded evaluate+accumulate give the same numbers bit for bit.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { COCO } from '../coco.js';
import { evaluateCoco, evaluateCocoParallel } from '../evaluate_coco.js';
import { EvalPool } from '../parallel.js';
import { parseBboxResults, ResultColumns } from '../results_parser.js';
import { loadCases } from './fixtures.js';

const bytes = (s: string): Uint8Array => Buffer.from(s, 'utf8');

/** Number texts where a hand-written float reader goes wrong: long mantissas, exponents, halfway cases. */
function numberTexts(): string[] {
  const out = ['0', '-0', '0.0', '-0.0', '1', '0.1', '0.2', '0.3', '1e0', '1E+2', '1e-2', '2.5e-3', '123456789012345678',
    '9007199254740993', '0.1000000000000000055511151231257827', '1.7976931348623157e308', '5e-324', '4.9e-324',
    '2.2250738585072011e-308', '1e22', '1e23', '1e-22', '1e-23', '123.456e5', '0.00000000000000000000001',
    '900719925474099.1', '9007199254740.993', '3.14159265358979323846', '0.77108', '237.61', '-1e-7', '1e21'];
  // a deterministic LCG: scores and boxes as detectors print them, and raw doubles
  let s = 12345;
  const rnd = () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32);
  for (let i = 0; i < 3000; i++) {
    const v = (rnd() - 0.3) * 10 ** Math.floor(rnd() * 12 - 6);
    out.push(String(v), v.toFixed(Math.floor(rnd() * 8)), v.toPrecision(1 + Math.floor(rnd() * 20)), v.toExponential(Math.floor(rnd() * 18)));
  }
  return out;
}

test('every number is the double JSON.parse gives (bit for bit, -0 included)', () => {
  const texts = numberTexts();
  const records = texts.map((t, i) => `{"image_id":${i},"category_id":${t},"bbox":[${t},1,${t},2],"score":${t}}`);
  const cols = parseBboxResults(bytes(`[${records.join(',')}]`));
  assert.ok(cols instanceof ResultColumns);
  assert.equal(cols.n, texts.length);
  texts.forEach((t, i) => {
    const want = JSON.parse(t) as number;
    for (const got of [cols.categoryId[i], cols.bbox[4 * i], cols.bbox[4 * i + 2], cols.score[i]]) {
      assert.ok(Object.is(got, want), `${t}: ${got} !== ${want}`);
    }
  });
});

test('any key order and JSON whitespace', () => {
  const cols = parseBboxResults(bytes(' \n[ {\t"score" : 0.5 ,"bbox":[ 1 , 2,3,4 ],\r\n"category_id":3, "image_id" :7} ,{"image_id":8,"category_id":1,"bbox":[0,0,1,1],"score":1}]\n'));
  assert.ok(cols);
  assert.deepEqual([cols.n, ...cols.imageId, ...cols.categoryId, ...cols.score], [2, 7, 8, 3, 1, 0.5, 1]);
  assert.deepEqual(Array.from(cols.bbox), [1, 2, 3, 4, 0, 0, 1, 1]);
});

test('anything unusual is left to the general path (null)', () => {
  const ok = '{"image_id":1,"category_id":1,"bbox":[1,2,3,4],"score":0.5}';
  const cases = [
    '[]', '{}', `[${ok}`, `[${ok},]`, `[${ok}] x`, `\ufeff[${ok}]`, `[${ok},${ok.replace('"score":0.5', '"score":"0.5"')}]`,
    ok.replace('{', '[{').replace(/}$/, ',"extra":1}]'), `[${ok.replace(',"score":0.5', '')}]`,
    `[${ok.replace('"score":0.5', '"score":0.5,"score":0.6')}]`, `[${ok.replace('[1,2,3,4]', '[1,2,3]')}]`,
    `[${ok.replace('[1,2,3,4]', '[1,2,3,4,5]')}]`, `[${ok.replace('0.5', '1e400')}]`, `[${ok.replace('0.5', '01')}]`,
    `[${ok.replace('0.5', '1.')}]`, `[${ok.replace('0.5', '.5')}]`, `[${ok.replace('0.5', '-')}]`, `[${ok.replace('0.5', 'NaN')}]`,
    `[${ok.replace('"score"', '"sc\\u006fre"')}]`, `[${ok.replace('0.5', '+1')}]`, `[${ok.replace('0.5', 'null')}]`,
    `[${ok.replace('0.5', '[0.5]')}]`, `[${ok}, 3]`, `[${ok.replace('"bbox":[1,2,3,4]', '"segmentation":[[1,2,3,4,5,6]]')}]`,
  ];
  for (const c of cases) assert.equal(parseBboxResults(bytes(c)), null, c);
});

test('columnar loadRes: the same image-id error as the record path, ids and areas as loadRes writes them', () => {
  const gt = new COCO({ images: [{ id: 1 }], categories: [{ id: 1 }], annotations: [] });
  const text = '[{"image_id":1,"category_id":1,"bbox":[0,0,2,-3],"score":0.5},{"image_id":9,"category_id":1,"bbox":[0,0,1,1],"score":0.5}]';
  const viaRecords = (() => { try { gt.loadRes(JSON.parse(text)); } catch (e) { return (e as Error).message; } })();
  assert.throws(() => gt.loadRes(parseBboxResults(bytes(text))), { message: viaRecords });
  const dt = gt.loadRes(parseBboxResults(bytes(text.replace('"image_id":9', '"image_id":1'))));
  assert.deepEqual(dt.loadAnns([1, 2]).map((a) => [a.id, a.area, a.iscrowd, a.bbox]), [[1, -6, 0, [0, 0, 2, -3]], [2, 1, 0, [0, 0, 1, 1]]]);
  assert.deepEqual(dt.getAnnIds({ imgIds: [1] }), [1, 2]);
});

test('empty columns: refused like an empty list, zeros with allowEmptyResults', () => {
  const gt = { images: [{ id: 1 }], categories: [{ id: 1 }], annotations: [{ id: 1, image_id: 1, category_id: 1, bbox: [0, 0, 2, 2], area: 4, iscrowd: 0 }] };
  const empty = new ResultColumns(0, new Float64Array(0), new Float64Array(0), new Float64Array(0), new Float64Array(0));
  assert.throws(() => evaluateCoco(gt, empty), /the results list is empty/);
  assert.deepEqual(evaluateCoco(gt, empty, { allowEmptyResults: true }).stats, evaluateCoco(gt, [], { allowEmptyResults: true }).stats);
});

test('every bbox fixture case: the columnar path gives the record path\'s stats and arrays bit for bit', () => {
  for (const c of loadCases()) {
    if ((c.meta.iouType ?? 'bbox') !== 'bbox' || c.meta.expect_error !== null) continue;
    const cols = parseBboxResults(bytes(JSON.stringify(c.dt)));
    if (cols === null) continue; // records with extra fields take the record path in the CLI too
    const params = { ...(c.meta.params as object), iouType: 'bbox' as const };
    const a = evaluateCoco(c.gt, structuredClone(c.dt), params);
    const b = evaluateCoco(c.gt, cols, params);
    assert.deepEqual(b.stats, a.stats, c.name);
    assert.deepEqual(b.eval.precision, a.eval.precision, c.name);
    assert.deepEqual(b.eval.recall, a.eval.recall, c.name);
    assert.deepEqual(b.eval.scores, a.eval.scores, c.name);
  }
});

test('every fixture case: evaluateCocoParallel (2 workers) gives evaluateCoco\'s stats, arrays and evalImgs bit for bit', async () => {
  const pool = new EvalPool(2);
  try {
    for (const c of loadCases()) {
      if (c.meta.expect_error !== null) continue;
      const params = { ...(c.meta.params as object), iouType: c.meta.iouType ?? 'bbox', allowEmptyResults: true };
      const a = evaluateCoco(c.gt, structuredClone(c.dt), params);
      const b = await evaluateCocoParallel(c.gt, structuredClone(c.dt), pool, params);
      assert.deepEqual(b.stats, a.stats, c.name);
      assert.deepEqual(b.lines, a.lines, c.name);
      for (const f of ['precision', 'recall', 'scores'] as const) assert.deepEqual(Array.from(b.eval[f]), Array.from(a.eval[f]), `${c.name} ${f}`);
    }
  } finally {
    await pool.close();
  }
});
