// NASNet classification training: the TrainingTask that runTraining (core/training/loop.ts) drives.
// Each step runs the network in training mode (BatchNorm on batch statistics, ScheduledDropPath on with
// keep probability scheduled by training progress) under tf.variableGrads, takes label-smoothed softmax
// cross-entropy of the logits plus auxWeight x that of the aux head, and applies momentum SGD or TF1
// RMSProp with L2 on kernels and global-norm clipping. Validation (top-1, inference mode) and a checkpoint
// close every epoch.
//
// Checkpoints are classifier artifacts (src/api/classifier.ts, 'nasnet-ts/classifier@1'): `nasnet classify
// --weights <out>` runs them directly. What only training needs, the aux head's weights and the optimizer's
// slots, is stored under TRAINING_STATE_PREFIX, which the classifier ignores; the loop state is in `extra`.
//
// Determinism: weights are drawn from `seed` (weight_init.ts), the data order and augmentation depend on
// (seed, epoch), and the drop-path masks on (seed, global step), so a resumed run repeats an uninterrupted
// one step for step.
//
// Shape shorthand: N batch, S input side, K classes; images [N,S,S,3], labels [N] int32, logits [N,K].
import { readdir } from 'node:fs/promises';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { TRAINING_STATE_PREFIX, classifierArtifactConfig, type ClassifierArtifactConfig } from './classifier_artifact.js';
import { loadCheckpoint, saveCheckpoint } from '../core/checkpoint.js';
import { NasnetError } from '../core/errors.js';
import { runTraining, type TrainingState, type TrainingTask } from '../core/training/loop.js';
import { learningRateAt, type LrSchedule } from '../core/training/lr_schedule.js';
import { Optimizer, type TrainableVariable } from '../core/training/optimizers.js';
import { batchesPerEpoch, classificationBatches, type ClassificationBatch } from '../data/batcher.js';
import { holdOutSplit, openClassificationData, type ClassificationSource } from '../data/classification_source.js';
import { deriveSeed } from '../data/seed.js';
import { setDropPathProgress } from '../cells/drop_path.js';
import {
  backbonePartial, resolveClassificationTraining, type ClassificationTrainingInput, type ClassificationTrainingOptions,
} from './classification_training_config.js';
import { resolveNasnetConfig, type NasnetConfig } from './config.js';
import { buildNasnet, type NasnetNetwork } from './nasnet.js';
import { initializeWeights } from './weight_init.js';

const OPTIMIZER_PREFIX = `${TRAINING_STATE_PREFIX}optimizer/`;
/** Random streams of the model (the data layer's streams are tagged 1..4 in data/seed.ts). */
const STREAM = { INIT: 101, DROP_PATH: 102 } as const;

/** Mean softmax cross-entropy of `logits` [N,K] against int labels [N], labels smoothed as TF does. */
export function classificationLoss(logits: tf.Tensor, labels: tf.Tensor, labelSmoothing: number): tf.Scalar {
  return tf.tidy(() => {
    const onehot = tf.oneHot(labels as tf.Tensor1D, logits.shape[1] as number);
    return tf.losses.softmaxCrossEntropy(onehot, logits, undefined, labelSmoothing) as tf.Scalar;
  });
}

/** How many rows of `logits` have their arg-max at the label. */
function correctCount(logits: tf.Tensor, labels: tf.Tensor): tf.Scalar {
  return tf.tidy(() => tf.sum(tf.cast(tf.equal(tf.argMax(logits, 1), tf.cast(labels, 'int32')), 'float32')));
}

/** The classifier logits and (with an aux head) the aux logits of a model output. */
function splitOutputs(outputs: tf.Tensor | tf.Tensor[]): [tf.Tensor, tf.Tensor | undefined] {
  return Array.isArray(outputs) ? [outputs[0] as tf.Tensor, outputs[1]] : [outputs, undefined];
}

interface ModelVariable extends TrainableVariable {
  /** Name in the checkpoint: the Keras name, under TRAINING_STATE_PREFIX for the aux head. */
  readonly stored: string;
  readonly trainable: boolean;
}

