// nasnet train --task detection|classification --data DIR --out CKPT [options]
// Trains and checkpoints into --out (atomic saves; rerunning the same command after a kill resumes from
// the last checkpoint with nothing lost). Detection: a COCO-layout set (DIR/annotations/instances_
// {train,val}.json, images in DIR/train, DIR/val: what `nasnet data shapes` writes). `--task
// classification` hands the whole command line to train_classification.ts (its own flags and --help).
import { readFile } from 'node:fs/promises';
import { initEngine, parseEngineRequest } from '../../core/engine.js';
import { EXIT, NasnetError } from '../../core/errors.js';
import { createLogger } from '../../core/logger.js';
import { runTraining } from '../../core/training/loop.js';
import { loadCocoSplit } from '../../data/coco_dataset.js';
import { readKerasWeightsFile } from '../../backbones/keras_h5.js';
import { loadKerasWeightsIntoModel } from '../../backbones/keras_weights.js';
import { SHAPES_DETECTOR_CONFIG, type FasterRcnnConfig } from '../../detection/faster_rcnn_config.js';
import { DetectionTrainingTask, type DetectionTrainingOptions } from '../../detection/training.js';
import { readGenotypeFile } from '../../search/genotype_file.js';
import { cliMain, isDirectRun, parseFlags, runMain, withStopSignal, type CliStreams } from './run.js';

const USAGE = `Usage: nasnet train [--task detection] --data DIR --out CKPT [options]

Options (--task classification has its own: nasnet train --task classification --help):
  --data DIR              dataset root (detection: COCO layout written by \`nasnet data shapes\`)
  --out DIR               checkpoint directory (resumed when it exists)
  --epochs N              (default 12)
  --batch-size N          (default 2)
  --lr X                  peak learning rate after warm-up (default 0.02)
  --warmup N              linear warm-up steps (default 200)
  --decay-epochs A,B      multiply the rate by 0.1 at these epochs (default: 2/3 and 8/9 of --epochs)
  --momentum X            (default 0.9)
  --genotype FILE         backbone cell: a \`nasnet search export\` file (its best cell) or a genotype JSON
  --weight-decay X        L2 on kernels (default 4e-5)
  --seed N                data order, augmentation and sampling (default 0)
  --checkpoint-every N    also checkpoint every N steps inside an epoch (default 50)
  --backend NAME          TensorFlow.js engine: auto, wasm, cpu, tensorflow (env NASNET_BACKEND)

Detection options:
  --config FILE           Faster R-CNN config JSON (fields of FasterRcnnConfig); default: the shapes detector
  --preset NAME           backbone preset: mobile, large (default: from the config)
  --num-cells N --penultimate-filters N --stem-filters N --image-size N    backbone / input overrides
  --box-head cells|two-fc second stage: the remaining NASNet cells (default) or a 2-FC head
  --backbone-weights H5   Keras ImageNet weights (e.g. NASNet-mobile-no-top.h5), loaded before step 1
  --frozen-bn             freeze BatchNorm (statistics and scale/offset)
  --scale-min X           scale jitter range [X, 1] (default 0.75); --flip P flip probability (default 0.5)
  --val-limit N           validation images scored each epoch (default 100)
  --precise-bn N          before validating, set the BN statistics to the average over N training batches
                          (default 10; 0 keeps the moving averages)
  --model-seed N          weight initialisation seed (default 0)
  --workers N             data-parallel replicas, one thread each (default 1; must divide --batch-size):
                          shard 0 runs on the main thread, the others on worker threads
  -h, --help              this text

Exit codes: 0 ok, 2 bad command line, 3 unreadable file, 4 invalid data, 5 bad config, 6 engine unavailable.
`;

