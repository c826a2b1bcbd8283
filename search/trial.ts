// A trial: genotype -> child NASNet -> proxy training -> reward (PAPER §3 and App. A: children of N = 2 normal
// cells per stack trained 20 epochs on CIFAR-10 with cosine decay; the reward is the accuracy on a validation
// split held out of the training set). Ours: N, F and the epochs are flags (a few-minute budget on a CPU);
// the child is the CIFAR-style network of backbones/ (3x3/1 stem of 3F filters, 32 x 32 input, no aux head,
// no drop path: a short run does not need them), trained by trainClassifier with momentum SGD and one cosine
// period over the run; the reward is top-1 on `holdOut` training images held out by a fixed split, or, with
// holdOut 0, on DIR's `val` split (which `nasnet data digits` holds out of its training images; with CIFAR-10
// binaries `val` is the test batch, so use --holdout there).
// The child checkpoints into the trial's folder, so a retried trial resumes its own training.
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { NasnetError } from '../core/errors.js';
import { trainClassifier } from '../backbones/classification_training.js';
import { minInputSize } from '../backbones/config.js';
import { decisionsToGenotype } from './decisions.js';

export interface ProxyTask {
  /** An image folder (train/, val/), CIFAR-10 binaries or a synthetic set (data/classification_source.ts). */
  readonly data: string;
  readonly epochs: number;
  /** N: normal cells per stack. */
  readonly cells: number;
  /** F: filters of the first stack (penultimate = 24 F, so F is a multiple of 4). */
  readonly filters: number;
  readonly batchSize: number;
  readonly learningRate: number;
  readonly imageSize: number;
  /** Reward on this many training images held out by a fixed split (PAPER: 5,000 of CIFAR-10's 50,000); 0 = DIR's val split. */
  readonly holdOut: number;
}

export const DEFAULT_PROXY: Omit<ProxyTask, 'data'> = { epochs: 1, cells: 1, filters: 4, batchSize: 32, learningRate: 0.05, imageSize: 32, holdOut: 0 };

export interface TrialSpec {
  readonly id: string;
  readonly index: number;
  readonly seed: number;
  readonly decisions: readonly number[];
  readonly proxy: ProxyTask;
  /** The trial's working folder (child checkpoint, logs). */
  readonly dir: string;
}

export interface TrialOutcome {
  readonly reward: number;
  readonly metrics: Readonly<Record<string, number>>;
}

/** What trains a child: the real proxy trainer below, or a fake one in tests. Runs in a worker. */
export type TrialTrainer = (spec: TrialSpec) => Promise<TrialOutcome>;

export function resolveProxyTask(partial: Partial<ProxyTask> & { data: string }): ProxyTask {
  const proxy = { ...DEFAULT_PROXY, ...partial };
  if (typeof proxy.data !== 'string' || proxy.data === '') throw new NasnetError('INVALID_CONFIG', 'proxy.data must be a dataset path', { field: 'data' });
  for (const field of ['epochs', 'cells', 'filters', 'batchSize', 'imageSize'] as const) {
    if (!Number.isInteger(proxy[field]) || proxy[field] < 1) throw new NasnetError('INVALID_CONFIG', `proxy.${field} must be a positive integer; received ${proxy[field]}`, { field });
  }
  if (!Number.isInteger(proxy.holdOut) || proxy.holdOut < 0) throw new NasnetError('INVALID_CONFIG', `proxy.holdOut must be an integer >= 0; received ${proxy.holdOut}`, { field: 'holdOut' });
  if (proxy.filters % 4 !== 0) throw new NasnetError('INVALID_CONFIG', `proxy.filters (F) must be a multiple of 4 (penultimate filters 24 F must be a multiple of 96); received ${proxy.filters}`, { field: 'filters' });
  const minSize = minInputSize('cifar');
  if (proxy.imageSize < minSize) throw new NasnetError('INVALID_CONFIG', `proxy.imageSize must be >= ${minSize} (the child's total stride); received ${proxy.imageSize}`, { field: 'imageSize' });
  if (!(proxy.learningRate > 0)) throw new NasnetError('INVALID_CONFIG', `proxy.learningRate must be > 0; received ${proxy.learningRate}`, { field: 'learningRate' });
  return proxy;
}

/** The child network's backbone for a proxy task (also what `nasnet train --genotype` starts from). */
export function childBackbone(proxy: ProxyTask, genotype = decisionsToGenotype(new Array(50).fill(0))) {
  return {
    preset: 'cifar' as const,
    genotype,
    numCells: proxy.cells,
    penultimateFilters: 24 * proxy.filters,
    stemFilters: 3 * proxy.filters,
    inputSize: proxy.imageSize,
    auxHead: false,
    dropPathKeepProb: 1,
  };
}

const quiet = (): Writable => new Writable({ write: (_chunk, _enc, done) => done() });

/** The real trainer: trains the child on the proxy task and returns its validation accuracy. */
export const trainTrial: TrialTrainer = async (spec) => {
  const started = performance.now();
  const genotype = decisionsToGenotype(spec.decisions, spec.id);
  const { proxy } = spec;
  const result = await trainClassifier({
    data: proxy.data,
    out: join(spec.dir, 'child'),
    backbone: childBackbone(proxy, genotype),
    epochs: proxy.epochs,
    batchSize: proxy.batchSize,
    optimizer: 'momentum',
    learningRate: proxy.learningRate,
    schedule: 'cosine',
    warmupSteps: 0,
    labelSmoothing: 0,
    augment: { pad: 0, flipProbability: 0 },
    seed: spec.seed,
    valLimit: 0,
    holdOut: proxy.holdOut,
  }, { stream: quiet() });
  const last = result.state.history[result.state.history.length - 1];
  const reward = last?.validation.val_accuracy;
  if (reward === undefined || !Number.isFinite(reward)) throw new NasnetError('INTERNAL', `trial ${spec.id}: training ended without a validation accuracy`);
  return { reward, metrics: { val_accuracy: reward, val_loss: last!.validation.val_loss ?? NaN, train_loss: last!.train.loss ?? NaN, seconds: (performance.now() - started) / 1000 } };
};