/** Every weight of the model with its checkpoint name; weights that the classifier (output 0) does not use are training state. */
function modelVariables(model: tfl.LayersModel): ModelVariable[] {
  // A model over the same layers with the first output only: its weights are the classifier's.
  const classifier = tfl.model({ inputs: model.inputs, outputs: model.outputs[0]! });
  const kept = new Set(classifier.weights.map((w) => w.originalName));
  return model.weights.map((w) => ({
    name: w.originalName,
    stored: kept.has(w.originalName) ? w.originalName : `${TRAINING_STATE_PREFIX}${w.originalName}`,
    variable: w.read() as tf.Variable,
    trainable: w.trainable,
  }));
}

/** The backbone a run trains: the requested one with the data's classes and logits out. */
export function trainingBackbone(options: ClassificationTrainingOptions, classes: number): NasnetConfig {
  const partial = backbonePartial(options.backbone);
  if (partial.classes !== undefined && partial.classes !== classes) {
    throw new NasnetError('INVALID_CONFIG', `trainClassifier: backbone.classes is ${partial.classes} but ${options.data} has ${classes} classes`, { field: 'backbone.classes' });
  }
  return resolveNasnetConfig({ ...partial, classes, includeTop: true, classifierActivation: 'linear' });
}

async function isEmptyDirectory(dir: string): Promise<boolean> {
  const entries = await readdir(dir).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return [];
    throw new NasnetError('IO_ERROR', `trainClassifier: cannot read ${dir}: ${error.message}`);
  });
  return entries.length === 0;
}

/** Names the backbone fields that differ between a checkpoint and the requested run. */
function configDifference(saved: unknown, wanted: ClassifierArtifactConfig): string[] {
  const old = (saved ?? {}) as Partial<ClassifierArtifactConfig>;
  if (old.format !== wanted.format) return ['format'];
  const fields = Object.keys(wanted.backbone) as (keyof ClassifierArtifactConfig['backbone'])[];
  const differing = fields.filter((key) => JSON.stringify(old.backbone?.[key]) !== JSON.stringify(wanted.backbone[key])).map((key) => `backbone.${key}`);
  if (JSON.stringify(old.labels) !== JSON.stringify(wanted.labels)) differing.push('labels');
  return differing;
}

export class ClassificationTrainingTask implements TrainingTask<ClassificationBatch> {
  readonly epochs: number;
  readonly stepsPerEpoch: number;
  readonly artifact: ClassifierArtifactConfig;
  private readonly variables: ModelVariable[];
  private readonly trainables: ModelVariable[];
  private readonly nameOf: Map<string, string>;
  private readonly optimizer: Optimizer;
  private readonly schedule: LrSchedule;

  private constructor(
    readonly options: ClassificationTrainingOptions,
    readonly network: NasnetNetwork,
    private readonly train: ClassificationSource,
    private readonly val: ClassificationSource,
  ) {
    this.epochs = options.epochs;
    this.stepsPerEpoch = batchesPerEpoch(train.count, options.batchSize, true);
    if (this.stepsPerEpoch === 0) {
      throw new NasnetError('INVALID_CONFIG', `trainClassifier: batchSize ${options.batchSize} exceeds the ${train.count} training images of ${train.origin}`, { field: 'batchSize' });
    }
    const labels = train.classes.map((name) => ({ wnid: name, label: name }));
    // Training images are stretched with libvips' linear kernel (classification_source.ts); so is inference.
    this.artifact = classifierArtifactConfig(network.config, labels, 'linear');
    this.variables = modelVariables(network.model);
    this.trainables = this.variables.filter((v) => v.trainable);
    this.nameOf = new Map(this.trainables.map((v) => [v.variable.name, v.name]));
    this.optimizer = new Optimizer({
      kind: options.optimizer,
      momentum: options.momentum,
      rmsDecay: options.rmsDecay,
      epsilon: options.rmsEpsilon,
      weightDecay: options.weightDecay,
      ...(options.clipGlobalNorm > 0 ? { clipGlobalNorm: options.clipGlobalNorm } : {}),
    });
    this.schedule = this.lrSchedule();
  }

