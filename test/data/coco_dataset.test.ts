import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { NasnetError, type ErrorCode } from '../../core/errors.js';
import { loadCocoDataset, loadCocoSplit, parseCocoInstances } from '../../data/coco_dataset.js';
import { generateShapesDataset, resolveShapesConfig } from '../../data/shapes.js';
import { tempDir } from './temp.js';

function document(): Record<string, unknown[]> {
  return {
    images: [
      { id: 10, file_name: 'a.png', width: 100, height: 50 },
      { id: 20, file_name: 'b.png', width: 40, height: 40 },
      { id: 30, file_name: 'c.png', width: 40, height: 40 },
    ],
    categories: [{ id: 90, name: 'toothbrush' }, { id: 3, name: 'car' }, { id: 7, name: 'train' }],
    annotations: [
      { id: 1, image_id: 10, category_id: 7, bbox: [10, 5, 20, 10], area: 200, iscrowd: 0 },
      { id: 2, image_id: 10, category_id: 90, bbox: [90, 40, 20, 20], area: 400 },
      { id: 3, image_id: 20, category_id: 3, bbox: [0, 0, 40, 40], area: 1600, iscrowd: 1 },
      { id: 4, image_id: 20, category_id: 3, bbox: [5, 5, 0.5, 10], area: 5, iscrowd: 0 },
      { id: 5, image_id: 20, category_id: 3, bbox: [-4, 2, 10, 10], area: 100, iscrowd: false },
    ],
  };
}

function rejects(fn: () => unknown, code: ErrorCode, ...fragments: string[]): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof NasnetError, String(e));
    assert.equal(e.code, code);
    for (const fragment of fragments) assert.ok(e.message.includes(fragment), `"${e.message}" lacks "${fragment}"`);
    return true;
  });
}

describe('parseCocoInstances', () => {
  test('builds records, contiguous labels in category-id order, clips boxes and skips crowd and degenerate ones', () => {
    const dataset = parseCocoInstances(document(), 'x.json', '/img');
    assert.deepEqual(dataset.categories.map((c) => c.id), [3, 7, 90]);
    assert.deepEqual(dataset.labelToCategoryId, [0, 3, 7, 90]);
    assert.deepEqual([...dataset.categoryIdToLabel], [[3, 1], [7, 2], [90, 3]]);
    const [a, b, c] = dataset.records;
    assert.deepEqual(a, {
      imageId: 10, fileName: 'a.png', path: join('/img', 'a.png'), width: 100, height: 50,
      // The second box runs past the right and bottom edges: clipped to [90, 40, 10, 10].
      boxes: [[10, 5, 20, 10], [90, 40, 10, 10]], categoryIds: [7, 90], labels: [2, 3],
    });
    assert.deepEqual(b!.boxes, [[0, 2, 6, 10]]);
    assert.deepEqual(b!.labels, [1]);
    assert.deepEqual(c!.boxes, []);
    assert.deepEqual(dataset.skipped, { crowd: 1, degenerate: 1 });
    assert.equal(parseCocoInstances(document(), 'x.json', '/img', { keepEmpty: false }).records.length, 2);
  });

  test('errors name the file, the record index and the field', () => {
    const withAnnotation = (i: number, patch: Record<string, unknown>): Record<string, unknown[]> => {
      const doc = document();
      doc.annotations![i] = { ...(doc.annotations![i] as object), ...patch };
      return doc;
    };
    rejects(() => parseCocoInstances(withAnnotation(2, { bbox: [1, 2, -3, 4] }), 'x.json', '/img'), 'INVALID_DATA', 'x.json', 'annotations[2].bbox', '[1,2,-3,4]');
    rejects(() => parseCocoInstances(withAnnotation(1, { bbox: [1, 2, 3] }), 'x.json', '/img'), 'INVALID_DATA', 'annotations[1].bbox');
    rejects(() => parseCocoInstances(withAnnotation(0, { image_id: 99 }), 'x.json', '/img'), 'INVALID_DATA', 'annotations[0].image_id', '99');
    rejects(() => parseCocoInstances(withAnnotation(4, { category_id: 4 }), 'x.json', '/img'), 'INVALID_DATA', 'annotations[4].category_id');
    rejects(() => parseCocoInstances(withAnnotation(3, { iscrowd: 2 }), 'x.json', '/img'), 'INVALID_DATA', 'annotations[3].iscrowd');
    rejects(() => parseCocoInstances(withAnnotation(0, { id: 'one' }), 'x.json', '/img'), 'INVALID_DATA', 'annotations[0].id');
    const doc = document();
    doc.images![1] = { id: 10, file_name: 'b.png', width: 40, height: 40 };
    rejects(() => parseCocoInstances(doc, 'x.json', '/img'), 'INVALID_DATA', 'images[1].id', 'unique');
    const noWidth = document();
    noWidth.images![2] = { id: 30, file_name: 'c.png', height: 40 };
    rejects(() => parseCocoInstances(noWidth, 'x.json', '/img'), 'INVALID_DATA', 'images[2].width', 'positive integer');
    rejects(() => parseCocoInstances({ images: [], annotations: {} , categories: [] }, 'x.json', '/img'), 'INVALID_DATA', '"annotations"', 'an array');
    rejects(() => parseCocoInstances([1, 2], 'x.json', '/img'), 'INVALID_DATA', 'x.json', 'JSON object');
    rejects(() => parseCocoInstances({ ...document(), categories: [{ id: 1 }] }, 'x.json', '/img'), 'INVALID_DATA', 'categories[0].name');
  });
});

