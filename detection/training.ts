// Detection training: the TrainingTask that runTraining (src/core/training/loop.ts) drives for a Faster
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
import { evaluateCoco } from '../eval/evaluate_coco.js';
import type { CocoDataset, CocoResult } from '../eval/types.js';
import { loadCheckpoint, readCheckpointManifest, saveCheckpoint } from '../src/core/checkpoint.js';
import { NasnetError } from '../src/core/errors.js';
import { createPrng } from '../src/core/prng.js';
import { learningRateAt, type LrSchedule } from '../src/core/training/lr_schedule.js';
import type { TrainingState, TrainingTask } from '../src/core/training/loop.js';
import { Optimizer, type TrainableVariable } from '../src/core/training/optimizers.js';
import { batchesPerEpoch } from '../src/data/batcher.js';
import type { DetectionDataset } from '../src/data/coco_dataset.js';
import { detectionBatches, type DetectionBatch, type TrainImageMeta } from '../src/data/detection_batcher.js';
import { deriveSeed } from '../src/data/seed.js';
import type { Window } from './box_ops.js';
import { toCocoXywh } from './box_ops.js';
import { FasterRcnn, type GroundTruth } from './faster_rcnn.js';
import type { FasterRcnnConfig } from './faster_rcnn_config.js';
import type { LossName } from './losses.js';
import { setBatchNormMomentum } from '../cells/keras_layers.js';

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
}

export const OPTIMIZER_PREFIX = 'optimizer/';

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
  private readonly nameOf: Map<string, string>;

  constructor(private readonly options: DetectionTrainingOptions) {
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
    this.trainables = this.model.variables().filter((v) => v.trainable).map(({ name, variable }) => ({ name, variable }));
    this.nameOf = new Map(this.trainables.map((t) => [t.variable.name, t.name]));
  }

  async *batches(epoch: number, skip: number): AsyncIterable<NetworkBatch> {
    const o = this.options;
    const size = this.model.config.imageSize;
    const augment = { scaleRange: o.scaleRange, flipProbability: o.flipProbability };
    const options = { batchSize: o.batchSize, seed: o.seed, shuffle: true, dropLast: true, shortSide: size, maxSide: size, augment };
    for await (const batch of detectionBatches(o.train, options, epoch, skip)) yield await toNetworkBatch(batch, size);
  }

  async trainStep(batch: NetworkBatch, globalStep: number): Promise<Record<string, number>> {
    const weights = this.model.config.lossWeights;
    const prng = createPrng(deriveSeed(this.options.seed, 0x5a3, globalStep));
    let losses: Record<LossName, tf.Scalar> | undefined;
    const { value, grads } = tf.variableGrads(() => {
      losses = this.model.losses(batch.images, batch.groundTruth, batch.windows, prng);
      for (const loss of Object.values(losses)) tf.keep(loss);
      return tf.addN(Object.entries(losses).map(([name, loss]) => tf.mul(loss, weights[name as LossName]))) as tf.Scalar;
    }, this.trainables.map((t) => t.variable));
    const byName = Object.fromEntries(Object.entries(grads).map(([name, g]) => [this.nameOf.get(name)!, g]));
    this.optimizer.apply(this.trainables, byName, learningRateAt(this.schedule, globalStep));
    const out: Record<string, number> = { loss: (await value.data())[0]! };
    for (const [name, loss] of Object.entries(losses!)) out[name] = (await loss.data())[0]!;
    tf.dispose([value, ...Object.values(grads), ...Object.values(losses!)]);
    return out;
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
    this.optimizer.dispose();
    this.model.dispose();
  }
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
