import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { decodeRgb, rasterizeSvg } from '../../core/image_io.js';
import { NasnetError } from '../../core/errors.js';
import { polygonDistance, shapeField, shapeSvg, SHAPE_KINDS } from '../../data/shape_geometry.js';
import { rasterize } from '../../data/raster.js';
import {
  SHAPE_CATEGORIES, generateShapesDataset, renderShapesImage, resolveShapesConfig, shapesConfigForSize, shapesImageSeed,
  type ShapeObject, type ShapesConfig,
} from '../../data/shapes.js';
import { tempDir } from './temp.js';

describe('shape geometry', () => {
  test('polygon distance: exact values for the unit square, sign from inside/outside', () => {
    const square = new Float64Array([0, 0, 1, 0, 1, 1, 0, 1]);
    assert.equal(polygonDistance(square, 0.5, 0.5), -0.5);
    assert.equal(polygonDistance(square, 0.5, 0.25), -0.25);
    assert.equal(polygonDistance(square, 3, 0.5), 2);
    assert.equal(polygonDistance(square, 2, 2), Math.SQRT2);
  });

  test('the star is concave: its notch is outside, its tips and centre inside', () => {
    const star = shapeField({ kind: 'star', cx: 0, cy: 0, radius: 10, rotation: 0 });
    assert.ok(star.distance(0, 0) < -3);
    assert.ok(star.distance(0, -9.5) < 0, 'top tip (the first point is at -90 degrees)');
    // Halfway between the top tip and the next one, at 80 % of the radius, lies in the notch.
    const between = -Math.PI / 2 + Math.PI / 5;
    assert.ok(star.distance(8 * Math.cos(between), 8 * Math.sin(between)) > 0);
  });

  test('the ring has a hole and the circle has none', () => {
    const ring = shapeField({ kind: 'ring', cx: 0, cy: 0, radius: 10, rotation: 0 });
    const circle = shapeField({ kind: 'circle', cx: 0, cy: 0, radius: 10, rotation: 0 });
    assert.ok(ring.distance(0, 0) > 0 && ring.distance(8, 0) < 0 && ring.distance(10.5, 0) > 0);
    assert.equal(circle.distance(0, 0), -10);
    assert.equal(circle.distance(13, 0), 3);
  });
});

const SMALL: ShapesConfig = resolveShapesConfig({ width: 96, height: 64, minObjectSize: 10, maxObjectSize: 40, maxObjects: 5 });

describe('renderShapesImage', () => {
  test('is a pure function of the seed', () => {
    const a = renderShapesImage(11, SMALL);
    const b = renderShapesImage(11, SMALL);
    const c = renderShapesImage(12, SMALL);
    assert.deepEqual(a.annotations, b.annotations);
    assert.deepEqual(a.image.data, b.image.data);
    assert.notDeepEqual(a.image.data, c.image.data);
  });

  test('boxes lie inside the image, areas fit their boxes, and no object is hidden beyond minVisibleFraction', () => {
    const config = resolveShapesConfig();
    let occluded = 0;
    let objects = 0;
    for (let seed = 0; seed < 25; seed++) {
      const { objects: drawn, annotations } = renderShapesImage(seed, config);
      assert.equal(drawn.length, annotations.length);
      drawn.forEach((object, k) => {
        const { bbox: [x, y, w, h], area, categoryId } = annotations[k]!;
        assert.equal(categoryId, object.categoryId);
        assert.ok(x >= 0 && y >= 0 && w >= 1 && h >= 1 && x + w <= config.width && y + h <= config.height, `box ${[x, y, w, h]}`);
        assert.ok(area <= w * h && area > 0);
        const alone = rasterize(shapeField(object), config.width, config.height).alpha.filter((a) => a > 0.5).length;
        assert.ok(area >= config.minVisibleFraction * alone - 1e-9, `visible ${area} of ${alone}`);
        if (area < alone) occluded += 1;
        objects += 1;
      });
    }
    assert.ok(objects > 50, `${objects} objects`);
    assert.ok(occluded > 0.05 * objects, `only ${occluded} of ${objects} objects are partly occluded`);
  });

  test('boxes and areas match an independent renderer (librsvg via rasterizeSvg) pixel scan', async () => {
    const config = resolveShapesConfig();
    for (const seed of [shapesImageSeed(5, 'train', 0), shapesImageSeed(5, 'val', 3)]) {
      const { objects, annotations } = renderShapesImage(seed, config);
      assert.ok(objects.length >= 2);
      for (const [k, object] of objects.entries()) {
        // Object k in white on black, with every later object drawn over it in black (the occluders).
        const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${config.width}" height="${config.height}">` +
          `<rect width="100%" height="100%" fill="#000"/>${shapeSvg(object, '#fff')}` +
          objects.slice(k + 1).map((o: ShapeObject) => shapeSvg(o, '#000')).join('') + '</svg>';
        const { image } = await decodeRgb(await rasterizeSvg(svg));
        let [x0, y0, x1, y1, area] = [Infinity, Infinity, -1, -1, 0];
        for (let p = 0; p < image.width * image.height; p++) {
          if (image.data[p * 3]! < 128) continue;
          const x = p % image.width;
          const y = Math.floor(p / image.width);
          [x0, y0, x1, y1, area] = [Math.min(x0, x), Math.min(y0, y), Math.max(x1, x), Math.max(y1, y), area + 1];
        }
        const [bx, by, bw, bh] = annotations[k]!.bbox;
        const where = `${object.kind} #${k} of image seed ${seed}`;
        for (const [ours, theirs] of [[bx, x0], [by, y0], [bx + bw - 1, x1], [by + bh - 1, y1]]) {
          assert.ok(Math.abs(ours! - theirs!) <= 1, `${where}: box ${[bx, by, bw, bh]} vs scan ${[x0, y0, x1 - x0 + 1, y1 - y0 + 1]}`);
        }
        assert.ok(Math.abs(annotations[k]!.area - area) <= 0.03 * area + 3, `${where}: area ${annotations[k]!.area} vs scan ${area}`);
      }
    }
  });

  test('every class appears and category ids are 1..6 in SHAPE_KINDS order', () => {
    assert.deepEqual(SHAPE_CATEGORIES.map((c) => [c.id, c.name]), SHAPE_KINDS.map((k, i) => [i + 1, k]));
    const seen = new Set<number>();
    for (let seed = 0; seed < 10; seed++) for (const a of renderShapesImage(seed, SMALL).annotations) seen.add(a.categoryId);
    assert.deepEqual([...seen].sort(), [1, 2, 3, 4, 5, 6]);
  });
});

