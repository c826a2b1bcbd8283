// Detection training: the TrainingTask that runTraining (core/training/loop.ts) drives for a Faster
// R-CNN. Batches come from the data layer (scale jitter <= 1 and horizontal flip, zero-padded to the
// fixed network input), each step runs the forward pass and the weighted loss sum under tf.variableGrads
// and applies momentum SGD with a linear warm-up and step decay (spec/nasnet.md 5.2: momentum 0.9, global
// norm clip 10). Checkpoints hold the weights, the optimizer's slots and the loop state, so a run killed
// at any point resumes exactly. Validation runs the detector on the validation set and scores it with
// the COCO evaluator (eval/).
//
// Shape shorthand: N = batch, S = network input side, h, w = padded batch size from the batcher (<= S).
import { readFile } from 'node:fs/promises';
import * as tf from '@tensorflow/tfjs-core';
import { evaluateCoco, type CocoDataset, type CocoResult } from 'pycocotools-js';
import { loadCheckpoint, readCheckpointManifest, saveCheckpoint } from '../core/checkpoint.js';
import { NasnetError } from '../core/errors.js';
import { createPrng } from '../core/prng.js';
import { learningRateAt, type LrSchedule } from '../core/training/lr_schedule.js';
import type { TrainingState, TrainingTask } from '../core/training/loop.js';
import { Optimizer, type TrainableVariable } from '../core/training/optimizers.js';
import { batchesPerEpoch } from '../data/batcher.js';
import type { DetectionDataset } from '../data/coco_dataset.js';
import { detectionBatches, type DetectionBatch, type TrainImageMeta } from '../data/detection_batcher.js';
import { deriveSeed } from '../data/seed.js';
import type { Window } from './box_ops.js';
import { toCocoXywh } from './box_ops.js';
import { FasterRcnn, type GroundTruth } from './faster_rcnn.js';
import type { FasterRcnnConfig } from './faster_rcnn_config.js';
import { setBatchNormMomentum } from '../cells/keras_layers.js';
import { initializeWeights } from '../backbones/weight_init.js';
import { currentEngine } from '../core/engine.js';
import { shardGradients, shardSamplerSeed, type ShardGradients } from './shard_gradients.js';
import { assignPacked, batchNormStatistics, packTensors, TrainingReplicas, type ReplicaJob, type ReplicaResult } from './training_replicas.js';

export interface DetectionTrainingOptions {
  readonly model: Partial<FasterRcnnConfig>;
  readonly train: DetectionDataset;
  /** Validation set (mAP each epoch); `valLimit` keeps its first images only. */
  readonly val?: DetectionDataset;
  readonly valLimit?: number;
  readonly checkpointDir: string;
  readonly epochs: number;
  readonly batchSize: number;
  /** Peak learning rate, after `warmupSteps`; x0.1 at each of `decayEpochs`. */
  readonly learningRate: number;
  readonly warmupSteps: number;
  readonly decayEpochs: readonly number[];
  readonly momentum: number;
  readonly weightDecay: number;
  readonly clipGlobalNorm: number;
  /** Scale jitter range (<= 1: the jittered image must fit the fixed input) and flip probability. */
  readonly scaleRange: readonly [number, number];
  readonly flipProbability: number;
  /** Data order, augmentation and sampler seed (the model's init seed is `model.seed`). */
  readonly seed: number;
  /** Training batches whose BN statistics replace the moving averages before each validation (0 = off). */
  readonly preciseBatchNormBatches?: number;
  /** Called before the first step with the model, e.g. to load ImageNet backbone weights. */
  readonly initialize?: (model: FasterRcnn) => Promise<void>;
  /**
   * Data-parallel replicas (default 1): the batch is split into this many equal shards, shard 0 runs on
   * this thread and the others on worker threads (training_replicas.ts). Must divide `batchSize`.
   */
  readonly workers?: number;
}

