import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  DEFAULT_GRID_ANCHOR_CONFIG,
  gridAnchors,
  roundHalfEven,
  tfCellAnchors,
  tfGridAnchors,
  torchvisionCellAnchors,
  torchvisionStride,
} from '../../detection/anchors.js';
import { gatherRows, swapXy } from '../../detection/box_ops.js';
import { NasnetError } from '../../core/errors.js';
import { fixtureCase, i32, yxyx, type FixtureTensor } from './fixture_io.js';

type Grid = [number, number];

/** torchvision AnchorGenerator for one image: levels concatenated in map order, pixel [y1,x1,y2,x2]. */
function torchvisionAnchors(sizes: number[][], ratios: number[][], image: Grid, grids: Grid[]): { anchors: Float32Array; cells: Float32Array[] } {
  const cells = grids.map((_, l) => torchvisionCellAnchors(sizes[l] as number[], ratios[l] as number[]));
  const levels = grids.map(([h, w], l) => {
    const stride = torchvisionStride({ height: image[0], width: image[1] }, { height: h, width: w });
    return gridAnchors(cells[l] as Float32Array, { height: h, width: w }, stride);
  });
  const anchors = new Float32Array(levels.reduce((s, a) => s + a.length, 0));
  let at = 0;
  for (const level of levels) {
    anchors.set(level, at);
    at += level.length;
  }
  return { anchors, cells };
}

describe('anchors vs torchvision AnchorGenerator (anchors.json), exact', () => {
  for (const name of ['single_map_38x50_stride16', 'resnet50_fpn_608x800', 'mobilenet_v3_large_fpn_800x1088']) {
    test(name, () => {
      const c = fixtureCase('anchors.json', name);
      const p = c.params as { sizes: number[][]; aspect_ratios: number[][]; image_size: Grid; grid_sizes?: Grid[] };
      const e = c.expected as unknown as Record<string, unknown>;
      const grids = (p.grid_sizes ?? e.grid_sizes) as Grid[];
      const { anchors, cells } = torchvisionAnchors(p.sizes, p.aspect_ratios, p.image_size, grids);
      assert.equal(anchors.length / 4, e.total);
      const strides = grids.map(([h, w]) => torchvisionStride({ height: p.image_size[0], width: p.image_size[1] }, { height: h, width: w }));
      assert.deepEqual(strides, e.strides);
      const wantCells = Array.isArray(e.cell_anchors) ? (e.cell_anchors as FixtureTensor[]) : [e.cell_anchors as FixtureTensor];
      wantCells.forEach((t, l) => assert.deepEqual(Array.from(cells[l] as Float32Array), Array.from(yxyx(t)), `cell anchors of level ${l}`));
      const idx = i32(c.expected.sample_indices);
      assert.deepEqual(Array.from(gatherRows(anchors, idx)), Array.from(yxyx(c.expected.sample_anchors)));
    });
  }
});

describe('anchors, hand-computed', () => {
  test('torchvision convention: a 15x15 image, 3x3 map (stride 5), size 10, ratio 1 gives these 9 anchors', () => {
    const stride = torchvisionStride({ height: 15, width: 15 }, { height: 3, width: 3 });
    assert.deepEqual(stride, [5, 5]);
    const anchors = gridAnchors(torchvisionCellAnchors([10], [1]), { height: 3, width: 3 }, stride);
    // [x1, y1, x2, y2] rows of torchvision's own unit test; row-major over (row, col).
    const xyxy = [
      [-5, -5, 5, 5], [0, -5, 10, 5], [5, -5, 15, 5],
      [-5, 0, 5, 10], [0, 0, 10, 10], [5, 0, 15, 10],
      [-5, 5, 5, 15], [0, 5, 10, 15], [5, 5, 15, 15],
    ].flat();
    assert.deepEqual(Array.from(anchors), Array.from(swapXy(Float32Array.from(xyxy))));
  });

  test('torchvision rounds half to even and reads the ratio as height/width', () => {
    assert.deepEqual([0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 2.4, -2.6].map(roundHalfEven), [0, 2, 2, -0, -2, -2, 2, -3]);
    // ratio 2: h = sqrt(2)*32 = 45.25 -> half 22.6 -> 23; w = 32/sqrt(2) = 22.63 -> half 11.3 -> 11.
    assert.deepEqual(Array.from(torchvisionCellAnchors([32], [2])), [-23, -11, 23, 11]);
  });

  test('TF OD API convention (NASNet config): ratio is width/height, no rounding, 12 per location', () => {
    const cell = tfCellAnchors(DEFAULT_GRID_ANCHOR_CONFIG);
    assert.equal(cell.length, 12 * 4);
    // First: ratio 0.5, scale 0.25: h = 0.25/sqrt(0.5)*256 = 90.5097, w = 0.25*sqrt(0.5)*256 = 45.2548.
    const h = (0.25 / Math.SQRT1_2) * 256;
    const w = 0.25 * Math.SQRT1_2 * 256;
    assert.deepEqual(Array.from(cell.subarray(0, 4)), [-h / 2, -w / 2, h / 2, w / 2].map(Math.fround));
    // Ratio-major: entry 4 is ratio 1, scale 0.25 (64 x 64); the last is ratio 2, scale 2.
    assert.deepEqual(Array.from(cell.subarray(16, 20)), [-32, -32, 32, 32]);
    const anchors = tfGridAnchors(DEFAULT_GRID_ANCHOR_CONFIG, { height: 75, width: 75 });
    assert.equal(anchors.length / 4, 75 * 75 * 12);
    // Cell (row 1, col 2) is centred at (16, 32): its ratio-1 scale-0.25 anchor is [-16, 0, 48, 64].
    const k = ((1 * 75 + 2) * 12 + 4) * 4;
    assert.deepEqual(Array.from(anchors.subarray(k, k + 4)), [-16, 0, 48, 64]);
  });

  test('invalid configs are rejected with the field name', () => {
    assert.throws(() => tfCellAnchors({ ...DEFAULT_GRID_ANCHOR_CONFIG, scales: [] }), (e: unknown) => e instanceof NasnetError && e.details?.field === 'scales');
    assert.throws(() => gridAnchors(new Float32Array(4), { height: 0, width: 3 }, [16, 16]), NasnetError);
  });
});