describe('shapes config', () => {
  test('bad values and relations are INVALID_CONFIG naming the field', () => {
    const expectError = (partial: Partial<ShapesConfig>, field: string): void => {
      assert.throws(() => resolveShapesConfig(partial), (e: unknown) => e instanceof NasnetError && e.code === 'INVALID_CONFIG' && e.message.includes(field));
    };
    expectError({ minObjects: 5, maxObjects: 2 }, 'minObjects');
    expectError({ width: 64, maxObjectSize: 100 }, 'maxObjectSize');
    expectError({ minVisibleFraction: 2 }, 'minVisibleFraction');
  });

  test('shapesConfigForSize scales the default object sizes with the image side', () => {
    const config = shapesConfigForSize(160); // from 24..96 at 256: 24 * 160 / 256 = 15, 96 * 160 / 256 = 60
    assert.equal(config.width, 160);
    assert.equal(config.minObjectSize, 15);
    assert.equal(config.maxObjectSize, 60);
    assert.equal(shapesConfigForSize(160, { maxObjectSize: 50 }).maxObjectSize, 50);
  });
});

describe('generateShapesDataset', () => {
  test('writes the COCO layout; the same seed gives identical annotation JSON; images do not depend on the count', async () => {
    const root = tempDir('shapes');
    const options = { train: 4, val: 2, seed: 9, config: SMALL };
    const summary = await generateShapesDataset({ ...options, outDir: join(root, 'a') });
    await generateShapesDataset({ ...options, outDir: join(root, 'b') });
    await generateShapesDataset({ ...options, train: 2, outDir: join(root, 'c') });
    assert.deepEqual(summary.images, { train: 4, val: 2 });
    assert.deepEqual(readdirSync(join(root, 'a', 'train')), ['000001.png', '000002.png', '000003.png', '000004.png']);
    for (const split of ['train', 'val']) {
      const file = `annotations/instances_${split}.json`;
      assert.equal(readFileSync(join(root, 'a', file), 'utf8'), readFileSync(join(root, 'b', file), 'utf8'));
    }
    const coco = JSON.parse(readFileSync(join(root, 'a', 'annotations', 'instances_train.json'), 'utf8'));
    assert.equal(coco.annotations.length, summary.annotations.train);
    assert.deepEqual(coco.categories.map((c: { name: string }) => c.name), [...SHAPE_KINDS]);
    assert.deepEqual(coco.images[1], { id: 2, file_name: '000002.png', width: 96, height: 64 });
    const first = coco.annotations[0];
    assert.deepEqual(Object.keys(first).sort(), ['area', 'bbox', 'category_id', 'id', 'image_id', 'iscrowd']);
    assert.equal(first.iscrowd, 0);
    const fewer = JSON.parse(readFileSync(join(root, 'c', 'annotations', 'instances_train.json'), 'utf8'));
    const ofFirstTwo = coco.annotations.filter((a: { image_id: number }) => a.image_id <= 2);
    assert.deepEqual(fewer.annotations, ofFirstTwo);
    // The PNG holds exactly the rendered pixels, and its annotations are the renderer's.
    const rendered = renderShapesImage(shapesImageSeed(9, 'val', 1), SMALL);
    const { image } = await decodeRgb(readFileSync(join(root, 'a', 'val', '000002.png')));
    assert.deepEqual(image.data, rendered.image.data);
    const val = JSON.parse(readFileSync(join(root, 'a', 'annotations', 'instances_val.json'), 'utf8'));
    assert.deepEqual(val.annotations.filter((a: { image_id: number }) => a.image_id === 2).map((a: { bbox: number[] }) => a.bbox),
      rendered.annotations.map((a) => a.bbox));
  });

  test('rejects a negative count with INVALID_ARGUMENT', async () => {
    await assert.rejects(generateShapesDataset({ outDir: tempDir('shapes-bad'), train: -1, val: 0, seed: 0 }),
      (e: unknown) => e instanceof NasnetError && e.code === 'INVALID_ARGUMENT' && e.message.includes('train'));
  });
});