export const OPTIMIZER_PREFIX = 'optimizer/';

/** deriveSeed stream of the backbone's initial weights (with the model seed and the stage index). */
const BACKBONE_INIT_STREAM = 0x1a17;

/** One training batch in the network frame: images [N,S,S,3], gt boxes normalised to S. */
export interface NetworkBatch {
  readonly images: tf.Tensor4D;
  readonly groundTruth: readonly GroundTruth[];
  /** Where each (unpadded) image lies in the input. */
  readonly windows: readonly Window[];
  readonly metas: readonly TrainImageMeta[];
  dispose(): void;
}

/** Pads a batcher batch (h x w <= S) to S x S; boxes normalised to h x w are rescaled to S. */
export async function toNetworkBatch(batch: DetectionBatch, size: number): Promise<NetworkBatch> {
  const [, h, w] = batch.images.shape;
  if (h > size || w > size) {
    batch.dispose();
    throw new NasnetError('INVALID_DATA', `toNetworkBatch: a ${h}x${w} batch does not fit the ${size}x${size} input (scale jitter must be <= 1)`);
  }
  const images = tf.pad(batch.images, [[0, 0], [0, size - h], [0, size - w], [0, 0]]) as tf.Tensor4D;
  const groundTruth: GroundTruth[] = [];
  for (const t of batch.targets) {
    const boxes = (await t.boxes.data()) as Float32Array;
    groundTruth.push({ boxes: boxes.map((v, k) => (v * (k % 2 === 0 ? h : w)) / size), labels: (await t.labels.data()) as Int32Array });
  }
  const windows = batch.metas.map((m): Window => [0, 0, m.resizedHeight / size, m.resizedWidth / size]);
  const metas = batch.metas.map((m) => ({ ...m, inputWidth: size, inputHeight: size }));
  batch.dispose();
  return { images, groundTruth, windows, metas, dispose: () => images.dispose() };
}

/** Detections of a batch as COCO results (original-image pixels, category ids of the dataset). */
export async function detectBatch(model: FasterRcnn, batch: NetworkBatch, labelToCategoryId: readonly number[]): Promise<CocoResult[]> {
  const detections = await model.detect(batch.images, batch.windows);
  return detections.flatMap((d, n) => {
    const meta = batch.metas[n]!;
    const xywh = toCocoXywh(d.boxes, meta);
    return Array.from(d.scores, (score, i) => ({
      image_id: meta.imageId,
      category_id: labelToCategoryId[d.labels[i]!]!,
      bbox: Array.from(xywh.subarray(4 * i, 4 * i + 4), (v) => Math.round(v * 100) / 100),
      score: Math.round(score * 1e5) / 1e5,
    }));
  });
}

/** The COCO GT document of a dataset's first `limit` images (for evaluateCoco). */
export async function groundTruthSubset(dataset: DetectionDataset, limit: number): Promise<CocoDataset> {
  const document = JSON.parse(await readFile(dataset.annotationFile, 'utf8')) as CocoDataset;
  const ids = new Set(dataset.records.slice(0, limit).map((r) => r.imageId));
  return { ...document, images: document.images.filter((i) => ids.has(i.id)), annotations: document.annotations.filter((a) => ids.has(a.image_id)) };
}

/** Mean AP / AP50 of `model` on the first `limit` images of `dataset` (batch 1, no augmentation). */
export async function evaluateDetector(model: FasterRcnn, dataset: DetectionDataset, limit: number): Promise<{ AP: number; AP50: number; lines: string[] }> {
  const size = model.config.imageSize;
  const subset: DetectionDataset = { ...dataset, records: dataset.records.slice(0, limit) };
  const results: CocoResult[] = [];
  for await (const raw of detectionBatches(subset, { batchSize: 1, seed: 0, shuffle: false, shortSide: size, maxSide: size }, 0)) {
    const batch = await toNetworkBatch(raw, size);
    try {
      results.push(...(await detectBatch(model, batch, dataset.labelToCategoryId)));
    } finally {
      batch.dispose();
    }
  }
  const { stats, lines } = evaluateCoco(await groundTruthSubset(dataset, limit), results, { allowEmptyResults: true });
  return { AP: stats[0]!, AP50: stats[1]!, lines };
}

