// Detection training on a tiny config and a generated 64 x 64 shapes set: losses fall over 20 steps on a
// fixed batch, a checkpoint restores weights, BN statistics and optimizer slots exactly, validation goes
// through the COCO evaluator.
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-layers';
import { initEngine } from '../../core/engine.js';
import { generateShapesDataset, shapesConfigForSize } from '../../data/shapes.js';
import { loadCocoSplit, type DetectionDataset } from '../../data/coco_dataset.js';
import { DetectionTrainingTask, evaluateDetector, type DetectionTrainingOptions, type NetworkBatch } from '../../detection/training.js';
import { packTensors } from '../../detection/training_replicas.js';
import { tempDir } from '../data/temp.js';
import { TINY_DETECTOR } from './tiny_detector.js';

let train: DetectionDataset;
let val: DetectionDataset;
const root = tempDir('frcnn-train');

before(async () => {
  await initEngine({ backend: 'wasm' });
  const config = shapesConfigForSize(64, { maxObjects: 3, minObjectSize: 16, maxObjectSize: 40 });
  await generateShapesDataset({ outDir: root, train: 4, val: 2, seed: 5, config });
  [train, val] = await Promise.all([loadCocoSplit(root, 'train'), loadCocoSplit(root, 'val')]);
});

function options(checkpointDir: string): DetectionTrainingOptions {
  return {
    model: { ...TINY_DETECTOR, classNames: [], categoryIds: [] },
    train,
    val,
    checkpointDir,
    epochs: 1,
    batchSize: 2,
    learningRate: 0.02,
    warmupSteps: 0,
    decayEpochs: [10],
    momentum: 0.9,
    weightDecay: 0,
    clipGlobalNorm: 10,
    scaleRange: [0.75, 1],
    flipProbability: 0.5,
    seed: 1,
  };
}

async function firstBatch(task: DetectionTrainingTask): Promise<NetworkBatch> {
  for await (const batch of task.batches(0, 0)) return batch;
  throw new Error('no batch');
}

describe('DetectionTrainingTask', () => {
  test('a batch is padded to the network input with boxes rescaled to it', async () => {
    const task = new DetectionTrainingTask(options(join(root, 'ckpt-batch')));
    const batch = await firstBatch(task);
    try {
      assert.deepEqual(batch.images.shape, [2, 64, 64, 3]);
      batch.metas.forEach((meta, n) => {
        const [, , wy, wx] = batch.windows[n]!;
        assert.ok(Math.abs(wy - meta.resizedHeight / 64) < 1e-9 && Math.abs(wx - meta.resizedWidth / 64) < 1e-9);
        const boxes = batch.groundTruth[n]!.boxes;
        for (let k = 0; k < boxes.length; k++) assert.ok(boxes[k]! >= 0 && boxes[k]! <= (k % 2 === 0 ? wy : wx) + 1e-6);
      });
    } finally {
      batch.dispose();
      task.dispose();
    }
  });

  test('20 steps on a fixed batch: finite losses that fall', async () => {
    const task = new DetectionTrainingTask(options(join(root, 'ckpt-20')));
    const batch = await firstBatch(task);
    const losses: number[] = [];
    try {
      let afterFirst = 0;
      for (let step = 0; step < 20; step++) {
        const l = await task.trainStep(batch, step);
        for (const v of Object.values(l)) assert.ok(Number.isFinite(v));
        losses.push(l.loss!);
        if (step === 0) afterFirst = tf.memory().numTensors; // the momentum slots exist from the first step on
      }
      assert.equal(tf.memory().numTensors, afterFirst, 'a training step leaks tensors');
      const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
      const first = mean(losses.slice(0, 3));
      const last = mean(losses.slice(-3));
      assert.ok(last < 0.7 * first, `losses ${losses.map((v) => v.toFixed(3)).join(' ')}`);
    } finally {
      batch.dispose();
      task.dispose();
    }
  });

  test('save + restore gives the same next step (weights, BN statistics and momentum slots)', async () => {
    const dir = join(root, 'ckpt-resume');
    const a = new DetectionTrainingTask(options(dir));
    const b = new DetectionTrainingTask(options(dir));
    const batchA = await firstBatch(a);
    const batchB = await firstBatch(b);
    try {
      assert.equal(await a.restore(), undefined);
      await a.trainStep(batchA, 0);
      await a.trainStep(batchA, 1);
      const state = { epoch: 0, stepInEpoch: 2, globalStep: 2, history: [] };
      await a.save(state);
      const expected = await a.trainStep(batchA, 2);
      assert.deepEqual(await b.restore(), state);
      const got = await b.trainStep(batchB, 2);
      for (const [name, value] of Object.entries(expected)) assert.ok(Math.abs(got[name]! - value) <= 1e-5 * Math.max(1, Math.abs(value)), `${name}: ${got[name]} vs ${value}`);
    } finally {
      batchA.dispose();
      batchB.dispose();
      a.dispose();
      b.dispose();
    }
  });

  test('a fresh run draws its initial weights from the model seed', async () => {
    const weightsOf = async (seed: number): Promise<Float32Array> => {
      const task = new DetectionTrainingTask({ ...options(join(root, `ckpt-init-${seed}`)), model: { ...TINY_DETECTOR, classNames: [], categoryIds: [], seed } });
      try {
        assert.equal(await task.restore(), undefined);
        return packTensors(task.model.variables().map((v) => v.variable));
      } finally {
        task.dispose();
      }
    };
    const [a, b, c] = [await weightsOf(4), await weightsOf(4), await weightsOf(5)];
    assert.deepEqual(a, b);
    assert.notDeepEqual(a, c);
  });

  test('validation scores the detector with the COCO evaluator and leaks no tensors', async () => {
    const task = new DetectionTrainingTask(options(join(root, 'ckpt-val')));
    try {
      await evaluateDetector(task.model, val, 2);
      const before = tf.memory().numTensors;
      const { AP, AP50, lines } = await evaluateDetector(task.model, val, 2);
      assert.equal(tf.memory().numTensors, before);
      assert.ok(AP >= 0 && AP <= 1 && AP50 >= AP);
      assert.equal(lines.length, 12);
      assert.deepEqual(Object.keys(await task.validate()), ['AP', 'AP50']);
    } finally {
      task.dispose();
    }
  });
});
