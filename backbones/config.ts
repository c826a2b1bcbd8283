// NASNet configuration: a typed object with documented defaults, resolved once (resolveNasnetConfig)
// before construction. "N @ P" = N normal cells per stack @ P penultimate filters (PAPER §4).
import { genotypeIssues, type Genotype } from '../cells/genotype.js';
import { NASNET_A } from '../cells/genotypes.js';
import { KERAS_BN } from '../cells/keras_layers.js';
import { NasnetError } from '../core/errors.js';

export const STEM_KINDS = ['imagenet', 'cifar'] as const;
export type StemKind = (typeof STEM_KINDS)[number];
export const CLASSIFIER_ACTIVATIONS = ['softmax', 'linear'] as const;
export type ClassifierActivation = (typeof CLASSIFIER_ACTIVATIONS)[number];

/** Width doubles at each reduction (Keras `filter_multiplier`, K3 nasnet.py 180-188). */
export const FILTER_MULTIPLIER = 2;

export interface NasnetConfig {
  /** Cell genotype (NASNet-A for the published models). */
  readonly genotype: Genotype;
  /** N: normal cells per stack (3 stacks). */
  readonly numCells: number;
  /** Width of the last stack's output = 24 F; a multiple of 24 * FILTER_MULTIPLIER^2 = 96 (K3 180-185). */
  readonly penultimateFilters: number;
  /** 'imagenet': 3x3/2 valid conv + BN + two reduction stem cells; 'cifar': 3x3/1 same conv + BN (slim). */
  readonly stem: StemKind;
  /** Output width of the stem conv (Keras `stem_filters`: 32 mobile, 96 large; slim CIFAR 3 F = 96). */
  readonly stemFilters: number;
  /** Square input size; the spatial sizes (and Keras' padding) derive from it. */
  readonly inputSize: number;
  /** Add relu -> global average pool -> Dense `predictions` (else the output is the relu'd final map). */
  readonly includeTop: boolean;
  readonly classes: number;
  /** 'softmax' as Keras' default; 'linear' gives logits. */
  readonly classifierActivation: ClassifierActivation;
  /** slim's training-only auxiliary head on the last cell of the second stack (second model output). */
  readonly auxHead: boolean;
  /** slim `skip_reduction_layer_input` = Keras `skip_reduction` (true for Large, K3 386-400). */
  readonly skipReduction: boolean;
  /** Final ScheduledDropPath keep probability k0; 1 adds no drop-path layers (the Keras graph). */
  readonly dropPathKeepProb: number;
  /** Moving-average momentum of every BatchNormalization (Keras 0.9997; slim CIFAR 0.9, for short runs). */
  readonly bnMomentum: number;
}

/** NASNet-A Mobile 4 @ 1056, 224 x 224 (Keras NASNetMobile; 5,326,716 parameters). */
export const NASNET_A_MOBILE: NasnetConfig = {
  genotype: NASNET_A,
  numCells: 4,
  penultimateFilters: 1056,
  stem: 'imagenet',
  stemFilters: 32,
  inputSize: 224,
  includeTop: true,
  classes: 1000,
  classifierActivation: 'softmax',
  auxHead: false,
  skipReduction: false,
  dropPathKeepProb: 1,
  bnMomentum: KERAS_BN.momentum,
};

/**
 * NASNet-A Large 6 @ 4032, 331 x 331 (Keras NASNetLarge; 88,949,818 parameters). Keras has no drop path;
 * slim trains it with keep 0.7 (nasnet.py large_imagenet_config): set dropPathKeepProb for training.
 */
export const NASNET_A_LARGE: NasnetConfig = {
  ...NASNET_A_MOBILE,
  numCells: 6,
  penultimateFilters: 4032,
  stemFilters: 96,
  inputSize: 331,
  skipReduction: true,
};

/** NASNet-A CIFAR 6 @ 768 on 32 x 32 (slim cifar_config: stem 3 x 32 filters, aux head, keep 0.6). */
export const NASNET_CIFAR: NasnetConfig = {
  ...NASNET_A_MOBILE,
  numCells: 6,
  penultimateFilters: 768,
  stem: 'cifar',
  stemFilters: 96,
  inputSize: 32,
  classes: 10,
  auxHead: true,
  dropPathKeepProb: 0.6,
};

