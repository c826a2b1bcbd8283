// The classifier artifact: what a classifier checkpoint's config records (backbone, labels, preprocessing),
// written by classification training and read by loadClassifier.
import { genotypeToJson, parseGenotype } from '../cells/index.js';
import { NasnetError } from '../core/errors.js';
import type { ResizeKernel } from '../core/image_io.js';
import { resolveNasnetConfig, type NasnetConfig } from './config.js';

export interface ClassLabel {
  readonly wnid: string;
  readonly label: string;
}

/** What a classifier checkpoint's config holds (model.json `config`). */
export interface ClassifierArtifactConfig {
  readonly format: 'nasnet-ts/classifier@1';
  /** The backbone config with the genotype inline (JSON). */
  readonly backbone: Omit<NasnetConfig, 'genotype'> & { readonly genotype: unknown };
  /** One entry per class in logit order; 'imagenet' for the 1000 Keras ImageNet classes. */
  readonly labels: readonly ClassLabel[] | 'imagenet';
  readonly resizeKernel: ResizeKernel;
}

/**
 * Checkpoint weights under this prefix are training state (aux head, optimizer slots; written by
 * backbones/classification_training.ts) and are not part of the classifier: loading skips them.
 */
export const TRAINING_STATE_PREFIX = 'training/';

/** The labels of a Keras classifier's head: ImageNet's for 1000 classes, else numbered ones. */
export function kerasLabels(classes: number): readonly ClassLabel[] | 'imagenet' {
  return classes === 1000 ? 'imagenet' : Array.from({ length: classes }, (_, i) => ({ wnid: '', label: `class_${i}` }));
}

/** Serialises a classifier's config for a checkpoint. */
export function classifierArtifactConfig(config: NasnetConfig, labels: readonly ClassLabel[] | 'imagenet', resizeKernel: ResizeKernel): ClassifierArtifactConfig {
  return { format: 'nasnet-ts/classifier@1', backbone: { ...config, genotype: JSON.parse(genotypeToJson(config.genotype)) as unknown }, labels, resizeKernel };
}

/** Reads a classifier checkpoint's config back (the inverse of classifierArtifactConfig). */
export function parseArtifactConfig(dir: string, raw: unknown): { config: NasnetConfig; labels: readonly ClassLabel[] | 'imagenet'; resizeKernel: ResizeKernel } {
  const value = raw as Partial<ClassifierArtifactConfig> | null;
  if (value === null || typeof value !== 'object' || value.format !== 'nasnet-ts/classifier@1' || typeof value.backbone !== 'object') {
    throw new NasnetError('CHECKPOINT_INVALID', `${dir}: config is not a nasnet-ts classifier (expected format "nasnet-ts/classifier@1")`);
  }
  const { genotype, ...rest } = value.backbone;
  const config = resolveNasnetConfig({ ...rest, genotype: parseGenotype(JSON.stringify(genotype)) });
  const labels = value.labels ?? 'imagenet';
  if (labels !== 'imagenet' && (!Array.isArray(labels) || labels.length !== config.classes)) {
    throw new NasnetError('CHECKPOINT_INVALID', `${dir}: config.labels must list ${config.classes} classes`);
  }
  return { config, labels, resizeKernel: value.resizeKernel ?? 'pil-nearest' };
}
