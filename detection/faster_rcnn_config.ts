// Faster R-CNN configuration: one typed, JSON-serialisable object (it is stored in checkpoints), with
// documented defaults and presets, resolved and validated once before construction.
//
// The defaults follow the TF Object Detection API NASNet config (spec/nasnet.md section 5.2) where it
// applies to any input size: grid anchors at stride 16 (scales x base, aspect ratio = width / height),
// RPN NMS 0.7, 2:1 localisation:classification loss weights, a 64-ROI second-stage minibatch,
// postprocess IoU 0.6 with 100 detections. Sizes scale with the input (`imageSize`).
import { NASNET_PRESETS, type NasnetPresetName } from '../backbones/config.js';
import { NasnetError } from '../core/errors.js';
import { genotypeIssues, type Genotype } from '../cells/genotype.js';
import type { LossName } from './losses.js';
import { NASNET_LOSS_WEIGHTS } from './losses.js';
import type { PostprocessConfig } from './postprocess.js';
import type { ProposalConfig } from './rpn.js';
import type { SamplerConfig } from './sampler.js';

/** The backbone fields a detector config may set (the genotype defaults to the preset's: NASNet-A). */
export interface DetectorBackboneConfig {
  readonly preset: NasnetPresetName;
  /** A searched cell (`nasnet train --task detection --genotype`); stored inline in the checkpoint config. */
  readonly genotype?: Genotype;
  readonly numCells?: number;
  readonly penultimateFilters?: number;
  readonly stemFilters?: number;
}

export interface AnchorSettings {
  /** Multiples of `baseSize` (pixels of the network input). */
  readonly scales: readonly number[];
  /** Width / height (TF OD API meaning). */
  readonly aspectRatios: readonly number[];
  readonly baseSize: number;
}

export interface FasterRcnnConfig {
  readonly backbone: DetectorBackboneConfig;
  /** Side of the square network input; images are letterboxed into it. */
  readonly imageSize: number;
  /** Object classes, background excluded. */
  readonly numClasses: number;
  /** Class names, index = label - 1. */
  readonly classNames: readonly string[];
  /** COCO category id of each class, index = label - 1. */
  readonly categoryIds: readonly number[];
  readonly anchors: AnchorSettings;
  /** Channels of the RPN's shared 3x3 conv (TF OD API first_stage_box_predictor_depth). */
  readonly rpnChannels: number;
  readonly rpnSampler: SamplerConfig;
  readonly proposals: { readonly train: Partial<ProposalConfig>; readonly test: Partial<ProposalConfig> };
  /** ROI align output side (FRC initial_crop_size 17; an even size keeps the reduction cell exact). */
  readonly cropSize: number;
  readonly roiSamplingRatio: number;
  /** 'cells': the remaining NASNet cells on the crops (the paper); 'two-fc': a 2-FC head (tiny configs). */
  readonly boxHead: 'cells' | 'two-fc';
  /** Width of the 2-FC head. */
  readonly fcDim: number;
  readonly roiSampler: SamplerConfig;
  readonly postprocess: Partial<Omit<PostprocessConfig, 'boxCodeWeights'>>;
  readonly lossWeights: Readonly<Record<LossName, number>>;
  /** Freeze BatchNorm: inference statistics and fixed scale/offset in training (fine-tuning). */
  readonly frozenBatchNorm: boolean;
  /**
   * Moving-average momentum of the backbone's BatchNorm layers. Keras' 0.9997 suits fine-tuning from
   * ImageNet; from scratch a short run needs a faster average (0.99) or its inference statistics lag.
   */
  readonly batchNormMomentum: number;
  /** Seed of every initialiser (and of the training samplers, with the step). */
  readonly seed: number;
}

export const DEFAULT_FASTER_RCNN_CONFIG: FasterRcnnConfig = {
  backbone: { preset: 'mobile' },
  imageSize: 640,
  numClasses: 80,
  classNames: [],
  categoryIds: [],
  anchors: { scales: [0.25, 0.5, 1, 2], aspectRatios: [0.5, 1, 2], baseSize: 256 },
  rpnChannels: 512,
  rpnSampler: { batchSizePerImage: 256, positiveFraction: 0.5 },
  proposals: { train: { postNmsTopN: 500 }, test: { postNmsTopN: 300 } },
  cropSize: 14,
  roiSamplingRatio: 2,
  boxHead: 'cells',
  fcDim: 256,
  roiSampler: { batchSizePerImage: 64, positiveFraction: 0.25 },
  postprocess: { scoreThreshold: 0.01, nmsThreshold: 0.6, detectionsPerImage: 100 },
  lossWeights: NASNET_LOSS_WEIGHTS,
  frozenBatchNorm: false,
  batchNormMomentum: 0.9997,
  seed: 0,
};

/**
 * The embedded default's architecture: NASNet-A, 1 cell per stack @ 192 (F = 8), 16 stem filters, on
 * 256 x 256 inputs (16 x 16 RPN map); anchors 16..128 px; second stage = reduction cell + 1 normal cell.
 */
