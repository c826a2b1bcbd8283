// Options of NASNet classification training: a typed object with documented defaults, resolved once
// (resolveClassificationTraining) before anything is built or read. Hyperparameters follow slim's NASNet
// recipes (spec/nasnet.md 4.2): CIFAR = momentum 0.9, lr 0.025 at batch 32, single-period cosine decay,
// L2 5e-4, clip 5, aux weight 0.4, drop-path keep 0.6, BN decay 0.9; ImageNet = RMSProp (decay 0.9,
// eps 1.0), x0.97 every 2.4 epochs, label smoothing 0.1, clip 10.
import { NasnetError } from '../core/errors.js';
import { DEFAULT_CLASSIFICATION_AUGMENT, type ClassificationAugment } from '../data/augment.js';
import { NASNET_PRESETS, type NasnetConfig, type NasnetPresetName } from './config.js';

export const TRAINING_OPTIMIZERS = ['momentum', 'rmsprop'] as const;
export type TrainingOptimizer = (typeof TRAINING_OPTIMIZERS)[number];
export const TRAINING_SCHEDULES = ['cosine', 'exponential', 'constant'] as const;
export type TrainingSchedule = (typeof TRAINING_SCHEDULES)[number];

/** A preset name, or a partial config on top of a preset (`preset`, default the small CIFAR-stem net). */
export type BackboneChoice = NasnetPresetName | (Partial<NasnetConfig> & { readonly preset?: NasnetPresetName });

/**
 * The default network for small data sets: CIFAR stem (3x3/1 conv), N = 1 normal cell per stack, 192
 * penultimate filters (F = 8), 32 x 32 input, aux head, drop-path keep 0.6, BN momentum 0.9 (slim CIFAR).
 */
export const SMALL_CLASSIFIER_BACKBONE: Partial<NasnetConfig> & { readonly preset: NasnetPresetName } = {
  preset: 'cifar',
  numCells: 1,
  penultimateFilters: 192,
  stemFilters: 32,
  inputSize: 32,
};

export interface ClassificationTrainingOptions {
  /** Dataset root: an image folder with train/<class>/ and val/<class>/, or CIFAR-10 binary batches. */
  readonly data: string;
  /** Checkpoint directory; an existing checkpoint there is resumed. */
  readonly out: string;
  /** Network (classes come from the data; the classifier outputs logits). */
  readonly backbone: BackboneChoice;
  readonly epochs: number;
  readonly batchSize: number;
  readonly optimizer: TrainingOptimizer;
  /** Momentum of both optimizers (slim 0.9). */
  readonly momentum: number;
  /** RMSProp's decay and epsilon (PAPER A.7: 0.9 and 1.0). */
  readonly rmsDecay: number;
  readonly rmsEpsilon: number;
  /** Peak learning rate (after warm-up). */
  readonly learningRate: number;
  /** cosine: single period over the whole run (slim CIFAR); exponential: x decayRate every decayEpochs (ImageNet). */
  readonly schedule: TrainingSchedule;
  readonly decayRate: number;
  readonly decayEpochs: number;
  /** Linear warm-up steps. */
  readonly warmupSteps: number;
  /** L2 on conv and dense kernels (added to the gradient). */
  readonly weightDecay: number;
  /** Label smoothing of both the main and the aux loss. */
  readonly labelSmoothing: number;
  /** Weight of the aux-head loss (used when the backbone has an aux head). */
  readonly auxWeight: number;
  /** Global gradient-norm clip (0 = off). */
  readonly clipGlobalNorm: number;
  /** Weight init, data order, augmentation and drop-path masks. */
  readonly seed: number;
  /** Also checkpoint every this many steps inside an epoch (0 = at epoch ends only). */
  readonly checkpointEverySteps: number;
  /** Random crop (zero pad, then crop) and horizontal flip of training images. */
  readonly augment: ClassificationAugment;
  /** Validation images scored each epoch, the first N in file order (0 = all). */
  readonly valLimit: number;
  /** Validate on this many training images held out by a fixed seeded split instead of the data's val split (0 = off). */
  readonly holdOut: number;
}

export const DEFAULT_CLASSIFICATION_TRAINING: Omit<ClassificationTrainingOptions, 'data' | 'out'> = {
  backbone: SMALL_CLASSIFIER_BACKBONE,
  epochs: 30,
  batchSize: 32,
  optimizer: 'momentum',
  momentum: 0.9,
  rmsDecay: 0.9,
  rmsEpsilon: 1.0,
  learningRate: 0.025,
  schedule: 'cosine',
  decayRate: 0.97,
  decayEpochs: 2.4,
  warmupSteps: 0,
  weightDecay: 5e-4,
  labelSmoothing: 0.1,
  auxWeight: 0.4,
  clipGlobalNorm: 5,
  seed: 0,
  checkpointEverySteps: 0,
  augment: DEFAULT_CLASSIFICATION_AUGMENT,
  valLimit: 0,
  holdOut: 0,
};