async function checkpointExists(dir: string): Promise<boolean> {
  return readCheckpointManifest(dir).then(
    () => true,
    (error: unknown) => {
      if (error instanceof NasnetError && (error.code === 'CHECKPOINT_INVALID' || error.code === 'IO_ERROR')) return false;
      throw error;
    },
  );
}

export class DetectionTrainingTask implements TrainingTask<NetworkBatch> {
  readonly epochs: number;
  readonly stepsPerEpoch: number;
  readonly model: FasterRcnn;
  private readonly optimizer: Optimizer;
  private readonly schedule: LrSchedule;
  private readonly trainables: TrainableVariable[];
  /** Every variable in FasterRcnn.variables() order (what replicas receive), and the BN moving statistics. */
  private readonly allVariables: tf.Variable[];
  private readonly statistics: tf.Variable[];
  private readonly workers: number;
  private replicas: Promise<TrainingReplicas> | undefined;

  constructor(private readonly options: DetectionTrainingOptions) {
    this.workers = options.workers ?? 1;
    if (!Number.isInteger(this.workers) || this.workers < 1 || options.batchSize % this.workers !== 0) {
      throw new NasnetError('INVALID_ARGUMENT', `workers must be a positive integer that divides the batch size ${options.batchSize}; received ${this.workers}`, { field: 'workers' });
    }
    this.model = new FasterRcnn({ ...options.model, numClasses: options.train.categories.length });
    this.epochs = options.epochs;
    this.stepsPerEpoch = batchesPerEpoch(options.train.records.length, options.batchSize, true);
    this.optimizer = new Optimizer({ kind: 'momentum', momentum: options.momentum, weightDecay: options.weightDecay, clipGlobalNorm: options.clipGlobalNorm });
    this.schedule = {
      kind: 'step',
      lr: options.learningRate,
      boundaries: options.decayEpochs.map((e) => Math.round(e * this.stepsPerEpoch)),
      factor: 0.1,
      warmupSteps: options.warmupSteps,
    };
    const variables = this.model.variables();
    this.trainables = variables.filter((v) => v.trainable).map(({ name, variable }) => ({ name, variable }));
    this.allVariables = variables.map((v) => v.variable);
    this.statistics = batchNormStatistics(variables).map((v) => v.variable);
  }

  async *batches(epoch: number, skip: number): AsyncIterable<NetworkBatch> {
    const o = this.options;
    const size = this.model.config.imageSize;
    const augment = { scaleRange: o.scaleRange, flipProbability: o.flipProbability };
    const options = { batchSize: o.batchSize, seed: o.seed, shuffle: true, dropLast: true, shortSide: size, maxSide: size, augment };
    for await (const batch of detectionBatches(o.train, options, epoch, skip)) yield await toNetworkBatch(batch, size);
  }

  async trainStep(batch: NetworkBatch, globalStep: number): Promise<Record<string, number>> {
    const { grads, losses } = await this.gradients(batch, globalStep);
    try {
      this.optimizer.apply(this.trainables, grads, learningRateAt(this.schedule, globalStep));
    } finally {
      tf.dispose(Object.values(grads));
    }
    return losses;
  }