export const SHAPES_DETECTOR_CONFIG: Partial<FasterRcnnConfig> = {
  backbone: { preset: 'mobile', numCells: 1, penultimateFilters: 192, stemFilters: 16 },
  imageSize: 256,
  anchors: { scales: [0.5, 1, 2, 4], aspectRatios: [0.5, 1, 2], baseSize: 32 },
  rpnChannels: 128,
  proposals: { train: { postNmsTopN: 300, preNmsTopN: 2000 }, test: { postNmsTopN: 100, preNmsTopN: 1000 } },
  cropSize: 8,
  roiSampler: { batchSizePerImage: 32, positiveFraction: 0.25 },
  batchNormMomentum: 0.99,
};

function fail(field: string, expected: string, received: unknown): never {
  throw new NasnetError('INVALID_CONFIG', `resolveFasterRcnnConfig: ${field} must be ${expected}; received ${JSON.stringify(received)}`, { field });
}

function positiveInt(field: string, value: unknown): void {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) fail(field, 'a positive integer', value);
}

function positiveList(field: string, values: readonly number[]): void {
  if (!Array.isArray(values) || values.length === 0 || values.some((v) => !(typeof v === 'number' && v > 0 && Number.isFinite(v)))) {
    fail(field, 'a non-empty list of positive numbers', values);
  }
}

/** Fills a partial config from the defaults and checks every field; errors name the field. */
export function resolveFasterRcnnConfig(partial: Partial<FasterRcnnConfig> = {}): FasterRcnnConfig {
  for (const key of Object.keys(partial)) if (!(key in DEFAULT_FASTER_RCNN_CONFIG)) fail(key, `a known field (${Object.keys(DEFAULT_FASTER_RCNN_CONFIG).join(', ')})`, key);
  const c: FasterRcnnConfig = { ...DEFAULT_FASTER_RCNN_CONFIG, ...partial };
  if (!(c.backbone.preset in NASNET_PRESETS)) fail('backbone.preset', `one of ${Object.keys(NASNET_PRESETS).join(', ')}`, c.backbone.preset);
  const genotypeProblems = c.backbone.genotype === undefined ? [] : genotypeIssues(c.backbone.genotype);
  if (genotypeProblems.length > 0) fail('backbone.genotype', `a valid genotype (${genotypeProblems.join('; ')})`, c.backbone.genotype?.name);
  positiveInt('imageSize', c.imageSize);
  if (c.imageSize < 64) fail('imageSize', '>= 64', c.imageSize);
  positiveInt('numClasses', c.numClasses);
  const classNames = c.classNames.length === 0 ? Array.from({ length: c.numClasses }, (_, i) => `class_${i + 1}`) : c.classNames;
  const categoryIds = c.categoryIds.length === 0 ? Array.from({ length: c.numClasses }, (_, i) => i + 1) : c.categoryIds;
  if (classNames.length !== c.numClasses) fail('classNames', `${c.numClasses} names (numClasses)`, classNames.length);
  if (categoryIds.length !== c.numClasses || categoryIds.some((id) => !Number.isInteger(id))) fail('categoryIds', `${c.numClasses} integer ids (numClasses)`, categoryIds);
  positiveList('anchors.scales', c.anchors.scales);
  positiveList('anchors.aspectRatios', c.anchors.aspectRatios);
  positiveList('anchors.baseSize', [c.anchors.baseSize]);
  for (const field of ['rpnChannels', 'cropSize', 'roiSamplingRatio', 'fcDim'] as const) positiveInt(field, c[field]);
  if (c.boxHead !== 'cells' && c.boxHead !== 'two-fc') fail('boxHead', "'cells' or 'two-fc'", c.boxHead);
  if (c.boxHead === 'cells' && c.cropSize % 2 !== 0) fail('cropSize', "even with boxHead 'cells' (the reduction cell halves it)", c.cropSize);
  for (const field of ['rpnSampler', 'roiSampler'] as const) {
    positiveInt(`${field}.batchSizePerImage`, c[field].batchSizePerImage);
    if (!(c[field].positiveFraction > 0 && c[field].positiveFraction <= 1)) fail(`${field}.positiveFraction`, 'in (0, 1]', c[field].positiveFraction);
  }
  for (const [name, w] of Object.entries(c.lossWeights)) if (!(w >= 0 && Number.isFinite(w))) fail(`lossWeights.${name}`, 'a finite number >= 0', w);
  if (typeof c.frozenBatchNorm !== 'boolean') fail('frozenBatchNorm', 'a boolean', c.frozenBatchNorm);
  if (!(c.batchNormMomentum > 0 && c.batchNormMomentum < 1)) fail('batchNormMomentum', 'in (0, 1)', c.batchNormMomentum);
  if (!Number.isInteger(c.seed)) fail('seed', 'an integer', c.seed);
  return { ...c, classNames, categoryIds };
}
