import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { initEngine } from '../../core/engine.js';
import { NasnetError } from '../../core/errors.js';
import { createPrng } from '../../core/prng.js';
import { pixelsToNormalized, swapXy } from '../../detection/box_ops.js';
import { roiAlign, type RoiAlignConfig } from '../../detection/roi_align.js';
import { assertNoLeak, f32, fixtureCase, maxAbsDiff, nhwc, type FixtureTensor } from './fixture_io.js';

const CASE = fixtureCase('roi_align.json', 'stride16_mixed_rois');
const ROIS = f32(CASE.inputs.rois); // [K, 5] = (batch, x1, y1, x2, y2) in image pixels
const K = ROIS.length / 5;
const BOX_INDICES = Int32Array.from({ length: K }, (_, k) => ROIS[5 * k] as number);
const BOXES_PX = swapXy(Float32Array.from({ length: 4 * K }, (_, i) => ROIS[5 * Math.floor(i / 4) + 1 + (i % 4)] as number));

/**
 * Independent reference: the per-sample loop of the torchvision CPU kernel (fixtures README), in
 * doubles, on NHWC data. Returns, for every output cell, its (flat pixel, weight) samples unmerged.
 */
function referenceSamples(boxes: Float32Array, idx: Int32Array, [, h, w]: number[], cfg: RoiAlignConfig, scale: number): [number, number][][] {
  const [ph, pw] = cfg.outputSize;
  const off = cfg.aligned ? 0.5 : 0;
  const cells: [number, number][][] = [];
  for (let k = 0; k < idx.length; k++) {
    const [y1, x1, y2, x2] = Array.from(boxes.subarray(4 * k, 4 * k + 4), (v) => v * scale - off) as [number, number, number, number];
    const rh = cfg.aligned ? y2 - y1 : Math.max(y2 - y1, 1);
    const rw = cfg.aligned ? x2 - x1 : Math.max(x2 - x1, 1);
    const gh = cfg.samplingRatio > 0 ? cfg.samplingRatio : Math.ceil(rh / ph);
    const gw = cfg.samplingRatio > 0 ? cfg.samplingRatio : Math.ceil(rw / pw);
    const count = Math.max(gh * gw, 1);
    for (let i = 0; i < ph; i++) {
      for (let j = 0; j < pw; j++) {
        const samples: [number, number][] = [];
        for (let iy = 0; iy < gh; iy++) {
          for (let ix = 0; ix < gw; ix++) {
            let y = y1 + i * (rh / ph) + ((iy + 0.5) * (rh / ph)) / gh;
            let x = x1 + j * (rw / pw) + ((ix + 0.5) * (rw / pw)) / gw;
            if (y < -1 || y > h || x < -1 || x > w) continue;
            y = Math.max(y, 0);
            x = Math.max(x, 0);
            let y0 = Math.floor(y);
            let x0 = Math.floor(x);
            let yh = y0 + 1;
            let xh = x0 + 1;
            if (y0 >= h - 1) {
              y0 = yh = h - 1;
              y = y0;
            }
            if (x0 >= w - 1) {
              x0 = xh = w - 1;
              x = x0;
            }
            const ly = y - y0;
            const lx = x - x0;
            const base = (idx[k] as number) * h * w;
            samples.push([base + y0 * w + x0, ((1 - ly) * (1 - lx)) / count], [base + y0 * w + xh, ((1 - ly) * lx) / count]);
            samples.push([base + yh * w + x0, (ly * (1 - lx)) / count], [base + yh * w + xh, (ly * lx) / count]);
          }
        }
        cells.push(samples);
      }
    }
  }
  return cells;
}

function configOf(run: Record<string, unknown>): RoiAlignConfig {
  return { outputSize: run.output_size as [number, number], samplingRatio: run.sampling_ratio as number, aligned: run.aligned as boolean };
}

