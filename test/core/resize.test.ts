import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../../core/paths.js';
import { metaForPlan, pilNearestIndices, planFit, resizePilNearest } from '../../core/resize.js';
import { NasnetError } from '../../core/errors.js';

interface NearestFixture {
  nearest_src_index_w: number[];
  nearest_src_index_h: number[];
  decoded_size_hw: [number, number];
}

const fixture = JSON.parse(
  readFileSync(join(packageRoot(), 'test', 'fixtures', 'image_io', 'photo_nearest_indices.json'), 'utf8'),
) as NearestFixture;

describe('pilNearestIndices', () => {
  test('reproduces the indices Pillow used for the photo (512 -> 224 wide, 600 -> 224 high)', () => {
    const [h, w] = fixture.decoded_size_hw;
    assert.deepEqual([...pilNearestIndices(w, 224)], fixture.nearest_src_index_w);
    assert.deepEqual([...pilNearestIndices(h, 224)], fixture.nearest_src_index_h);
  });

  test('differs from the closed form floor((i+0.5)*in/out) exactly where the running sum falls below a tie', () => {
    const closed = (inSize: number, outSize: number) => Array.from({ length: outSize }, (_, i) => Math.floor(((i + 0.5) * inSize) / outSize));
    const diff = (a: ArrayLike<number>, b: number[]) => b.filter((v, i) => v !== a[i]).length;
    // photo_expected.json: nearest_index_vs_exact_formula_mismatches = {w: 25, h: 0}
    assert.equal(diff(pilNearestIndices(512, 224), closed(512, 224)), 25);
    assert.equal(diff(pilNearestIndices(600, 224), closed(600, 224)), 0);
  });

  test('hand-computed small cases (binary-exact steps)', () => {
    assert.deepEqual([...pilNearestIndices(4, 8)], [0, 0, 1, 1, 2, 2, 3, 3]); // xo = 0.25, 0.75, 1.25, ...
    assert.deepEqual([...pilNearestIndices(8, 2)], [2, 6]); // xo = 2, 6
    assert.deepEqual([...pilNearestIndices(5, 5)], [0, 1, 2, 3, 4]);
  });

  test('rejects a zero size', () => {
    assert.throws(() => pilNearestIndices(0, 3), (e: unknown) => e instanceof NasnetError && e.code === 'INVALID_ARGUMENT' && /inSize/.test(e.message));
  });
});

describe('planFit', () => {
  test('stretch fills the input', () => {
    assert.deepEqual(planFit(200, 100, 64, 48, 'stretch'), { width: 64, height: 48, resizedWidth: 64, resizedHeight: 48, left: 0, top: 0 });
  });

  test('letterbox 200x100 -> 64x64: scale 0.32, 64x32 centred with 16 rows above', () => {
    assert.deepEqual(planFit(200, 100, 64, 64, 'letterbox'), { width: 64, height: 64, resizedWidth: 64, resizedHeight: 32, left: 0, top: 16 });
    assert.deepEqual(planFit(200, 100, 64, 64, 'letterbox', 'top-left'), { width: 64, height: 64, resizedWidth: 64, resizedHeight: 32, left: 0, top: 0 });
    // 100x300 -> 50x50: scale 1/6, 16.67 rounds to 17 wide, (50-17)/2 = 16.5 -> 16 left, 17 right.
    assert.deepEqual(planFit(100, 300, 50, 50, 'letterbox'), { width: 50, height: 50, resizedWidth: 17, resizedHeight: 50, left: 16, top: 0 });
  });

  test('center-crop 200x100 -> 64x64: scale 0.64, 128x64 with 32 columns cut on each side', () => {
    assert.deepEqual(planFit(200, 100, 64, 64, 'center-crop'), { width: 64, height: 64, resizedWidth: 128, resizedHeight: 64, left: -32, top: 0 });
    // 3x1 -> 2x2: scale 2, 6x2, 4 columns cut, 2 each side.
    assert.deepEqual(planFit(3, 1, 2, 2, 'center-crop'), { width: 2, height: 2, resizedWidth: 6, resizedHeight: 2, left: -2, top: 0 });
  });

  test('an extreme aspect ratio keeps at least one pixel', () => {
    assert.deepEqual(planFit(1000, 1, 10, 10, 'letterbox'), { width: 10, height: 10, resizedWidth: 10, resizedHeight: 1, left: 0, top: 4 });
  });

  test('metaForPlan maps input pixels back: original = (input - pad) / scale', () => {
    const meta = metaForPlan(200, 100, planFit(200, 100, 64, 64, 'letterbox'));
    assert.deepEqual(meta, { width: 200, height: 100, inputWidth: 64, inputHeight: 64, scaleX: 0.32, scaleY: 0.32, padLeft: 0, padTop: 16 });
    // The bottom-right corner of the content (64, 48) is the original's (200, 100).
    assert.equal((64 - meta.padLeft) / meta.scaleX, 200);
    assert.equal((48 - meta.padTop) / meta.scaleY, 100);
    const crop = metaForPlan(200, 100, planFit(200, 100, 64, 64, 'center-crop'));
    // Input column 0 is original column (0 + 32) / 0.64 = 50.
    assert.equal((0 - crop.padLeft) / crop.scaleX, 50);
  });
});

describe('resizePilNearest', () => {
  const A = [10, 20, 30];
  const B = [40, 50, 60];
  const P = [7, 8, 9];
  const image = { data: Uint8Array.from([...A, ...B]), width: 2, height: 1 };

  test('letterbox 2x1 -> 4x4: rows 0 and 3 are padding, rows 1-2 are A A B B', () => {
    const out = resizePilNearest(image, planFit(2, 1, 4, 4, 'letterbox'), [7, 8, 9]);
    const row = (y: number) => Array.from(out.data.subarray(y * 12, y * 12 + 12));
    assert.deepEqual(row(0), [...P, ...P, ...P, ...P]);
    assert.deepEqual(row(1), [...A, ...A, ...B, ...B]);
    assert.deepEqual(row(2), [...A, ...A, ...B, ...B]);
    assert.deepEqual(row(3), [...P, ...P, ...P, ...P]);
  });

  test('center-crop 2x1 -> 1x1: scale 1, one column of slack, the odd one is cut on the right, A stays', () => {
    const out = resizePilNearest(image, planFit(2, 1, 1, 1, 'center-crop'));
    assert.deepEqual([...out.data], A);
  });

  test('rejects data of the wrong length', () => {
    assert.throws(
      () => resizePilNearest({ data: new Uint8Array(5), width: 2, height: 1 }, planFit(2, 1, 2, 1, 'stretch')),
      (e: unknown) => e instanceof NasnetError && e.code === 'INVALID_ARGUMENT' && /6 bytes/.test(e.message),
    );
  });
});

test('resizePilNearest at the same size returns the pixels unchanged, in a copy', () => {
  const image = { data: Uint8Array.from({ length: 2 * 3 * 3 }, (_, i) => (i * 37) % 256), width: 3, height: 2 };
  const out = resizePilNearest(image, planFit(3, 2, 3, 2, 'stretch'));
  assert.deepEqual({ ...out, data: [...out.data] }, { data: [...image.data], width: 3, height: 2 });
  assert.notEqual(out.data, image.data);
});
