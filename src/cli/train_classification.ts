// nasnet train --task classification --data DIR --out CKPT [options]
// Trains a NASNet classifier (backbones/classification_training.ts) and checkpoints into --out after every
// epoch (and every --checkpoint-every steps); rerunning the same command after a kill or Ctrl-C resumes
// from the last checkpoint. The checkpoint is a classifier: `nasnet classify IMG --weights CKPT`.
import { EXIT, NasnetError } from '../../core/errors.js';
import { initEngine, parseEngineRequest } from '../../core/engine.js';
import { createLogger } from '../../core/logger.js';
import {
  DEFAULT_CLASSIFICATION_TRAINING as D, SMALL_CLASSIFIER_BACKBONE as SMALL, resolveClassificationTraining, type BackboneChoice, type ClassificationTrainingInput,
} from '../../backbones/classification_training_config.js';
import { trainClassifier } from '../../backbones/classification_training.js';
import type { NasnetConfig, NasnetPresetName } from '../../backbones/config.js';
import { readGenotypeFile } from '../../search/genotype_file.js';
import { isDirectRun, parseFlags, runMain, cliMain, withStopSignal, definedFields as defined, numberFlag, type CliStreams } from './run.js';

const USAGE = `Usage: nasnet train --task classification --data DIR --out CKPT [options]

Trains a NASNet classifier; --out is resumed when it holds a checkpoint of the same network and classes.
DIR is an image folder (DIR/train/<class>/*, DIR/val/<class>/*, e.g. from \`nasnet data classes\`) or
CIFAR-10 binary batches (data_batch_1..5.bin, test_batch.bin = validation, batches.meta.txt).

Network (default: CIFAR stem, ${SMALL.numCells}@${SMALL.penultimateFilters}, ${SMALL.inputSize}x${SMALL.inputSize}, aux head, drop-path keep 0.6):
  --preset NAME             start from a preset instead: cifar (6@768), mobile, large
  --genotype FILE           the cell: a \`nasnet search export\` file (its best cell) or a genotype JSON
                            (default NASNet-A); any N@F and stem apply
  --stem cifar|imagenet     3x3/1 conv (CIFAR) or 3x3/2 conv + two reduction cells (ImageNet)
  --num-cells N             normal cells per stack
  --penultimate-filters P   final width, a multiple of 96
  --stem-filters N          stem conv width
  --image-size S            input side (>= 32); images are stretched to S x S
  --no-aux-head             no aux head (the aux loss is then off)
  --drop-path-keep K        final ScheduledDropPath keep probability (1 = off)
  --bn-momentum M           BatchNorm moving-average momentum (default 0.9; Keras 0.9997)

Training:
  --epochs N                (default ${D.epochs})
  --batch-size N            (default ${D.batchSize})
  --optimizer NAME          momentum or rmsprop (default ${D.optimizer}; rmsprop: decay ${D.rmsDecay}, eps ${D.rmsEpsilon})
  --lr X                    peak learning rate (default ${D.learningRate})
  --schedule NAME           cosine (one period over the run), exponential, constant (default ${D.schedule})
  --decay-rate X            exponential: factor per period (default ${D.decayRate})
  --decay-epochs X          exponential: period in epochs (default ${D.decayEpochs})
  --warmup N                linear warm-up steps (default ${D.warmupSteps})
  --momentum X              (default ${D.momentum})
  --weight-decay X          L2 on kernels (default ${D.weightDecay})
  --label-smoothing X       (default ${D.labelSmoothing})
  --aux-weight X            aux-head loss weight (default ${D.auxWeight})
  --clip-norm X             global gradient-norm clip, 0 = off (default ${D.clipGlobalNorm})
  --pad N                   random-crop zero padding, 0 = no crop (default ${D.augment.pad})
  --flip P                  horizontal flip probability (default ${D.augment.flipProbability})
  --seed N                  weights, data order, augmentation, drop path (default ${D.seed})
  --checkpoint-every N      also checkpoint every N steps inside an epoch (default ${D.checkpointEverySteps} = epoch ends)
  --val-limit N             validation images scored per epoch, 0 = all (default ${D.valLimit})
  --backend NAME            auto, wasm, cpu, tensorflow (env NASNET_BACKEND)
  -h, --help                this text

Prints progress (loss, accuracy, ETA) on stderr and a JSON summary on stdout.
Exit codes: 0 ok, 2 bad command line, 3 unreadable file, 4 invalid data or checkpoint, 5 bad config, 6 engine unavailable.
`;

