// One inference worker thread (run by piscina): initialises its own engine, loads its own copies of
// the classifier and detector once, then answers tasks. Errors come back as data, never as throws, so
// the typed error code survives the thread boundary.
import { parentPort, threadId, workerData } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs-core';
import type { Classifier, Detector } from '../../api/types.js';
import { initEngine } from '../../../core/engine.js';
import { toWireError } from '../../../core/errors.js';
import { loadClassifier, loadDetector } from '../../models/builtin.js';
import type { InferenceOutput, WireError, WorkerInit, WorkerLifecycleMessage, WorkerReply, WorkerStats, WorkerTask } from './protocol.js';

function stats(): WorkerStats {
  const memory = tf.memory();
  return { threadId, numTensors: memory.numTensors, numBytes: memory.numBytes };
}

function announce(message: WorkerLifecycleMessage): void {
  parentPort?.postMessage(message);
}

async function load(init: WorkerInit): Promise<{ classifier: Classifier; detector: Detector } | WireError> {
  try {
    const engine = await initEngine({ backend: init.engine });
    const context = {
      modelsDir: init.modelsDir,
      maxPixels: init.maxPixels,
      engine: engine.backend,
      threads: init.threads,
      classifierEngine: init.classifierEngine,
      calibrate: init.calibrate,
      calibrationImages: init.calibrationImages,
      proposals: init.proposals,
      roiSamplingRatio: init.roiSamplingRatio,
    };
    const classifier = await loadClassifier(init.classifier, context);
    const detector = await loadDetector(init.detector, context);
    announce({ type: 'nasnet-worker-ready', threadId, models: [classifier.info, detector.info], engine });
    return { classifier, detector };
  } catch (error) {
    const wire = toWireError(error);
    announce({ type: 'nasnet-worker-failed', threadId, error: wire });
    return wire;
  }
}

const loaded = await load(workerData as WorkerInit);

async function infer(task: WorkerTask): Promise<InferenceOutput | null> {
  if ('code' in loaded) throw new Error(`models failed to load: ${loaded.message}`);
  switch (task.kind) {
    case 'classify': {
      const result = await loaded.classifier.classify(task.image, { topK: task.topK });
      return { kind: 'classify', ...result };
    }
    case 'detect': {
      const result = await loaded.detector.detect(task.image, { minScore: task.minScore, maxDetections: task.maxDetections });
      return { kind: 'detect', ...result };
    }
    case 'stats':
      return null;
  }
}

export default async function run(task: WorkerTask): Promise<WorkerReply> {
  const start = performance.now();
  try {
    const output = await infer(task);
    return { ok: true, output, inferenceMs: performance.now() - start, stats: stats() };
  } catch (error) {
    return { ok: false, error: toWireError(error), stats: stats() };
  }
}
