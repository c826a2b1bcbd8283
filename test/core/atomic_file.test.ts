import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeFileAtomic } from '../../core/atomic_file.js';

test('writeFileAtomic replaces a file whole and leaves no temp file; a failed write leaves nothing behind', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'atomic-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const path = join(dir, 'f.json');
  await writeFile(path, 'old');
  await writeFileAtomic(path, 'new');
  await writeFileAtomic(join(dir, 'b.bin'), Uint8Array.from([1, 2, 3]));
  assert.equal(await readFile(path, 'utf8'), 'new');
  assert.deepEqual([...(await readFile(join(dir, 'b.bin')))], [1, 2, 3]);
  // Renaming over a directory fails after the temp file was written: the temp file must be gone.
  const blocked = join(dir, 'sub');
  await writeFileAtomic(join(dir, 'keep'), 'x');
  await mkdir(join(blocked, 'inner'), { recursive: true });
  await assert.rejects(writeFileAtomic(blocked, 'y'));
  assert.deepEqual((await readdir(dir)).sort(), ['b.bin', 'f.json', 'keep', 'sub']);
});
