// One data-parallel training replica (a worker thread started by TrainingReplicas): its own engine and
// detector; per job it takes the main thread's weights, computes one shard's gradients with the same
// function as the main thread (shard_gradients.ts) and sends back the gradients, the BatchNorm moving
// statistics and the losses. Errors come back as data so that their codes survive the thread boundary.
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-layers';
import { initEngine } from '../core/engine.js';
import { toWireError } from '../core/errors.js';
import { FasterRcnn } from './faster_rcnn.js';
import { shardGradients } from './shard_gradients.js';
import {
  assignPacked,
  batchNormStatistics,
  packTensors,
  REPLICA_KIND,
  type ReplicaInit,
  type ReplicaJob,
  type ReplicaReady,
  type ReplicaReply,
} from './training_replicas.js';

async function serve(init: ReplicaInit, port: NonNullable<typeof parentPort>): Promise<void> {
  let model: FasterRcnn;
  try {
    await initEngine({ backend: init.backend });
    model = new FasterRcnn(init.model);
  } catch (error) {
    port.postMessage({ ready: false, error: toWireError(error) } satisfies ReplicaReady);
    return;
  }
  const variables = model.variables();
  const trainables = variables.filter((v) => v.trainable).map(({ name, variable }) => ({ name, variable }));
  const statistics = batchNormStatistics(variables).map((v) => v.variable);
  // One job at a time: the main thread sends the next only after this one's reply.
  port.on('message', (job: ReplicaJob) => {
    void (async (): Promise<ReplicaReply> => {
      const images = tf.tensor4d(job.images, [...job.shape]);
      try {
        assignPacked(
          variables.map((v) => v.variable),
          job.weights,
        );
        const { grads, losses } = await shardGradients(model, trainables, { images, groundTruth: job.groundTruth, windows: job.windows }, job.samplerSeed);
        const gradNames = Object.keys(grads);
        const packed = packTensors(gradNames.map((name) => grads[name]!));
        tf.dispose(Object.values(grads));
        return { ok: true, gradNames, grads: packed, statistics: packTensors(statistics), losses };
      } catch (error) {
        return { ok: false, error: toWireError(error) };
      } finally {
        images.dispose();
      }
    })().then((reply) => port.postMessage(reply, reply.ok ? [reply.grads.buffer as ArrayBuffer, reply.statistics.buffer as ArrayBuffer] : []));
  });
  port.postMessage({ ready: true } satisfies ReplicaReady);
}

// Inert unless started by TrainingReplicas (e.g. when a test runner imports every compiled module).
const init = workerData as ReplicaInit | undefined;
if (!isMainThread && parentPort !== null && init?.kind === REPLICA_KIND) void serve(init, parentPort);
