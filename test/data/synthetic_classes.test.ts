import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { decodeRgb } from '../../core/image_io.js';
import { NasnetError } from '../../core/errors.js';
import { SYNTHETIC_CLASS_NAMES, classImageSeed, generateSyntheticClasses, renderClassImage } from '../../data/synthetic_classes.js';
import { loadImageFolder } from '../../data/image_folder.js';
import { tempDir } from './temp.js';

/** Fraction of pixels brighter than the midpoint of the image's darkest and brightest (foregrounds are light). */
function foregroundFraction(data: Uint8Array, size: number): number {
  const brightness = Array.from({ length: size * size }, (_, p) => data[p * 3]! + data[p * 3 + 1]! + data[p * 3 + 2]!);
  const middle = (Math.min(...brightness) + Math.max(...brightness)) / 2;
  return brightness.filter((b) => b > middle).length / brightness.length;
}

describe('synthetic classification set', () => {
  test('ten classes in sorted order: six shapes and four textures', () => {
    assert.deepEqual(SYNTHETIC_CLASS_NAMES, ['checker', 'circle', 'cross', 'dots', 'grid', 'ring', 'square', 'star', 'stripes', 'triangle']);
  });

  test('images are pure functions of their seed and differ between seeds', () => {
    const a = renderClassImage('star', 4, 32);
    assert.deepEqual(a.data, renderClassImage('star', 4, 32).data);
    assert.notDeepEqual(a.data, renderClassImage('star', 5, 32).data);
    assert.equal(a.data.length, 32 * 32 * 3);
    assert.throws(() => renderClassImage('hexagon', 1, 32), (e: unknown) => e instanceof NasnetError && e.message.includes('hexagon'));
  });

  test('shapes cover part of the image, textures spread over all of it', () => {
    for (const name of SYNTHETIC_CLASS_NAMES) {
      for (let seed = 0; seed < 5; seed++) {
        const image = renderClassImage(name, classImageSeed(1, 'train', 0, seed), 32);
        const fraction = foregroundFraction(image.data, 32);
        // A dark background and a light foreground >= 90 apart: the object separates at mid brightness.
        if (['checker', 'dots', 'grid', 'stripes'].includes(name)) {
          assert.ok(fraction > 0.1 && fraction < 0.9, `${name}: ${fraction}`);
        } else {
          assert.ok(fraction > 0.05 && fraction < 0.75, `${name}: ${fraction}`);
        }
      }
    }
  });

  test('writes the image-folder layout that loadImageFolder reads back, deterministically', async () => {
    const root = tempDir('classes');
    const summary = await generateSyntheticClasses({ outDir: join(root, 'a'), trainPerClass: 3, valPerClass: 1, seed: 2, size: 32 });
    await generateSyntheticClasses({ outDir: join(root, 'b'), trainPerClass: 3, valPerClass: 1, seed: 2, size: 32 });
    assert.deepEqual(summary.images, { train: 30, val: 10 });
    assert.deepEqual(readdirSync(join(root, 'a', 'train', 'ring')), ['00001.png', '00002.png', '00003.png']);
    const train = await loadImageFolder(join(root, 'a', 'train'));
    assert.deepEqual(train.classes, SYNTHETIC_CLASS_NAMES);
    assert.equal(train.records.length, 30);
    const file = join('val', 'grid', '00001.png');
    assert.deepEqual(readFileSync(join(root, 'a', file)), readFileSync(join(root, 'b', file)));
    const { image } = await decodeRgb(readFileSync(join(root, 'a', file)));
    assert.deepEqual(image.data, renderClassImage('grid', classImageSeed(2, 'val', SYNTHETIC_CLASS_NAMES.indexOf('grid'), 0), 32).data);
  });
});
