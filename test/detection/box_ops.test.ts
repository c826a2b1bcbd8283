import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  clipBoxes,
  fromCocoXywh,
  iouMatrix,
  normalizedToPixels,
  pixelsToNormalized,
  removeSmall,
  swapXy,
  toCocoXywh,
} from '../../detection/box_ops.js';
import { NasnetError } from '../../core/errors.js';
import { f32, fixtureCase, maxAbsDiff, yxyx } from './fixture_io.js';

describe('iouMatrix vs torchvision box_iou (box_iou.json, pixel boxes converted to [y1,x1,y2,x2])', () => {
  for (const name of ['random_quantized', 'random_float', 'degenerate', 'inverted_informational', 'empty']) {
    test(name, () => {
      const c = fixtureCase('box_iou.json', name);
      const got = iouMatrix(yxyx(c.inputs.boxes1), yxyx(c.inputs.boxes2));
      const want = f32(c.expected.iou);
      assert.equal(got.length, want.length);
      // float32 step by step: bit-identical, NaN exactly where torchvision has NaN.
      for (let k = 0; k < want.length; k++) {
        assert.equal(Number.isNaN(got[k]), Number.isNaN(want[k]), `NaN at ${k}`);
      }
      assert.equal(maxAbsDiff(got, want), 0);
    });
  }

  test('normalised frame gives the same IoU up to float32 rounding', () => {
    const c = fixtureCase('box_iou.json', 'random_float');
    const scale = { height: 1216, width: 1344 };
    const got = iouMatrix(pixelsToNormalized(yxyx(c.inputs.boxes1), scale), pixelsToNormalized(yxyx(c.inputs.boxes2), scale));
    assert.ok(maxAbsDiff(got, f32(c.expected.iou)) < 1e-5);
  });
});

describe('box ops, hand-computed', () => {
  test('iou of two unit-offset squares', () => {
    // [0,0,2,2] vs [1,1,3,3]: inter 1, union 7.
    const iou = iouMatrix(Float32Array.of(0, 0, 2, 2), Float32Array.of(1, 1, 3, 3, 0, 0, 2, 2, 2, 0, 4, 2));
    assert.deepEqual(Array.from(iou), [Math.fround(1 / 7), 1, 0]);
  });

  test('clipBoxes clamps to a window, per axis', () => {
    const got = clipBoxes(Float32Array.of(-5, -1, 130, 170, 10, 20, 30, 40), [0, 0, 120, 150]);
    assert.deepEqual(Array.from(got), [0, 0, 120, 150, 10, 20, 30, 40]);
  });

  test('removeSmall measures in pixels through the scale and uses >=', () => {
    // Normalised boxes on a 100 (h) x 200 (w) input: heights 0.01 -> 1 px, widths 0.005 -> 1 px.
    const boxes = Float32Array.of(0, 0, 0.01, 0.005, 0, 0, 0.01, 0.004, 0, 0, 0.009, 0.5);
    assert.deepEqual(Array.from(removeSmall(boxes, 0.99, { height: 100, width: 200 })), [0]);
    // Pixel boxes (scale 1): width exactly 1e-3 (float32) passes, as torchvision's `>=`.
    const px = Float32Array.of(0, 0, 1, Math.fround(1e-3), 0, 0, 1, 0);
    assert.deepEqual(Array.from(removeSmall(px, 1e-3, { height: 1, width: 1 })), [0]);
  });

  test('pixels <-> normalised round trip and axis swap', () => {
    const scale = { height: 600, width: 800 };
    const px = Float32Array.of(60, 80, 300, 400);
    assert.deepEqual(Array.from(pixelsToNormalized(px, scale)), [0.1, 0.1, 0.5, 0.5].map(Math.fround));
    assert.deepEqual(Array.from(normalizedToPixels(pixelsToNormalized(px, scale), scale)), [60, 80, 300, 400]);
    assert.deepEqual(Array.from(swapXy(Float32Array.of(1, 2, 3, 4))), [2, 1, 4, 3]);
  });

  test('fromCocoXywh / toCocoXywh through an ImageFrame (scale 2, letterbox pad 10 px at the top)', () => {
    const frame = { inputHeight: 100, inputWidth: 200, scaleX: 2, scaleY: 2, padLeft: 0, padTop: 10 };
    const norm = fromCocoXywh(Float32Array.of(10, 5, 20, 15), frame);
    // y1 = (5*2+10)/100, x1 = 20/200, y2 = (20*2+10)/100, x2 = 60/200
    assert.deepEqual(Array.from(norm), [0.2, 0.1, 0.5, 0.3].map(Math.fround));
    const back = toCocoXywh(norm, frame);
    assert.ok(maxAbsDiff(back, [10, 5, 20, 15]) < 1e-5);
  });

  test('rejects a box array that is not N*4', () => {
    assert.throws(() => iouMatrix(new Float32Array(5), new Float32Array(4)), (e: unknown) => e instanceof NasnetError && e.code === 'INVALID_ARGUMENT');
  });
});