  /**
   * The step's gradients (caller disposes) and losses; BatchNorm statistics are updated. With several
   * workers: the means over the shards, shard 0 on this thread while the worker threads compute the
   * others from the same weights.
   */
  async gradients(batch: NetworkBatch, globalStep: number): Promise<ShardGradients> {
    if (this.workers === 1) return shardGradients(this.model, this.trainables, batch, shardSamplerSeed(this.options.seed, globalStep, 0));
    this.replicas ??= TrainingReplicas.start(this.workers - 1, { model: this.model.config, backend: currentEngine()?.backend ?? 'wasm' });
    const replicas = await this.replicas;
    const weights = packTensors(this.allVariables);
    const n = batch.images.shape[0] / this.workers;
    const [, size, , channels] = batch.images.shape;
    const pixels = (await batch.images.data()) as Float32Array;
    const jobs: ReplicaJob[] = Array.from({ length: this.workers - 1 }, (_, k) => {
      const first = (k + 1) * n;
      return {
        weights,
        images: pixels.slice(first * size * size * channels, (first + n) * size * size * channels),
        shape: [n, size, size, channels],
        groundTruth: batch.groundTruth.slice(first, first + n),
        windows: batch.windows.slice(first, first + n),
        samplerSeed: shardSamplerSeed(this.options.seed, globalStep, k + 1),
      };
    });
    const remote = replicas.run(jobs);
    // Handled below; this keeps a replica failure from going unhandled when shard 0 throws first.
    remote.catch(() => undefined);
    const images = tf.slice(batch.images, [0, 0, 0, 0], [n, -1, -1, -1]);
    let local: ShardGradients;
    try {
      local = await shardGradients(this.model, this.trainables, { images, groundTruth: batch.groundTruth.slice(0, n), windows: batch.windows.slice(0, n) }, shardSamplerSeed(this.options.seed, globalStep, 0));
    } finally {
      images.dispose();
    }
    let results: ReplicaResult[];
    try {
      results = await remote;
    } catch (error) {
      tf.dispose(Object.values(local.grads));
      throw error;
    }
    assignPacked(this.statistics, meanOf([packTensors(this.statistics), ...results.map((r) => r.statistics)]));
    const losses = Object.fromEntries(Object.entries(local.losses).map(([name, value]) => [name, results.reduce((sum, r) => sum + r.losses[name]!, value) / this.workers]));
    return { grads: averageGradients(local.grads, results, this.trainables), losses };
  }

  /**
   * Precise BatchNorm (Wu & Johnson 2021, "Rethinking 'Batch' in BatchNorm", section 3): replaces the
   * moving statistics by the plain average of the batch statistics of `count` training batches of
   * `epoch`. A moving average over a few hundred steps of a model that is still changing lags behind
   * its weights; inference with such statistics is far worse than the training losses suggest.
   */
  async recomputeBatchNormStatistics(epoch: number, count: number): Promise<void> {
    if (this.model.config.frozenBatchNorm || count < 1) return;
    const models = this.model.backboneModels;
    let k = 0;
    try {
      for await (const batch of this.batches(epoch, 0)) {
        // momentum k/(k+1) makes the moving value the running mean of the k+1 batch values seen so far.
        for (const model of models) setBatchNormMomentum(model, k / (k + 1));
        const prng = createPrng(deriveSeed(this.options.seed, 0xb4, k));
        try {
          tf.tidy(() => {
            this.model.losses(batch.images, batch.groundTruth, batch.windows, prng);
          });
        } finally {
          batch.dispose();
        }
        if (++k >= count) break;
      }
    } finally {
      for (const model of models) setBatchNormMomentum(model, this.model.config.batchNormMomentum);
    }
  }

  async validate(epoch = 0): Promise<Record<string, number>> {
    await this.recomputeBatchNormStatistics(epoch, this.options.preciseBatchNormBatches ?? 0);
    if (this.options.val === undefined) return {};
    const { AP, AP50 } = await evaluateDetector(this.model, this.options.val, this.options.valLimit ?? this.options.val.records.length);
    return { AP, AP50 };
  }

  async save(state: TrainingState): Promise<void> {
    const weights = new Map<string, tf.Tensor>(this.model.variables().map((v) => [v.name, v.variable]));
    for (const { name, tensor } of this.optimizer.state()) weights.set(`${OPTIMIZER_PREFIX}${name}`, tensor);
    await saveCheckpoint(this.options.checkpointDir, { config: { model: this.model.config, task: 'detection' }, weights, extra: { state } });
  }

