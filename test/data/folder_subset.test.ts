import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { copyFolderSubset } from '../../data/folder_subset.js';

test('copyFolderSubset: the first N files of every class, by name, for the splits asked for only', async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'subset-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  for (const [split, label, names] of [['train', 'a', ['3.png', '1.png', '2.png']], ['train', 'b', ['9.png']], ['test', 'a', ['5.png']]] as const) {
    await mkdir(join(root, 'full', split, label), { recursive: true });
    for (const name of names) await writeFile(join(root, 'full', split, label, name), name);
  }
  await copyFolderSubset(join(root, 'full'), join(root, 'small'), { train: 2 });
  assert.deepEqual(await readdir(join(root, 'small')), ['train']);
  assert.deepEqual((await readdir(join(root, 'small', 'train', 'a'))).sort(), ['1.png', '2.png']);
  assert.deepEqual(await readdir(join(root, 'small', 'train', 'b')), ['9.png']);
});
