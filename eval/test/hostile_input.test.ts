// coco-eval on input written to break it: nesting deep enough to overflow a recursive walk, sizes
// whose arrays cannot be allocated, and random malformed structures. None may reach exit 1 (an
// internal error); each is refused with one line and exit 4 (or evaluated: exit 0).
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cli } from './cli_runner.js';
import { EXIT } from '../errors.js';
import { EVAL_LIMITS } from '../prepare.js';

const tmp = mkdtempSync(join(tmpdir(), 'coco-eval-hostile-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

let files = 0;
function writeTmp(content: unknown): string {
  const path = join(tmp, `f${files++}.json`);
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
  return path;
}

const GT = {
  images: [{ id: 1, width: 100, height: 100 }, { id: 2, width: 100, height: 100 }],
  categories: [{ id: 1, name: 'cat' }, { id: 2, name: 'dog' }],
  annotations: [
    { id: 1, image_id: 1, category_id: 1, bbox: [10, 10, 20, 20], area: 400, iscrowd: 0, segmentation: [[10, 10, 30, 10, 30, 30, 10, 30]] },
    { id: 2, image_id: 2, category_id: 2, bbox: [50, 50, 40, 40], area: 1600, iscrowd: 1, segmentation: [[50, 50, 90, 50, 90, 90, 50, 90]] },
  ],
};
const DT = [
  { image_id: 1, category_id: 1, bbox: [10, 10, 20, 20], score: 0.9 },
  { image_id: 2, category_id: 2, bbox: [0, 0, 5, 5], score: 0.8 },
];
const nested = (depth: number, inner = ''): string => `${'['.repeat(depth)}${inner}${']'.repeat(depth)}`;

describe('nesting deep enough to overflow a recursive walk', () => {
  const DEEP = 200_000;

  test('a bbox nested 200,000 levels deep -> exit 4, the value shown cut short', async () => {
    const dt = writeTmp(`[{"image_id":1,"category_id":1,"score":1,"bbox":${nested(DEEP)}}]`);
    const r = await cli(writeTmp(GT), dt, '--threads', '0');
    assert.equal(r.code, EXIT.INVALID_INPUT, r.err);
    assert.match(r.err, /^error: .*: results\[0\]\.bbox: expected 4 finite numbers \[x, y, width, height\]; received \[\[\[.*\.\.\.\]+\n$/);
  });

  test('a results list of nested arrays, a nested GT segmentation (segm) -> exit 4', async () => {
    const r = await cli(writeTmp(GT), writeTmp(nested(DEEP)), '--threads', '0');
    assert.equal(r.code, EXIT.INVALID_INPUT, r.err);
    assert.match(r.err, /results\[0\]: expected an object/);
    const gt = JSON.stringify({ ...GT, annotations: [{ ...GT.annotations[0], segmentation: '@' }] }).replace('"@"', nested(DEEP, '1'));
    const s = await cli(writeTmp(gt), writeTmp(DT), '--iou-type', 'segm', '--threads', '0');
    assert.equal(s.code, EXIT.INVALID_INPUT, s.err);
    assert.match(s.err, /annotations\[0\]\.segmentation: expected a non-empty list of polygons/);
  });

  test('deep nesting in a field nobody reads (info) is evaluated as usual', async () => {
    const gt = JSON.stringify({ ...GT, info: '@' }).replace('"@"', nested(DEEP));
    const r = await cli(writeTmp(gt), writeTmp(DT), '--threads', '0');
    assert.equal(r.code, EXIT.OK, r.err);
  });
});

describe('sizes are checked before anything is allocated', () => {
  test('so many categories that [T,R,K,A,M] exceeds the limit -> exit 4 naming the shape', async () => {
    // 10 x 101 x K x 4 x 3 values: 3,000 categories pass the limit (33.5 million) as 1e6 would
    const gt = { ...GT, categories: Array.from({ length: 3000 }, (_, i) => ({ id: i + 1 })) };
    const r = await cli(writeTmp(gt), writeTmp(DT), '--threads', '0');
    assert.equal(r.code, EXIT.INVALID_INPUT, r.err);
    assert.match(r.err, /too large to evaluate: the precision array \[T=10, R=101, K=3,000, A=4, M=3\] would hold 36,360,000 values, more than the limit of 33,554,432; evaluate a subset/);
    // a subset of the categories evaluates
    const ok = await cli(writeTmp(gt), writeTmp(DT), '--threads', '0', '--cat-ids', '1,2');
    assert.equal(ok.code, EXIT.OK, ok.err);
  });

  test('images x categories cells over the limit (useCats=0 keeps K=1) -> exit 4', async () => {
    const n = Math.ceil(Math.sqrt(EVAL_LIMITS.cells)) + 1;
    const gt = {
      images: Array.from({ length: n }, (_, i) => ({ id: i + 1 })),
      categories: Array.from({ length: n }, (_, i) => ({ id: i + 1 })),
      annotations: [],
    };
    const r = await cli(writeTmp(gt), writeTmp(DT), '--threads', '0', '--no-cats');
    assert.equal(r.code, EXIT.INVALID_INPUT, r.err);
    assert.match(r.err, /too large to evaluate: 5,794 images x 5,794 categories = 33,570,436 \(image, category\) cells/);
  });

  test('one image whose [D,G] IoU matrix exceeds the limit -> exit 4 naming the image and category', async () => {
    const G = 9000, D = Math.ceil(EVAL_LIMITS.iouPairs / G) + 1;
    const gt = {
      images: [{ id: 1 }], categories: [{ id: 1 }],
      annotations: Array.from({ length: G }, (_, i) => ({ id: i + 1, image_id: 1, category_id: 1, bbox: [i, 0, 1, 1], area: 1, iscrowd: 0 })),
    };
    const dt = Array.from({ length: D }, (_, i) => ({ image_id: 1, category_id: 1, bbox: [i, 0, 1, 1], score: 1 }));
    for (const threads of ['0', '1']) {
      const r = await cli(writeTmp(gt), writeTmp(dt), '--threads', threads, '--max-dets', `1,10,${D}`);
      assert.equal(r.code, EXIT.INVALID_INPUT, r.err);
      assert.match(r.err, /too large to evaluate: image 1, category 1: 7,458 detections x 9,000 GT = 67,122,000 IoUs/);
    }
  });
});

describe('masks that would take unbounded time or memory (segm)', () => {
  const withSegm = (segmentation: unknown) => ({ ...GT, annotations: [{ ...GT.annotations[0], segmentation }] });
  const DT_SEGM = [{ image_id: 1, category_id: 1, segmentation: [[1, 1, 6, 1, 6, 6, 1, 6]], score: 1 }];

  test('a polygon with coordinates like 1e300 (V8 aborted on its boundary array) -> exit 4', async () => {
    const r = await cli(writeTmp(withSegm([[1, 1, 1e300, 1, 1e300, 1e300, 1, 1e300]])), writeTmp(DT_SEGM), '--iou-type', 'segm', '--threads', '0');
    assert.equal(r.code, EXIT.INVALID_INPUT, r.err);
    assert.match(r.err, /annotation id 1: polygon too large to rasterise: its edges span .* upsampled points, more than the limit of 16777216/);
  });

  test('RLE runs summing past height*width (the evaluation hung) -> exit 4', async () => {
    const r = await cli(writeTmp(withSegm({ size: [100, 100], counts: [5, 1e12] })), writeTmp(DT_SEGM), '--iou-type', 'segm', '--threads', '0');
    assert.equal(r.code, EXIT.INVALID_INPUT, r.err);
    assert.match(r.err, /annotation id 1\.segmentation\.counts: expected runs summing to at most height\*width = 10000; received 3567587333/);
  });
});

/** A small seeded PRNG (mulberry32), so that a failing case can be replayed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

describe('random malformed structures', () => {
  const KEYS = ['id', 'image_id', 'category_id', 'bbox', 'score', 'area', 'iscrowd', 'segmentation', 'keypoints',
    'num_keypoints', 'size', 'counts', 'images', 'annotations', 'categories', 'width', 'height', 'name', 'x'];

  /** A random JSON value: scalars of every kind (huge, negative, fractional numbers), arrays, objects of COCO keys. */
  function junk(rnd: () => number, depth: number): unknown {
    const r = rnd();
    if (depth > 4 || r < 0.45) {
      const pick = [0, -1, 1, 0.5, 1e308, -1e308, 5e-324, 2 ** 31, 2 ** 53 + 2, -0.25, 1e9, 3, 4, 100, 'x', '', '1', '0-o', null, true, false];
      return pick[Math.floor(rnd() * pick.length)];
    }
    if (r < 0.75) return Array.from({ length: Math.floor(rnd() * 6) }, () => junk(rnd, depth + 1));
    const o: Record<string, unknown> = {};
    for (let i = Math.floor(rnd() * 5); i > 0; i--) o[KEYS[Math.floor(rnd() * KEYS.length)]] = junk(rnd, depth + 1);
    return o;
  }

  /** A valid value with one random part replaced by junk (or removed). */
  function mutate(rnd: () => number, v: unknown): unknown {
    const copy = structuredClone(v) as Record<string, unknown> | unknown[];
    let node: unknown = copy;
    for (let step = 0; step < 4; step++) {
      if (node === null || typeof node !== 'object') break;
      const keys = Object.keys(node);
      if (keys.length === 0) break;
      const k = keys[Math.floor(rnd() * keys.length)];
      const child = (node as Record<string, unknown>)[k];
      if (rnd() < 0.35 || child === null || typeof child !== 'object') {
        if (rnd() < 0.2 && !Array.isArray(node)) delete (node as Record<string, unknown>)[k];
        else (node as Record<string, unknown>)[k] = junk(rnd, 2);
        return copy;
      }
      node = child;
    }
    return rnd() < 0.5 ? junk(rnd, 0) : copy;
  }

  test('300 mutated GT / results pairs: every exit code is 0, 2, 3 or 4', async () => {
    const types = ['bbox', 'segm', 'keypoints'];
    const counts = new Map<number, number>();
    for (let seed = 1; seed <= 300; seed++) {
      const rnd = prng(seed);
      let gt: unknown = rnd() < 0.5 ? mutate(rnd, GT) : GT;
      let dt: unknown = gt === GT || rnd() < 0.5 ? mutate(rnd, DT) : DT;
      if (rnd() < 0.1) gt = mutate(rnd, gt);
      if (rnd() < 0.1) dt = mutate(rnd, dt);
      let dtText = JSON.stringify(dt) ?? 'null';
      if (rnd() < 0.1) dtText = dtText.slice(0, Math.floor(rnd() * dtText.length)); // truncated
      const argv = [writeTmp(JSON.stringify(gt) ?? 'null'), writeTmp(dtText), '--iou-type', types[seed % 3], '--threads', seed % 10 === 0 ? '1' : '0'];
      if (seed % 7 === 0) argv.push('--no-cats');
      if (seed % 11 === 0) argv.push('--allow-empty');
      const r = await cli(...argv);
      assert.ok([EXIT.OK, EXIT.USAGE, EXIT.IO, EXIT.INVALID_INPUT].includes(r.code as 0), `seed ${seed}: exit ${r.code}\n${r.err}`);
      assert.ok(!r.err.includes('internal error'), `seed ${seed}: ${r.err}`);
      counts.set(r.code, (counts.get(r.code) ?? 0) + 1);
    }
    // the mix is not all refusals: some mutations leave a file that still evaluates
    assert.ok((counts.get(EXIT.OK) ?? 0) > 10 && (counts.get(EXIT.INVALID_INPUT) ?? 0) > 100, JSON.stringify([...counts]));
  });
});
