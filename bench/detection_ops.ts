// Times of the Faster R-CNN building blocks at NASNet-config sizes (spec section 5.2): a 1200x1200 input,
// a 75x75 stride-16 map with 12 anchors per location (67,500 anchors), 500 proposals, 91 classes.
// Inputs are random (seeded); what is measured is the data-dependent work, so the numbers are indicative.
// Usage: npx tsx bench/detection_ops.ts [--backend cpu|wasm] [--channels C] [--runs N]
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { initEngine } from '../core/engine.js';
import { createPrng } from '../core/prng.js';
import { DEFAULT_GRID_ANCHOR_CONFIG, tfGridAnchors } from '../detection/anchors.js';
import { pixelsToNormalized } from '../detection/box_ops.js';
import { nonMaxSuppression } from '../detection/nms.js';
import { DEFAULT_POSTPROCESS_CONFIG, postprocessDetections } from '../detection/postprocess.js';
import { roiAlign } from '../detection/roi_align.js';
import { DEFAULT_PROPOSAL_CONFIG, filterProposals } from '../detection/rpn.js';

function flag(name: string, fallback: string): string {
  const i = process.argv.indexOf(name);
  return i >= 0 ? (process.argv[i + 1] ?? fallback) : fallback;
}

/** Runs `fn` in a tidy, waits for its result's data, frees it (a tidy must not return big typed arrays). */
function settle(fn: () => tf.Tensor): void {
  const t = tf.tidy(fn);
  t.dataSync();
  t.dispose();
}

function median(runs: number, fn: () => void): number {
  fn(); // warm-up
  const times: number[] = [];
  for (let r = 0; r < runs; r++) {
    const t0 = performance.now();
    fn();
    times.push(performance.now() - t0);
  }
  return times.sort((a, b) => a - b)[Math.floor(runs / 2)] as number;
}

export async function main(): Promise<void> {
  const backend = flag('--backend', 'wasm') as 'cpu' | 'wasm';
  const channels = Number(flag('--channels', '256'));
  const runs = Number(flag('--runs', '5'));
  await initEngine({ backend });
  const prng = createPrng(1);
  const input = { height: 1200, width: 1200 };
  const frame = { clipWindow: [0, 0, 1, 1] as const, pixelScale: input };

  const anchorsPx = tfGridAnchors(DEFAULT_GRID_ANCHOR_CONFIG, { height: 75, width: 75 });
  const a = anchorsPx.length / 4;
  const anchors = tf.tensor2d(pixelsToNormalized(anchorsPx, input), [a, 4]);
  const logits = tf.tensor1d(Float32Array.from({ length: a }, () => prng.normal()));
  const deltas = tf.tensor2d(Float32Array.from({ length: 4 * a }, () => 0.2 * prng.normal()), [a, 4]);
  const proposalInputs = { objectness: logits, deltas, anchors, levelSizes: [a] };
  const proposals = filterProposals(proposalInputs, DEFAULT_PROPOSAL_CONFIG.test, frame);
  const r = proposals.scores.length;

  const features = tf.randomNormal([1, 75, 75, channels], 0, 1, 'float32', 2) as tf.Tensor4D;
  const roiConfig = { outputSize: [17, 17] as const, samplingRatio: 2, aligned: true };
  const roiFrame = { pixelScale: input, spatialScale: 1 / 16 };
  const train = 64; // second_stage_batch_size default (spec section 5.2)
  const trainBoxes = proposals.boxes.subarray(0, 4 * train);

  const k = 91;
  const classLogits = tf.randomNormal([r, k], 0, 2, 'float32', 3) as tf.Tensor2D;
  const boxDeltas = tf.randomNormal([r, 4 * k], 0, 0.5, 'float32', 4) as tf.Tensor2D;
  const nmsBoxes = Float32Array.from({ length: 6000 * 4 }, (_, i) => (i % 4 < 2 ? prng.next() * 0.8 : 0.2 + prng.next() * 0.8));
  nmsBoxes.forEach((_, i) => {
    if (i % 4 >= 2) nmsBoxes[i] = (nmsBoxes[i - 2] as number) + 0.05 + 0.15 * prng.next();
  });
  const nmsScores = Float32Array.from({ length: 6000 }, () => prng.next());

  const rows: [string, number][] = [
    [`filterProposals (${a} anchors, pre 6000, post 500)`, median(runs, () => filterProposals(proposalInputs, DEFAULT_PROPOSAL_CONFIG.test, frame))],
    ['nonMaxSuppression (6000 boxes, IoU 0.7)', median(runs, () => nonMaxSuppression(nmsBoxes, nmsScores, 0.7))],
    [`roiAlign forward (${r} boxes, 17x17, C=${channels})`, median(runs, () => settle(() => roiAlign(features, proposals.boxes, new Int32Array(r), roiConfig, roiFrame)))],
    [
      `roiAlign forward+backward (${train} boxes, 17x17, C=${channels})`,
      median(runs, () =>
        settle(() => tf.grad((x: tf.Tensor) => tf.sum(roiAlign(x as tf.Tensor4D, trainBoxes, new Int32Array(train), roiConfig, roiFrame)))(features)),
      ),
    ],
    [
      `postprocessDetections (${r} proposals, ${k} classes, score 0, IoU 0.6)`,
      median(runs, () => postprocessDetections({ classLogits, boxDeltas, proposals: proposals.boxes }, DEFAULT_POSTPROCESS_CONFIG, frame)),
    ],
  ];
  console.log(`backend ${backend}, median of ${runs} runs`);
  for (const [what, ms] of rows) console.log(`  ${what.padEnd(62)} ${ms.toFixed(1).padStart(8)} ms`);
  tf.dispose([anchors, logits, deltas, features, classLogits, boxDeltas]);
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await main();