/** Slim CIFAR's BN decay: Keras' 0.9997 would barely move the moving statistics in a short run. */
export const TRAINING_BN_MOMENTUM = 0.9;

export type ClassificationTrainingInput = Partial<ClassificationTrainingOptions> & Pick<ClassificationTrainingOptions, 'data' | 'out'>;

function fail(field: string, expected: string, received: unknown): never {
  throw new NasnetError('INVALID_CONFIG', `resolveClassificationTraining: ${field} must be ${expected}; received ${JSON.stringify(received)}`, { field });
}

type NumericField = { [K in keyof ClassificationTrainingOptions]: ClassificationTrainingOptions[K] extends number ? K : never }[keyof ClassificationTrainingOptions];

/** [field, min, max, integer, min exclusive] */
const NUMERIC_RULES: readonly (readonly [NumericField, number, number, boolean, boolean])[] = [
  ['epochs', 1, 100_000, true, false],
  ['batchSize', 1, 4096, true, false],
  ['momentum', 0, 1, false, false],
  ['rmsDecay', 0, 1, false, false],
  ['rmsEpsilon', 0, Infinity, false, true],
  ['learningRate', 0, Infinity, false, true],
  ['decayRate', 0, 1, false, true],
  ['decayEpochs', 0, Infinity, false, true],
  ['warmupSteps', 0, Number.MAX_SAFE_INTEGER, true, false],
  ['weightDecay', 0, 1, false, false],
  ['labelSmoothing', 0, 1, false, false],
  ['auxWeight', 0, Infinity, false, false],
  ['clipGlobalNorm', 0, Infinity, false, false],
  ['seed', -2147483648, 2147483647, true, false],
  ['checkpointEverySteps', 0, Number.MAX_SAFE_INTEGER, true, false],
  ['valLimit', 0, Number.MAX_SAFE_INTEGER, true, false],
  ['holdOut', 0, Number.MAX_SAFE_INTEGER, true, false],
];

function checkNumber(field: string, value: unknown, [min, max, integer, exclusive]: readonly [number, number, boolean, boolean]): void {
  const ok = typeof value === 'number' && Number.isFinite(value) && (exclusive ? value > min : value >= min) && value <= max && (!integer || Number.isInteger(value));
  if (!ok) fail(field, `${integer ? 'an integer' : 'a number'} in ${exclusive ? '(' : '['}${min}, ${max}]`, value);
}

/** The backbone as a partial config on a preset, with the training defaults (BN momentum 0.9) underneath. */
export function backbonePartial(choice: BackboneChoice): Partial<NasnetConfig> & { readonly preset?: NasnetPresetName } {
  if (typeof choice === 'string') {
    if (!(choice in NASNET_PRESETS)) fail('backbone', `a preset (${Object.keys(NASNET_PRESETS).join(', ')}) or a partial NasnetConfig`, choice);
    return { preset: choice, bnMomentum: TRAINING_BN_MOMENTUM };
  }
  if (choice === null || typeof choice !== 'object' || Array.isArray(choice)) {
    fail('backbone', `a preset (${Object.keys(NASNET_PRESETS).join(', ')}) or a partial NasnetConfig`, choice);
  }
  return { bnMomentum: TRAINING_BN_MOMENTUM, ...choice };
}

/** Fills a partial options object from the defaults and validates every field (errors name the field). */
export function resolveClassificationTraining(partial: ClassificationTrainingInput): ClassificationTrainingOptions {
  const options: ClassificationTrainingOptions = { ...DEFAULT_CLASSIFICATION_TRAINING, ...partial };
  const known = new Set([...Object.keys(DEFAULT_CLASSIFICATION_TRAINING), 'data', 'out']);
  for (const key of Object.keys(partial)) {
    if (!known.has(key)) {
      throw new NasnetError('INVALID_CONFIG', `resolveClassificationTraining: unknown option ${JSON.stringify(key)}; known: ${[...known].join(', ')}`, { field: key });
    }
  }
  for (const field of ['data', 'out'] as const) {
    if (typeof options[field] !== 'string' || options[field] === '') fail(field, 'a non-empty path', options[field]);
  }
  for (const [field, ...rule] of NUMERIC_RULES) checkNumber(field, options[field], rule);
  if (!TRAINING_OPTIMIZERS.includes(options.optimizer)) fail('optimizer', `one of ${TRAINING_OPTIMIZERS.join(', ')}`, options.optimizer);
  if (!TRAINING_SCHEDULES.includes(options.schedule)) fail('schedule', `one of ${TRAINING_SCHEDULES.join(', ')}`, options.schedule);
  const { augment } = options;
  if (augment === null || typeof augment !== 'object') fail('augment', 'an object {pad, flipProbability}', augment);
  checkNumber('augment.pad', augment.pad, [0, 1024, true, false]);
  checkNumber('augment.flipProbability', augment.flipProbability, [0, 1, false, false]);
  backbonePartial(options.backbone);
  return options;
}