for (const backend of ['cpu', 'wasm'] as const) {
  describe(`roiAlign vs torchvision roi_align (roi_align.json, 12 ROIs, stride 16) on ${backend}`, () => {
    before(async () => {
      await initEngine({ backend });
    });

    for (const run of CASE.runs) {
      const cfg = configOf(run);
      const label = `aligned=${cfg.aligned} sampling=${cfg.samplingRatio} ${cfg.outputSize.join('x')}`;
      // Fixed sampling runs through crop_and_resize (float32 sample positions on its own grid): 2e-5, the
      // fixtures README tolerance; adaptive sampling runs through the gathers: 2e-6.
      const tolerance = cfg.samplingRatio > 0 ? 2e-5 : 2e-6;
      test(`${label}: max abs err <= ${tolerance} (pixel frame)`, () => {
        const got = tf.tidy(() =>
          tf.transpose(roiAlign(nhwc(CASE.inputs.input), BOXES_PX, BOX_INDICES, cfg, { pixelScale: { height: 1, width: 1 }, spatialScale: 0.0625 }), [0, 3, 1, 2]).dataSync(),
        );
        assert.ok(maxAbsDiff(got, f32(run.output as FixtureTensor)) <= tolerance);
      });
    }

    test('normalised boxes (320x384 input) give the same crops', () => {
      const run = CASE.runs.find((r) => r.aligned === true && r.sampling_ratio === 2 && (r.output_size as number[])[0] === 7);
      assert.ok(run);
      const scale = { height: 320, width: 384 };
      const got = tf.tidy(() =>
        tf.transpose(roiAlign(nhwc(CASE.inputs.input), pixelsToNormalized(BOXES_PX, scale), BOX_INDICES, configOf(run), { pixelScale: scale, spatialScale: 1 / 16 }), [0, 3, 1, 2]).dataSync(),
      );
      assert.ok(maxAbsDiff(got, f32(run.output as FixtureTensor)) <= 1e-4);
    });

    test('gradient = the transpose of the reference sampling (all 12 ROIs, aligned, adaptive)', () => {
      const cfg: RoiAlignConfig = { outputSize: [7, 7], samplingRatio: -1, aligned: true };
      const shape = CASE.inputs.input.shape;
      const [n, c, h, w] = shape as [number, number, number, number];
      const prng = createPrng(5);
      const g = Float32Array.from({ length: K * 49 * c }, () => prng.normal()); // upstream gradient, [K, 7, 7, C]
      const grad = tf.tidy(() => {
        const upstream = tf.tensor4d(g, [K, 7, 7, c]);
        const f = (x: tf.Tensor): tf.Scalar => tf.sum(tf.mul(roiAlign(x as tf.Tensor4D, BOXES_PX, BOX_INDICES, cfg, { pixelScale: { height: 1, width: 1 }, spatialScale: 0.0625 }), upstream));
        return tf.grad(f)(nhwc(CASE.inputs.input)).dataSync();
      });
      const want = new Float64Array(n * h * w * c);
      referenceSamples(BOXES_PX, BOX_INDICES, [n, h, w], cfg, 0.0625).forEach((samples, p) => {
        for (const [pix, wt] of samples) for (let ch = 0; ch < c; ch++) want[pix * c + ch] = (want[pix * c + ch] as number) + wt * (g[p * c + ch] as number);
      });
      assert.ok(maxAbsDiff(grad, want) <= 1e-4);
    });

    test('gradient vs central finite differences (small map, random boxes)', () => {
      const prng = createPrng(11);
      const [n, h, w, c] = [1, 6, 7, 2];
      const x0 = Float32Array.from({ length: n * h * w * c }, () => prng.normal());
      const boxes = Float32Array.of(0.1, 0.2, 0.8, 0.9, 0.3, 0.0, 0.6, 0.5, -0.1, 0.4, 0.5, 1.05);
      const idx = Int32Array.of(0, 0, 0);
      const cfg: RoiAlignConfig = { outputSize: [3, 2], samplingRatio: 2, aligned: true };
      const frame = { pixelScale: { height: h, width: w }, spatialScale: 1 };
      const weights = Float32Array.from({ length: 3 * 3 * 2 * c }, () => prng.normal());
      const loss = (x: tf.Tensor): tf.Scalar => tf.sum(tf.mul(roiAlign(x as tf.Tensor4D, boxes, idx, cfg, frame), tf.tensor4d(weights, [3, 3, 2, c])));
      const analytic = tf.tidy(() => tf.grad(loss)(tf.tensor4d(x0, [n, h, w, c])).dataSync());
      const eps = 1e-2;
      for (let i = 0; i < x0.length; i++) {
        const at = (d: number): number => tf.tidy(() => loss(tf.tensor4d(x0.map((v, j) => (j === i ? v + d : v)), [n, h, w, c])).dataSync()[0] as number);
        const numeric = (at(eps) - at(-eps)) / (2 * eps);
        assert.ok(Math.abs(numeric - (analytic[i] as number)) < 1e-3, `pixel ${i}: ${numeric} vs ${analytic[i]}`);
      }
    });

    test('hand-computed: aligned 1x1 crop of box [0,0,2,2] on a 2x2 map averages the 4 samples', () => {
      // Feature coords (aligned): [-0.5, -0.5, 1.5, 1.5]; 2x2 samples at 0 and 1 on each axis -> exact pixels.
      const out = tf.tidy(() =>
        roiAlign(tf.tensor4d([1, 2, 3, 4], [1, 2, 2, 1]), Float32Array.of(0, 0, 2, 2), Int32Array.of(0), { outputSize: [1, 1], samplingRatio: 2, aligned: true }, { pixelScale: { height: 1, width: 1 }, spatialScale: 1 }).dataSync(),
      );
      assert.deepEqual(Array.from(out), [2.5]);
    });

    test('no tensor leak (forward and gradient)', async () => {
      const cfg: RoiAlignConfig = { outputSize: [7, 7], samplingRatio: 2, aligned: true };
      const frame = { pixelScale: { height: 1, width: 1 }, spatialScale: 0.0625 };
      const input = nhwc(CASE.inputs.input);
      await assertNoLeak(() => tf.tidy(() => roiAlign(input, BOXES_PX, BOX_INDICES, cfg, frame).dataSync()));
      await assertNoLeak(() => tf.tidy(() => tf.grad((x: tf.Tensor) => tf.sum(roiAlign(x as tf.Tensor4D, BOXES_PX, BOX_INDICES, cfg, frame)))(input).dataSync()));
      input.dispose();
    });

    test('bad inputs are rejected', () => {
      const x = tf.zeros([1, 4, 4, 1]) as tf.Tensor4D;
      const frame = { pixelScale: { height: 1, width: 1 }, spatialScale: 1 };
      assert.throws(() => roiAlign(x, Float32Array.of(0, 0, 1, 1), Int32Array.of(1), { outputSize: [2, 2], samplingRatio: 2, aligned: true }, frame), NasnetError);
      assert.throws(() => roiAlign(x, Float32Array.of(0, 0, 1, 1), Int32Array.of(0), { outputSize: [0, 2], samplingRatio: 2, aligned: true }, frame), NasnetError);
      x.dispose();
    });
  });
}