  /** Opens the data (train and val splits) and builds the network. */
  static async create(input: ClassificationTrainingInput): Promise<ClassificationTrainingTask> {
    const options = resolveClassificationTraining(input);
    const all = await openClassificationData(options.data, 'train');
    const split = options.holdOut > 0 ? holdOutSplit(all, options.holdOut) : undefined;
    const train = split?.train ?? all;
    const opened = split?.heldOut ?? (await openClassificationData(options.data, 'val', train.classes));
    const val = options.valLimit > 0 && opened.count > options.valLimit ? { ...opened, count: options.valLimit } : opened;
    const network = buildNasnet(trainingBackbone(options, train.classes.length));
    return new ClassificationTrainingTask(options, network, train, val);
  }

  /** Class names in label order (the training split's). */
  get classes(): readonly string[] {
    return this.train.classes;
  }

  get totalSteps(): number {
    return this.epochs * this.stepsPerEpoch;
  }

  private lrSchedule(): LrSchedule {
    const { learningRate: lr, warmupSteps } = this.options;
    switch (this.options.schedule) {
      case 'cosine':
        return { kind: 'cosine', lr, totalSteps: this.totalSteps, warmupSteps };
      case 'exponential': {
        const decaySteps = Math.max(1, Math.round(this.options.decayEpochs * this.stepsPerEpoch));
        return { kind: 'exponential', lr, decayRate: this.options.decayRate, decaySteps, staircase: true, warmupSteps };
      }
      case 'constant':
        return { kind: 'constant', lr, warmupSteps };
    }
  }

  learningRate(globalStep: number): number {
    return learningRateAt(this.schedule, globalStep);
  }

  batches(epoch: number, skip: number): AsyncIterable<ClassificationBatch> {
    const { batchSize, seed, augment } = this.options;
    const size = this.network.config.inputSize;
    return classificationBatches(this.train, { batchSize, seed, shuffle: true, dropLast: true, size, augment, normalize: 'tf' }, epoch, skip);
  }

  async trainStep(batch: ClassificationBatch, globalStep: number): Promise<Record<string, number>> {
    const { model } = this.network;
    const { labelSmoothing, auxWeight, seed } = this.options;
    setDropPathProgress(model, globalStep / this.totalSteps, deriveSeed(seed, STREAM.DROP_PATH, globalStep));
    const kept: { main?: tf.Scalar; aux?: tf.Scalar; correct?: tf.Scalar } = {};
    const { value, grads } = tf.variableGrads(() => {
      const [logits, auxLogits] = splitOutputs(model.apply(batch.images, { training: true }) as tf.Tensor | tf.Tensor[]);
      kept.main = tf.keep(classificationLoss(logits, batch.labels, labelSmoothing));
      kept.correct = tf.keep(correctCount(logits, batch.labels));
      if (auxLogits === undefined || auxWeight === 0) return kept.main;
      kept.aux = tf.keep(classificationLoss(auxLogits, batch.labels, labelSmoothing));
      return tf.add(kept.main, tf.mul(kept.aux, auxWeight)) as tf.Scalar;
    }, this.trainables.map((v) => v.variable));
    try {
      const named = Object.fromEntries(Object.entries(grads).map(([name, g]) => [this.nameOf.get(name)!, g]));
      this.optimizer.apply(this.trainables, named, this.learningRate(globalStep));
      const [loss, correct, aux] = await Promise.all([value, kept.correct!, kept.aux].map(async (t) => (t === undefined ? undefined : (await t.data())[0]!)));
      return { loss: loss!, accuracy: correct! / batch.labels.shape[0], ...(aux !== undefined ? { aux_loss: aux } : {}) };
    } finally {
      tf.dispose([value, ...Object.values(grads), ...Object.values(kept)]);
    }
  }

  /** Top-1 accuracy and mean (unsmoothed) cross-entropy on the validation split, inference mode. */
  async validate(): Promise<Record<string, number>> {
    const { model, config } = this.network;
    const options = { batchSize: this.options.batchSize, seed: this.options.seed, shuffle: false, size: config.inputSize, normalize: 'tf' as const };
    let correct = 0;
    let lossSum = 0;
    for await (const batch of classificationBatches(this.val, options, 0)) {
      try {
        const [c, l] = tf.tidy(() => {
          const [logits] = splitOutputs(model.apply(batch.images, { training: false }) as tf.Tensor | tf.Tensor[]);
          return [correctCount(logits, batch.labels), tf.mul(classificationLoss(logits, batch.labels, 0), batch.labels.shape[0])];
        });
        correct += (await c.data())[0]!;
        lossSum += (await l.data())[0]!;
        tf.dispose([c, l]);
      } finally {
        batch.dispose();
      }
    }
    return { val_loss: lossSum / this.val.count, val_accuracy: correct / this.val.count };
  }

