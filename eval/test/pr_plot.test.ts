// The PR-curve SVG and the per-category table, on fixture cases.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { evaluateCoco } from '../evaluate_coco.js';
import { prCurveSvg, prCurves } from '../pr_plot.js';
import { perCategoryTable, resultJson } from '../report.js';
import { loadCases } from './fixtures.js';

const byName = (name: string) => {
  const c = loadCases().find((x) => x.name === name)!;
  return evaluateCoco(c.gt, c.dt, { ...(c.meta.params as object) });
};

test('prCurves: the .50:.95 curve of area "all" averages to stats[0]; curves are non-increasing', () => {
  const r = byName('case09_multicat_missing');
  const curves = prCurves(r.eval, r.params, 0);
  assert.deepEqual(curves.map((c) => c.label), ['IoU=0.50', 'IoU=0.75', 'IoU=0.50:0.95']);
  assert.ok(Math.abs(curves[0].ap - r.stats[1]) < 1e-12);
  assert.ok(Math.abs(curves[1].ap - r.stats[2]) < 1e-12);
  assert.ok(Math.abs(curves[2].ap - r.stats[0]) < 1e-12);
  for (const c of curves) for (let i = 1; i < c.precision.length; i++) assert.ok(c.precision[i] <= c.precision[i - 1] + 1e-15);
});

test('prCurveSvg: one panel per area range with three curves each', () => {
  const r = byName('case09_multicat_missing');
  const svg = prCurveSvg(r.eval, r.params);
  assert.match(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg" width="\d+" height="\d+"/);
  assert.equal(svg.match(/<polyline /g)!.length, 12);
  for (const lbl of ['all', 'small', 'medium', 'large']) assert.ok(svg.includes(`area=${lbl}, maxDets=100`));
  assert.ok(svg.includes('IoU=0.50:0.95  AP=0.208'));
  assert.ok(svg.trimEnd().endsWith('</svg>'));
});

test('perCategoryTable and resultJson', () => {
  const r = byName('case03_absent_img_cat');
  const lines = perCategoryTable(r.perCategory, 100);
  assert.equal(lines.length, 1 + r.params.catIds.length);
  const absent = r.perCategory.find((c) => c.ap === -1)!;
  assert.match(lines.find((l) => l.trimStart().startsWith(`${absent.id} `))!, / +- +- +- +-$/);
  const j = resultJson(r);
  assert.equal(j.stats.length, 12);
  assert.deepEqual(j.params.areaRngLbl, ['all', 'small', 'medium', 'large']);
});