const FLAGS = {
  task: { type: 'string' }, data: { type: 'string' }, out: { type: 'string' }, preset: { type: 'string' }, stem: { type: 'string' },
  'num-cells': { type: 'string' }, 'penultimate-filters': { type: 'string' }, 'stem-filters': { type: 'string' },
  'image-size': { type: 'string' }, 'no-aux-head': { type: 'boolean' }, 'drop-path-keep': { type: 'string' },
  'bn-momentum': { type: 'string' }, epochs: { type: 'string' }, 'batch-size': { type: 'string' }, optimizer: { type: 'string' },
  lr: { type: 'string' }, schedule: { type: 'string' }, 'decay-rate': { type: 'string' }, 'decay-epochs': { type: 'string' },
  warmup: { type: 'string' }, momentum: { type: 'string' }, 'weight-decay': { type: 'string' }, 'label-smoothing': { type: 'string' },
  'aux-weight': { type: 'string' }, 'clip-norm': { type: 'string' }, pad: { type: 'string' }, flip: { type: 'string' },
  seed: { type: 'string' }, 'checkpoint-every': { type: 'string' }, 'val-limit': { type: 'string' }, backend: { type: 'string' },
  genotype: { type: 'string' }, help: { type: 'boolean', short: 'h' },
} as const;

type Values = Partial<Record<keyof typeof FLAGS, string | boolean>>;

/** A numeric flag by its declared name (range checks are the resolvers' job). */
const num = (values: Values, name: keyof typeof FLAGS): number | undefined => numberFlag(values, name);

function required(values: Values, name: 'data' | 'out'): string {
  const raw = values[name];
  if (typeof raw !== 'string' || raw === '') throw new NasnetError('INVALID_ARGUMENT', `--${name} is required (nasnet train --task classification --help)`, { field: name });
  return raw;
}

function backboneOf(values: Values): BackboneChoice {
  const stem = values.stem;
  if (stem !== undefined && stem !== 'cifar' && stem !== 'imagenet') {
    throw new NasnetError('INVALID_ARGUMENT', `--stem must be cifar or imagenet; received ${JSON.stringify(stem)}`, { field: 'stem' });
  }
  const overrides: Partial<NasnetConfig> = defined({
    stem: stem as NasnetConfig['stem'] | undefined,
    numCells: num(values, 'num-cells'),
    penultimateFilters: num(values, 'penultimate-filters'),
    stemFilters: num(values, 'stem-filters'),
    inputSize: num(values, 'image-size'),
    auxHead: values['no-aux-head'] === true ? false : undefined,
    dropPathKeepProb: num(values, 'drop-path-keep'),
    bnMomentum: num(values, 'bn-momentum'),
  });
  const base = typeof values.preset === 'string' ? { preset: values.preset as NasnetPresetName } : SMALL;
  return { ...base, ...overrides };
}

/** The trainer's options from the command line (unset flags take the documented defaults). */
export function classificationOptions(values: Values): ClassificationTrainingInput {
  const augment = { pad: num(values, 'pad') ?? D.augment.pad, flipProbability: num(values, 'flip') ?? D.augment.flipProbability };
  return {
    data: required(values, 'data'),
    out: required(values, 'out'),
    backbone: backboneOf(values),
    augment,
    ...defined({
      epochs: num(values, 'epochs'),
      batchSize: num(values, 'batch-size'),
      optimizer: values.optimizer as ClassificationTrainingInput['optimizer'],
      learningRate: num(values, 'lr'),
      schedule: values.schedule as ClassificationTrainingInput['schedule'],
      decayRate: num(values, 'decay-rate'),
      decayEpochs: num(values, 'decay-epochs'),
      warmupSteps: num(values, 'warmup'),
      momentum: num(values, 'momentum'),
      weightDecay: num(values, 'weight-decay'),
      labelSmoothing: num(values, 'label-smoothing'),
      auxWeight: num(values, 'aux-weight'),
      clipGlobalNorm: num(values, 'clip-norm'),
      seed: num(values, 'seed'),
      checkpointEverySteps: num(values, 'checkpoint-every'),
      valLimit: num(values, 'val-limit'),
    }),
  };
}

async function run(argv: string[], io: CliStreams): Promise<number> {
  const { values } = parseFlags(argv, FLAGS, false);
  if (values.help === true) {
    io.stdout.write(USAGE);
    return EXIT.OK;
  }
  if (values.task !== undefined && values.task !== 'classification') {
    throw new NasnetError('INVALID_ARGUMENT', `--task must be classification here; received ${JSON.stringify(values.task)}`, { field: 'task' });
  }
  const input = classificationOptions(values);
  const genotype = typeof values.genotype === 'string' ? await readGenotypeFile(values.genotype) : undefined;
  const options = resolveClassificationTraining(genotype === undefined ? input : { ...input, backbone: { ...(input.backbone as object), genotype } }); // bad values fail before the engine loads
  await initEngine({ backend: parseEngineRequest(values.backend as string | undefined, process.env), logger: createLogger({ fd: 2, level: 'warn' }) });
  await withStopSignal(async (signal) => {
    const result = await trainClassifier(options, { stream: io.stderr, signal });
    const last = result.state.history[result.state.history.length - 1];
    const summary = { checkpoint: result.checkpoint, epoch: result.state.epoch, globalStep: result.state.globalStep, classes: result.classes, last: last ?? null };
    io.stdout.write(`${JSON.stringify(summary)}\n`);
  });
  return EXIT.OK;
}

export const main = cliMain(run);

if (isDirectRun(import.meta.url)) runMain(main);