describe('loadCocoDataset', () => {
  test('reports unreadable files, bad JSON and missing images with their paths', async () => {
    const dir = tempDir('coco');
    const expect = async (promise: Promise<unknown>, code: ErrorCode, fragment: string): Promise<void> => {
      await assert.rejects(promise, (e: unknown) => e instanceof NasnetError && e.code === code && e.message.includes(fragment));
    };
    await expect(loadCocoDataset(join(dir, 'missing.json'), dir), 'IO_ERROR', 'missing.json');
    writeFileSync(join(dir, 'bad.json'), '{"images": [');
    await expect(loadCocoDataset(join(dir, 'bad.json'), dir), 'INVALID_JSON', 'bad.json');
    writeFileSync(join(dir, 'ok.json'), JSON.stringify(document()));
    mkdirSync(join(dir, 'images'));
    writeFileSync(join(dir, 'images', 'a.png'), 'x');
    await expect(loadCocoDataset(join(dir, 'ok.json'), join(dir, 'images')), 'IO_ERROR', '"b.png"');
    const unchecked = await loadCocoDataset(join(dir, 'ok.json'), join(dir, 'images'), { checkFiles: false });
    assert.equal(unchecked.records.length, 3);
  });

  test('loadCocoSplit reads what the shapes generator writes', async () => {
    const root = tempDir('coco-shapes');
    const config = resolveShapesConfig({ width: 64, height: 64, minObjectSize: 10, maxObjectSize: 30 });
    const summary = await generateShapesDataset({ outDir: root, train: 3, val: 2, seed: 1, config });
    const val = await loadCocoSplit(root, 'val');
    assert.equal(val.records.length, 2);
    assert.equal(val.records.reduce((n, r) => n + r.boxes.length, 0), summary.annotations.val);
    assert.deepEqual(val.categories.map((c) => c.name), ['circle', 'square', 'triangle', 'star', 'cross', 'ring']);
    assert.equal(val.records[1]!.path, join(root, 'val', '000002.png'));
    assert.deepEqual(val.skipped, { crowd: 0, degenerate: 0 });
    // Shape category ids are 1..6, so labels equal category ids.
    for (const r of val.records) assert.deepEqual(r.labels, r.categoryIds);
  });
});
