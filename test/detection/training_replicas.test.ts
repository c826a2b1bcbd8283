// Data-parallel detection training: with two workers a step's gradients, losses and BatchNorm
// statistics are the means of the two half-batch shards computed in-process from the same weights, the
// main thread leaks no tensors over steps, a worker count that does not divide the batch is refused, and a
// replica's failure reaches the main thread with its error code.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-layers';
import { initEngine } from '../../core/engine.js';
import { generateShapesDataset, shapesConfigForSize } from '../../data/shapes.js';
import { loadCocoSplit, type DetectionDataset } from '../../data/coco_dataset.js';
import { DetectionTrainingTask, type DetectionTrainingOptions, type NetworkBatch } from '../../detection/training.js';
import { shardGradients, shardSamplerSeed, type ShardGradients } from '../../detection/shard_gradients.js';
import { assignPacked, batchNormStatistics, packTensors, TrainingReplicas } from '../../detection/training_replicas.js';
import type { FasterRcnnConfig } from '../../detection/faster_rcnn_config.js';
import { tempDir } from '../data/temp.js';
import { TINY_DETECTOR } from './tiny_detector.js';

let train: DetectionDataset;
const root = tempDir('frcnn-replicas');
const SEED = 7;

before(async () => {
  await initEngine({ backend: 'wasm' });
  const config = shapesConfigForSize(64, { maxObjects: 3, minObjectSize: 16, maxObjectSize: 40 });
  await generateShapesDataset({ outDir: root, train: 4, val: 0, seed: 9, config });
  train = await loadCocoSplit(root, 'train');
});

function options(workers: number, batchSize = 2): DetectionTrainingOptions {
  return {
    model: { ...TINY_DETECTOR, classNames: [], categoryIds: [] },
    train,
    checkpointDir: join(root, `ckpt-${workers}`),
    epochs: 1,
    batchSize,
    learningRate: 0.02,
    warmupSteps: 0,
    decayEpochs: [10],
    momentum: 0.9,
    weightDecay: 4e-5,
    clipGlobalNorm: 10,
    scaleRange: [0.75, 1],
    flipProbability: 0.5,
    seed: SEED,
    workers,
  };
}

async function firstBatch(task: DetectionTrainingTask): Promise<NetworkBatch> {
  for await (const batch of task.batches(0, 0)) return batch;
  throw new Error('no batch');
}

function maxRelativeError(a: Float32Array, b: Float32Array): number {
  let scale = 1e-8;
  for (const v of b) scale = Math.max(scale, Math.abs(v));
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!) / scale);
  return worst;
}

describe('data-parallel detection training (workers = 2)', () => {
  let parallel: DetectionTrainingTask;
  let reference: DetectionTrainingTask;
  before(() => {
    parallel = new DetectionTrainingTask(options(2));
    reference = new DetectionTrainingTask(options(1));
  });
  after(() => {
    parallel.dispose();
    reference.dispose();
  });

  test('gradients, losses and BN statistics are the means of the two shards computed in-process', async () => {
    const batch = await firstBatch(parallel);
    const step = 3;
    try {
      const model = reference.model;
      assignPacked(
        model.variables().map((v) => v.variable),
        packTensors(parallel.model.variables().map((v) => v.variable)),
      );
      const trainables = model.variables().filter((v) => v.trainable).map(({ name, variable }) => ({ name, variable }));
      const statistics = batchNormStatistics(model.variables()).map((v) => v.variable);
      assert.ok(statistics.length > 0);
      const initial = packTensors(statistics);
      const shards = [0, 1].map((k) => ({ images: tf.slice(batch.images, [k, 0, 0, 0], [1, -1, -1, -1]), groundTruth: [batch.groundTruth[k]!], windows: [batch.windows[k]!] }));
      const expected: ShardGradients[] = [];
      const expectedStatistics: Float32Array[] = [];
      for (const [k, shard] of shards.entries()) {
        assignPacked(statistics, initial);
        expected.push(await shardGradients(model, trainables, shard, shardSamplerSeed(SEED, step, k)));
        expectedStatistics.push(packTensors(statistics));
        shard.images.dispose();
      }

      const got = await parallel.gradients(batch, step);
      try {
        assert.deepEqual(Object.keys(got.grads).sort(), Object.keys(expected[0]!.grads).sort());
        for (const [name, g] of Object.entries(got.grads)) {
          const mean = tf.tidy(() => tf.div(tf.add(expected[0]!.grads[name]!, expected[1]!.grads[name]!), 2));
          const err = maxRelativeError(g.dataSync() as Float32Array, mean.dataSync() as Float32Array);
          mean.dispose();
          assert.ok(err <= 1e-5, `${name}: relative error ${err}`);
        }
        for (const [name, value] of Object.entries(got.losses)) {
          const mean = (expected[0]!.losses[name]! + expected[1]!.losses[name]!) / 2;
          assert.ok(Math.abs(value - mean) <= 1e-5 * Math.max(1, Math.abs(mean)), `${name}: ${value} vs ${mean}`);
        }
        const parallelStatistics = packTensors(batchNormStatistics(parallel.model.variables()).map((v) => v.variable));
        const meanStatistics = expectedStatistics[0]!.map((v, i) => (v + expectedStatistics[1]![i]!) / 2);
        assert.ok(maxRelativeError(parallelStatistics, meanStatistics) <= 1e-6);
        assert.ok(maxRelativeError(parallelStatistics, initial) > 1e-4, 'the BN statistics did not move');
      } finally {
        tf.dispose([...Object.values(got.grads), ...expected.flatMap((e) => Object.values(e.grads))]);
      }
    } finally {
      batch.dispose();
    }
  });

  test('training steps run and leak no tensors on the main thread', async () => {
    const batch = await firstBatch(parallel);
    try {
      let afterFirst = 0;
      for (let step = 0; step < 4; step++) {
        const losses = await parallel.trainStep(batch, step);
        for (const v of Object.values(losses)) assert.ok(Number.isFinite(v));
        if (step === 0) afterFirst = tf.memory().numTensors;
      }
      assert.equal(tf.memory().numTensors, afterFirst);
    } finally {
      batch.dispose();
    }
  });
});

test('a worker count that does not divide the batch size is refused', () => {
  assert.throws(() => new DetectionTrainingTask(options(3, 4)), { name: 'NasnetError', code: 'INVALID_ARGUMENT', message: /divides the batch size 4; received 3/ });
  assert.throws(() => new DetectionTrainingTask(options(0, 4)), { code: 'INVALID_ARGUMENT' });
});

test('a replica that cannot build its detector fails start() with the typed error from its thread', async () => {
  const model = { ...TINY_DETECTOR, imageSize: 8 } as FasterRcnnConfig;
  await assert.rejects(TrainingReplicas.start(1, { model, backend: 'wasm' }), { name: 'NasnetError', code: 'INVALID_CONFIG', message: /a training replica failed to start: .*imageSize must be >= 64/ });
});