  async restore(): Promise<TrainingState | undefined> {
    if (!(await checkpointExists(this.options.checkpointDir))) {
      // tfjs-layers draws the backbone's initial weights unseeded; redraw them from the model seed so that
      // a run is reproducible from its command (the RPN and box head are seeded at construction).
      this.model.backboneModels.forEach((m, k) => initializeWeights(m, deriveSeed(this.model.config.seed, BACKBONE_INIT_STREAM, k)));
      await this.options.initialize?.(this.model);
      return undefined;
    }
    const loaded = await loadCheckpoint(this.options.checkpointDir);
    try {
      assignWeights(this.model, loaded.weights);
      const slots = new Map([...loaded.weights].filter(([name]) => name.startsWith(OPTIMIZER_PREFIX)).map(([name, t]) => [name.slice(OPTIMIZER_PREFIX.length), t]));
      this.optimizer.loadState(this.trainables, slots);
    } finally {
      tf.dispose([...loaded.weights.values()]);
    }
    return (loaded.extra as { state: TrainingState }).state;
  }

  dispose(): void {
    void this.replicas?.then((r) => r.terminate(), () => undefined);
    this.optimizer.dispose();
    this.model.dispose();
  }
}

/** Element-wise mean of equally long arrays. */
function meanOf(arrays: readonly Float32Array[]): Float32Array {
  const out = new Float32Array(arrays[0]!.length);
  for (let i = 0; i < out.length; i++) {
    let sum = 0;
    for (const a of arrays) sum += a[i]!;
    out[i] = sum / arrays.length;
  }
  return out;
}

/**
 * The mean of the local gradients (disposed here) and the replicas' per variable, over the replicas that
 * have one (every shard runs the same graph, so all do unless a loss term is absent everywhere).
 */
function averageGradients(local: Record<string, tf.Tensor>, results: readonly ReplicaResult[], trainables: readonly TrainableVariable[]): Record<string, tf.Tensor> {
  const shapes = new Map(trainables.map((t) => [t.name, t.variable.shape]));
  const parts = new Map<string, tf.Tensor[]>(Object.entries(local).map(([name, g]) => [name, [g]]));
  return tf.tidy(() => {
    for (const result of results) {
      let offset = 0;
      for (const name of result.gradNames) {
        const shape = shapes.get(name)!;
        const size = shape.reduce((a, b) => a * b, 1);
        const list = parts.get(name) ?? [];
        list.push(tf.tensor(result.grads.subarray(offset, offset + size), shape, 'float32'));
        parts.set(name, list);
        offset += size;
      }
    }
    const out = Object.fromEntries([...parts].map(([name, list]) => [name, tf.div(tf.addN(list), list.length)]));
    tf.dispose(Object.values(local));
    return out;
  });
}

/** Copies checkpoint weights into the model; every model weight must be present with its shape. */
export function assignWeights(model: FasterRcnn, weights: ReadonlyMap<string, tf.Tensor>): void {
  const problems: string[] = [];
  for (const { name, variable } of model.variables()) {
    const value = weights.get(name);
    if (value === undefined) problems.push(`missing ${name}`);
    else if (value.shape.join('x') !== variable.shape.join('x')) problems.push(`${name}: checkpoint [${value.shape}] vs model [${variable.shape}]`);
  }
  if (problems.length > 0) {
    throw new NasnetError('WEIGHTS_MISMATCH', `the checkpoint does not fit the detector: ${problems.slice(0, 5).join('; ')}${problems.length > 5 ? ` (+${problems.length - 5} more)` : ''}`, {
      problems,
    });
  }
  for (const { name, variable } of model.variables()) variable.assign(weights.get(name)!);
}
