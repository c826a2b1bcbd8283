import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { NasnetError, type ErrorCode } from '../../core/errors.js';
import { loadImageFolder } from '../../data/image_folder.js';
import { tempDir } from './temp.js';

function makeTree(root: string, tree: Record<string, string[]>): void {
  for (const [dir, files] of Object.entries(tree)) {
    mkdirSync(join(root, dir), { recursive: true });
    for (const file of files) writeFileSync(join(root, dir, file), 'x');
  }
}

async function rejects(promise: Promise<unknown>, code: ErrorCode, ...fragments: string[]): Promise<void> {
  await assert.rejects(promise, (e: unknown) => {
    assert.ok(e instanceof NasnetError, String(e));
    assert.equal(e.code, code);
    for (const fragment of fragments) assert.ok(e.message.includes(fragment), `"${e.message}" lacks "${fragment}"`);
    return true;
  });
}

describe('loadImageFolder', () => {
  test('classes are sorted sub-folders; files sorted; hidden and non-image files skipped', async () => {
    const root = tempDir('folder');
    makeTree(root, { zebra: ['2.png', '1.JPG', 'notes.txt', '.DS_Store'], ant: ['b.webp', 'a.jpeg'], '.cache': ['x.png'] });
    writeFileSync(join(root, 'README.md'), 'top-level files are not classes');
    const dataset = await loadImageFolder(root);
    assert.deepEqual(dataset.classes, ['ant', 'zebra']);
    assert.deepEqual(dataset.records.map((r) => [r.path.slice(root.length + 1), r.label]), [
      [join('ant', 'a.jpeg'), 0], [join('ant', 'b.webp'), 0], [join('zebra', '1.JPG'), 1], [join('zebra', '2.png'), 1],
    ]);
  });

  test('a given class list fixes the labels and must match the sub-folders exactly', async () => {
    const root = tempDir('folder-classes');
    makeTree(root, { cat: ['1.png'], dog: ['1.png'] });
    const dataset = await loadImageFolder(root, { classes: ['dog', 'cat'] });
    assert.deepEqual(dataset.records.map((r) => r.label), [0, 1]);
    assert.ok(dataset.records[0]!.path.endsWith(join('dog', '1.png')));
    await rejects(loadImageFolder(root, { classes: ['cat', 'dog', 'eel'] }), 'INVALID_DATA', 'missing eel');
    await rejects(loadImageFolder(root, { classes: ['cat'] }), 'INVALID_DATA', 'unexpected dog');
  });

  test('missing root, no classes and empty classes are reported with the path', async () => {
    const root = tempDir('folder-bad');
    await rejects(loadImageFolder(join(root, 'nope')), 'IO_ERROR', 'nope');
    await rejects(loadImageFolder(root), 'INVALID_DATA', 'no class sub-folders');
    makeTree(root, { full: ['1.png'], empty: ['readme.txt'] });
    await rejects(loadImageFolder(root), 'INVALID_DATA', join(root, 'empty'), 'no image files');
  });
});