const FLAGS = {
  task: { type: 'string' }, data: { type: 'string' }, out: { type: 'string' }, epochs: { type: 'string' },
  'batch-size': { type: 'string' }, lr: { type: 'string' }, warmup: { type: 'string' }, 'decay-epochs': { type: 'string' },
  momentum: { type: 'string' }, 'weight-decay': { type: 'string' }, seed: { type: 'string' }, 'checkpoint-every': { type: 'string' },
  backend: { type: 'string' }, config: { type: 'string' }, preset: { type: 'string' }, 'num-cells': { type: 'string' },
  'penultimate-filters': { type: 'string' }, 'stem-filters': { type: 'string' }, 'image-size': { type: 'string' },
  'box-head': { type: 'string' }, 'backbone-weights': { type: 'string' }, 'frozen-bn': { type: 'boolean' },
  'scale-min': { type: 'string' }, flip: { type: 'string' }, 'val-limit': { type: 'string' }, 'model-seed': { type: 'string' },
  'precise-bn': { type: 'string' }, workers: { type: 'string' }, genotype: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

type Values = Partial<Record<keyof typeof FLAGS, string | boolean>>;

function numberFlag(values: Values, name: keyof typeof FLAGS, fallback: number, check: (v: number) => boolean, expected: string): number {
  const raw = values[name];
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (typeof raw !== 'string' || raw.trim() === '' || !check(value)) {
    throw new NasnetError('INVALID_ARGUMENT', `--${name} must be ${expected}; received ${JSON.stringify(raw)}`, { field: name });
  }
  return value;
}

const int = (values: Values, name: keyof typeof FLAGS, fallback: number, min = 1): number =>
  numberFlag(values, name, fallback, (v) => Number.isInteger(v) && v >= min, `an integer >= ${min}`);
const real = (values: Values, name: keyof typeof FLAGS, fallback: number, min = 0): number =>
  numberFlag(values, name, fallback, (v) => Number.isFinite(v) && v >= min, `a number >= ${min}`);

function required(values: Values, name: keyof typeof FLAGS): string {
  const raw = values[name];
  if (typeof raw !== 'string' || raw === '') throw new NasnetError('INVALID_ARGUMENT', `--${name} is required\n\n${USAGE}`, { field: name });
  return raw;
}

/** The training-loop settings read from flags (the rest of DetectionTrainingOptions comes from the data). */
export type SharedTrainOptions = Pick<
  DetectionTrainingOptions,
  'epochs' | 'batchSize' | 'learningRate' | 'warmupSteps' | 'decayEpochs' | 'momentum' | 'weightDecay' | 'seed'
> & { readonly data: string; readonly out: string; readonly checkpointEverySteps: number };

export function sharedOptions(values: Values): SharedTrainOptions {
  const epochs = int(values, 'epochs', 12);
  const rawDecay = values['decay-epochs'];
  const decayEpochs =
    typeof rawDecay === 'string'
      ? rawDecay.split(',').map((s) => {
          const e = Number(s);
          if (s.trim() === '' || !(e > 0)) throw new NasnetError('INVALID_ARGUMENT', `--decay-epochs must be positive numbers separated by commas; received ${JSON.stringify(rawDecay)}`);
          return e;
        })
      : [(2 * epochs) / 3, (8 * epochs) / 9];
  return {
    data: required(values, 'data'),
    out: required(values, 'out'),
    epochs,
    batchSize: int(values, 'batch-size', 2),
    learningRate: real(values, 'lr', 0.02),
    warmupSteps: int(values, 'warmup', 200, 0),
    decayEpochs,
    momentum: real(values, 'momentum', 0.9),
    weightDecay: real(values, 'weight-decay', 4e-5),
    seed: int(values, 'seed', 0, -2147483648),
    checkpointEverySteps: int(values, 'checkpoint-every', 50, 0),
  };
}

async function detectionModelConfig(values: Values): Promise<Partial<FasterRcnnConfig>> {
  let config: Partial<FasterRcnnConfig> = SHAPES_DETECTOR_CONFIG;
  if (typeof values.config === 'string') {
    const text = await readFile(values.config, 'utf8').catch((error: Error) => {
      throw new NasnetError('IO_ERROR', `cannot read --config ${values.config}: ${error.message}`);
    });
    try {
      config = JSON.parse(text) as Partial<FasterRcnnConfig>;
    } catch (error) {
      throw new NasnetError('INVALID_JSON', `--config ${values.config}: ${(error as Error).message}`);
    }
  }
  const backbone = { preset: 'mobile' as const, ...config.backbone };
  const override = (name: keyof typeof FLAGS): number | undefined => (values[name] === undefined ? undefined : int(values, name, 1));
  const numCells = override('num-cells');
  const penultimateFilters = override('penultimate-filters');
  const stemFilters = override('stem-filters');
  const imageSize = override('image-size');
  const boxHead = values['box-head'];
  if (boxHead !== undefined && boxHead !== 'cells' && boxHead !== 'two-fc') {
    throw new NasnetError('INVALID_ARGUMENT', `--box-head must be cells or two-fc; received ${JSON.stringify(boxHead)}`);
  }
  return {
    ...config,
    backbone: {
      ...backbone,
      ...(typeof values.preset === 'string' ? { preset: values.preset as 'mobile' } : {}),
      ...(numCells !== undefined ? { numCells } : {}),
      ...(penultimateFilters !== undefined ? { penultimateFilters } : {}),
      ...(stemFilters !== undefined ? { stemFilters } : {}),
      ...(typeof values.genotype === 'string' ? { genotype: await readGenotypeFile(values.genotype) } : {}),
    },
    ...(imageSize !== undefined ? { imageSize } : {}),
    ...(boxHead !== undefined ? { boxHead } : {}),
    ...(values['frozen-bn'] === true ? { frozenBatchNorm: true } : {}),
    seed: int(values, 'model-seed', config.seed ?? 0, -2147483648),
  };
}

async function trainDetection(values: Values, io: CliStreams, signal: AbortSignal): Promise<number> {
  const shared = sharedOptions(values);
  const [train, val] = await Promise.all([loadCocoSplit(shared.data, 'train', { keepEmpty: false }), loadCocoSplit(shared.data, 'val')]);
  const weightsFile = values['backbone-weights'];
  const model = await detectionModelConfig(values);
  const scaleMin = real(values, 'scale-min', 0.75);
  if (scaleMin > 1 || scaleMin <= 0) throw new NasnetError('INVALID_ARGUMENT', `--scale-min must be in (0, 1]; received ${scaleMin}`);
  const task = new DetectionTrainingTask({
    model: { ...model, classNames: train.categories.map((c) => c.name), categoryIds: train.categories.map((c) => c.id) },
    train,
    val,
    valLimit: int(values, 'val-limit', 100),
    preciseBatchNormBatches: int(values, 'precise-bn', 10, 0),
    checkpointDir: shared.out,
    epochs: shared.epochs,
    batchSize: shared.batchSize,
    learningRate: shared.learningRate,
    warmupSteps: shared.warmupSteps,
    decayEpochs: shared.decayEpochs,
    momentum: shared.momentum,
    weightDecay: shared.weightDecay,
    clipGlobalNorm: 10,
    scaleRange: [scaleMin, 1],
    flipProbability: real(values, 'flip', 0.5),
    seed: shared.seed,
    workers: int(values, 'workers', 1),
    initialize:
      typeof weightsFile === 'string'
        ? async (detector) => {
            const loaded = loadKerasWeightsIntoModel(detector.backboneModels, await readKerasWeightsFile(weightsFile), { strict: false });
            io.stderr.write(`loaded ${loaded} backbone tensors from ${weightsFile}\n`);
          }
        : undefined,
  });
  try {
    const state = await runTraining(task, { checkpointEverySteps: shared.checkpointEverySteps, stream: io.stderr, signal });
    const last = state.history[state.history.length - 1];
    io.stdout.write(`${JSON.stringify({ checkpoint: shared.out, epoch: state.epoch, globalStep: state.globalStep, last: last ?? null })}\n`);
  } finally {
    task.dispose();
  }
  return EXIT.OK;
}

/** The value of --task (`--task X` or `--task=X`), before strict parsing: each task has its own flags. */
export function taskOf(argv: readonly string[]): string {
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--task') return argv[i + 1] ?? '';
    if (arg.startsWith('--task=')) return arg.slice('--task='.length);
  }
  return 'detection';
}

async function run(argv: string[], io: CliStreams): Promise<number> {
  const task = taskOf(argv);
  if (task === 'classification') return (await import('./train_classification.js')).main(argv, io);
  if (task !== 'detection') throw new NasnetError('INVALID_ARGUMENT', `--task must be detection or classification; received ${JSON.stringify(task)}`);
  const { values } = parseFlags(argv, FLAGS, false);
  if (values.help === true) {
    io.stdout.write(USAGE);
    return EXIT.OK;
  }
  required(values, 'data');
  required(values, 'out');
  await initEngine({ backend: parseEngineRequest(values.backend, process.env), logger: createLogger({ fd: 2, level: 'warn' }) });
  return withStopSignal((signal) => trainDetection(values, io, signal));
}

export const main = cliMain(run);

if (isDirectRun(import.meta.url)) runMain(main);
