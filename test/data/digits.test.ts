import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeRgb } from '../../core/image_io.js';
import { DIGITS_SPLIT, loadDigits, writeDigitsFolder } from '../../data/digits.js';
import { main } from '../../src/cli/data.js';
import { runCli } from '../helpers/cli.js';

test('the shipped digits: 1,797 images of 64 pixels 0..16, every class 0..9 present, first image a 0', async () => {
  const samples = await loadDigits();
  assert.equal(samples.length, 1797);
  assert.deepEqual([...new Set(samples.map((s) => s.label))].sort(), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  assert.equal(samples[0]!.label, 0);
  assert.deepEqual([...samples[0]!.pixels.subarray(0, 8)], [0, 0, 5, 13, 9, 1, 0, 0]);
});

test('nasnet data digits writes train/val/test image folders (1,197/300/300), disjoint, pixels x 255/16, same seed same split', async () => {
  const root = await mkdtemp(join(tmpdir(), 'digits-'));
  try {
    const result = await runCli(main, 'digits', '--out', join(root, 'a'));
    assert.equal(result.code, 0, result.stderr);
    const files = async (dir: string, split: string): Promise<string[]> =>
      (await Promise.all(Array.from({ length: 10 }, async (_, d) => (await readdir(join(dir, split, String(d)))).map((f) => `${d}/${f}`)))).flat().sort();
    const [train, val, testSplit] = [await files(join(root, 'a'), 'train'), await files(join(root, 'a'), 'val'), await files(join(root, 'a'), 'test')];
    assert.deepEqual([train.length, val.length, testSplit.length], [1797 - DIGITS_SPLIT.val - DIGITS_SPLIT.test, 300, 300]);
    assert.equal(new Set([...train, ...val, ...testSplit].map((f) => f.split('/')[1])).size, 1797);
    const zero = train.concat(val, testSplit).find((f) => f.endsWith('/0000.png'))!;
    const split = train.includes(zero) ? 'train' : val.includes(zero) ? 'val' : 'test';
    const { image } = await decodeRgb(await readFile(join(root, 'a', split, zero)));
    assert.deepEqual([image.width, image.height], [8, 8]);
    assert.deepEqual([image.data[2 * 3], image.data[3 * 3]], [Math.round((5 * 255) / 16), Math.round((13 * 255) / 16)]);
    await writeDigitsFolder(join(root, 'b'));
    assert.deepEqual(await files(join(root, 'b'), 'val'), val);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});
