// The OD API's inference arithmetic on hand-computed cases: TF1 legacy bilinear (no half-pixel centres:
// the last source pixel repeats), the aspect-major anchor order and clipping, FasterRcnnBoxCoder, and the
// multiclass NMS boundaries (score > threshold is strict, IoU equal to the threshold does not suppress,
// boxes clipped to zero area vanish).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeBoxes, gridAnchors, multiclassNms, preprocessNas, resizeBilinearTf1, softmaxRows } from '../../../detection/odapi/odapi_ops.js';

describe('odapi_ops', () => {
  test('resizeBilinearTf1: 2 -> 4 samples 0, 0.5, 1, 1.5 (clamped to the last pixel); preprocess maps 0..255 to -1..1', () => {
    const rgb = new Uint8Array([0, 0, 0, 10, 20, 30, 0, 0, 0, 10, 20, 30]); // 2 x 2, columns 0 and (10,20,30)
    const out = resizeBilinearTf1(rgb, 2, 2, 1, 4);
    assert.deepEqual(Array.from(out.filter((_, i) => i % 3 === 0)), [0, 5, 10, 10]);
    assert.deepEqual(Array.from(preprocessNas(new Float32Array([0, 255, 127.5]))), [-1, 1, 0]);
  });

  test('gridAnchors: per location (aspect, scale) aspect-major, centres at i * stride, clipped to the image', () => {
    const anchors = gridAnchors(
      { scales: [1, 2], aspectRatios: [1, 4], baseHeight: 16, baseWidth: 16, heightStride: 8, widthStride: 8, heightOffset: 0, widthOffset: 0 },
      1, 2, 100, 100,
    );
    assert.deepEqual(Array.from(anchors), [
      0, 0, 8, 8, 0, 0, 16, 16, 0, 0, 4, 16, 0, 0, 8, 32, // centre (0, 0): (a1,s1) (a1,s2) (a4,s1) h 8 w 32, (a4,s2)
      0, 0, 8, 16, 0, 0, 16, 24, 0, 0, 4, 24, 0, 0, 8, 40, // centre (0, 8)
    ]);
  });

  test('decodeBoxes: FasterRcnnBoxCoder with scales (10, 10, 5, 5), per-class rows sharing an anchor', () => {
    const codes = new Float32Array([1, 4, 5 * Math.log(2), 0, 0, 0, 0, 0]);
    const out = decodeBoxes(codes, new Float32Array([0, 0, 10, 20]), [10, 10, 5, 5], () => 0);
    // centre (5, 10) -> (5 + 0.1 * 10, 10 + 0.4 * 20) = (6, 18); height 10 * 2, width 20.
    assert.deepEqual(Array.from(out).map((v) => Math.round(v * 1e4) / 1e4), [-4, 8, 16, 28, 0, 0, 10, 20]);
  });

  test('multiclassNms: strict score threshold, IoU == threshold (float32, as TF compares) kept, zero-area after clipping dropped, all classes sorted', () => {
    // Class 0: boxes 0 and 1 overlap with IoU exactly 1/3; box 2 lies outside the 10 x 10 window.
    const boxes = new Float32Array([0, 0, 4, 4, 0, 2, 4, 6, 20, 20, 30, 30]);
    const scores = new Float32Array([0.9, 0.1, 0.5, 0.3, 0.8, 0.2]); // [3 rows x 2 classes]
    const settings = { scoreThreshold: 0.3, iouThreshold: 1 / 3, maxPerClass: 10, maxTotal: 10, height: 10, width: 10 };
    const r = multiclassNms(() => boxes, scores, 3, 2, settings);
    // class 0: rows 0 (0.9), 1 (0.5; IoU 1/3 not > 1/3), row 2 (0.8) outside; class 1: row 0 (0.1) and row 1 at 0.3 are not > 0.3.
    assert.deepEqual(Array.from(r.rows), [0, 1]);
    assert.deepEqual(Array.from(r.classes), [0, 0]);
    const tighter = multiclassNms(() => boxes, scores, 3, 2, { ...settings, iouThreshold: 0.33 });
    assert.deepEqual(Array.from(tighter.rows), [0]);
  });

  test('softmaxRows with a logit scale', () => {
    const p = softmaxRows(new Float32Array([0, Math.log(3) * 2]), 2, 2);
    assert.ok(Math.abs(p[0]! - 0.25) < 1e-7 && Math.abs(p[1]! - 0.75) < 1e-7);
  });
});