  async save(state: TrainingState): Promise<void> {
    const weights = new Map<string, tf.Tensor>(this.variables.map((v) => [v.stored, v.variable]));
    for (const { name, tensor } of this.optimizer.state()) weights.set(`${OPTIMIZER_PREFIX}${name}`, tensor);
    const { backbone: _backbone, ...training } = this.options;
    await saveCheckpoint(this.options.out, { config: this.artifact, weights, extra: { task: 'classification', state, training } });
  }

  /** Loads the checkpoint in `out` when there is one; else draws the initial weights from the seed. */
  async restore(): Promise<TrainingState | undefined> {
    const dir = this.options.out;
    if ((await isEmptyDirectory(dir)) && (await isEmptyDirectory(`${dir}.old`))) {
      initializeWeights(this.network.model, deriveSeed(this.options.seed, STREAM.INIT));
      return undefined;
    }
    const loaded = await loadCheckpoint(dir);
    try {
      const differing = configDifference(loaded.config, this.artifact);
      if (differing.length > 0) {
        throw new NasnetError('INVALID_CONFIG', `trainClassifier: the checkpoint in ${dir} was trained with a different ${differing.join(', ')}; use another --out or the same settings`, { dir, differing });
      }
      const problems = this.variables.flatMap(({ stored, variable }) => {
        const value = loaded.weights.get(stored);
        if (value === undefined) return [`missing ${stored}`];
        return value.shape.join('x') === variable.shape.join('x') ? [] : [`${stored}: checkpoint [${value.shape}] vs model [${variable.shape}]`];
      });
      if (problems.length > 0) {
        throw new NasnetError('WEIGHTS_MISMATCH', `trainClassifier: the checkpoint in ${dir} does not fit the model: ${problems.slice(0, 5).join('; ')}`, { dir, problems });
      }
      for (const { stored, variable } of this.variables) variable.assign(loaded.weights.get(stored)!);
      const slots = new Map([...loaded.weights].filter(([name]) => name.startsWith(OPTIMIZER_PREFIX)).map(([name, t]) => [name.slice(OPTIMIZER_PREFIX.length), t]));
      this.optimizer.loadState(this.trainables, slots);
    } finally {
      tf.dispose([...loaded.weights.values()]);
    }
    const state = (loaded.extra as { state?: TrainingState } | null)?.state;
    if (state === undefined || !Number.isInteger(state.epoch) || !Number.isInteger(state.globalStep)) {
      throw new NasnetError('CHECKPOINT_INVALID', `trainClassifier: ${dir} holds no training state (extra.state); it is not a training checkpoint`, { dir });
    }
    return state;
  }

  dispose(): void {
    this.optimizer.dispose();
    this.network.model.dispose();
  }
}

export interface TrainClassifierRun {
  /** Progress output (default stderr). */
  readonly stream?: NodeJS.WritableStream;
  /** Abort: checkpoint the current step and return. */
  readonly signal?: AbortSignal;
}

export interface TrainClassifierResult {
  readonly checkpoint: string;
  readonly state: TrainingState;
  readonly classes: readonly string[];
  readonly config: NasnetConfig;
}

/** Trains (or resumes) a NASNet classifier on `options.data`, checkpointing into `options.out`. */
export async function trainClassifier(options: ClassificationTrainingInput, run: TrainClassifierRun = {}): Promise<TrainClassifierResult> {
  const task = await ClassificationTrainingTask.create(options);
  try {
    const state = await runTraining(task, { checkpointEverySteps: task.options.checkpointEverySteps, stream: run.stream, signal: run.signal });
    return { checkpoint: task.options.out, state, classes: task.classes, config: task.network.config };
  } finally {
    task.dispose();
  }
}