export const NASNET_PRESETS = {
  mobile: NASNET_A_MOBILE,
  large: NASNET_A_LARGE,
  cifar: NASNET_CIFAR,
} as const satisfies Record<string, NasnetConfig>;
export type NasnetPresetName = keyof typeof NASNET_PRESETS;

function fail(field: string, expected: string, received: unknown): never {
  throw new NasnetError('INVALID_CONFIG', `resolveNasnetConfig: ${field} must be ${expected}; received ${JSON.stringify(received)}`, { field });
}

function checkInt(config: NasnetConfig, field: 'numCells' | 'penultimateFilters' | 'stemFilters' | 'inputSize' | 'classes', min: number): void {
  const value = config[field];
  if (!Number.isInteger(value) || value < min) fail(field, `an integer >= ${min}`, value);
}

/**
 * The network's total stride, which is the smallest input whose last cells still see a whole pixel: the ImageNet
 * stem halves three times (conv 3x3/2 and two reduction cells, Keras nasnet.py `_reduction_a_cell` stem_1/stem_2)
 * and the stacks twice more (32); the CIFAR stem keeps the resolution (4). So 8x8 digits train at their own size.
 */
export function minInputSize(stem: StemKind): number {
  return stem === 'imagenet' ? 32 : 4;
}

/**
 * Fills a partial config from a preset (default NASNet-A Mobile) and validates every field; the error
 * names the field, the expected values and what was received.
 */
export function resolveNasnetConfig(partial: Partial<NasnetConfig> & { readonly preset?: NasnetPresetName } = {}): NasnetConfig {
  const { preset = 'mobile', ...overrides } = partial;
  if (!(preset in NASNET_PRESETS)) fail('preset', `one of ${Object.keys(NASNET_PRESETS).join(', ')}`, preset);
  const config: NasnetConfig = { ...NASNET_PRESETS[preset], ...overrides };
  for (const key of Object.keys(overrides)) {
    if (!(key in NASNET_A_MOBILE)) fail(key, `not set (unknown field; known: ${Object.keys(NASNET_A_MOBILE).join(', ')})`, (overrides as Record<string, unknown>)[key]);
  }
  checkInt(config, 'numCells', 1);
  checkInt(config, 'penultimateFilters', 96);
  const unit = 24 * FILTER_MULTIPLIER ** 2;
  if (config.penultimateFilters % unit !== 0) fail('penultimateFilters', `a multiple of ${unit}`, config.penultimateFilters);
  checkInt(config, 'stemFilters', 1);
  checkInt(config, 'inputSize', minInputSize(config.stem));
  checkInt(config, 'classes', 1);
  if (!(STEM_KINDS as readonly string[]).includes(config.stem)) fail('stem', `one of ${STEM_KINDS.join(', ')}`, config.stem);
  if (!(CLASSIFIER_ACTIVATIONS as readonly string[]).includes(config.classifierActivation)) {
    fail('classifierActivation', `one of ${CLASSIFIER_ACTIVATIONS.join(', ')}`, config.classifierActivation);
  }
  for (const flag of ['includeTop', 'auxHead', 'skipReduction'] as const) {
    if (typeof config[flag] !== 'boolean') fail(flag, 'a boolean', config[flag]);
  }
  if (!(typeof config.dropPathKeepProb === 'number' && config.dropPathKeepProb > 0 && config.dropPathKeepProb <= 1)) {
    fail('dropPathKeepProb', 'a number in (0, 1]', config.dropPathKeepProb);
  }
  if (!(typeof config.bnMomentum === 'number' && config.bnMomentum >= 0 && config.bnMomentum < 1)) {
    fail('bnMomentum', 'a number in [0, 1)', config.bnMomentum);
  }
  const issues = genotypeIssues(config.genotype);
  if (issues.length > 0) fail('genotype', `a valid genotype (${issues.join('; ')})`, config.genotype?.name);
  return config;
}

/** F, the width of the first stack's cells (Keras `filters = penultimate_filters // 24`). */
export function baseFilters(config: NasnetConfig): number {
  return Math.floor(config.penultimateFilters / 24);
}
