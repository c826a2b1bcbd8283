// The model factory: config names a model by `kind` (and optional weights); the registry maps kinds to
// loaders. Built-in kinds register in builtin.ts; the kind "default" is an alias for the embedded
// default of each task, so configs that say "default" follow it when a better model ships.
import { isAbsolute, resolve } from 'node:path';
import type { Classifier, Detector } from '../api/types.js';
import { NasnetError } from '../../core/errors.js';

/** How a config names a model: `{kind: "nasnet-mobile", weights: "nasnet_mobile.h5"}`. */
export interface ModelSpec {
  readonly kind: string;
  readonly weights?: string;
}

export const DEFAULT_MODEL_KIND = 'default';

/**
 * A spec may name a directory instead of a kind (`--detector ./faster_rcnn_nas_coco`, an unpacked zoo
 * tarball or one of our checkpoints): a kind holding "/" or starting with "." is a path, loaded by the
 * loader registered as this kind with the path as its weights.
 */
export const DIRECTORY_KIND = 'directory';

export function isPathSpec(kind: string): boolean {
  return kind.includes('/') || kind.startsWith('.');
}

export type ModelTask = 'classification' | 'detection';

/** How a served classifier runs: float32, or int8 (QDQ, calibrated on `calibrate` at the first load, then cached). */
export const CLASSIFIER_ENGINES = ['onnx', 'onnx-int8'] as const;
export type ClassifierEngine = (typeof CLASSIFIER_ENGINES)[number];

/**
 * How the served models run, beyond which model: every loader receives all of it and applies what concerns
 * its task (undefined = the model's own value); a loader that cannot honour a setting refuses it.
 */
export interface ModelTuning {
  /** Classifiers: 'onnx' (default) or 'onnx-int8'. */
  readonly classifierEngine?: ClassifierEngine;
  /** Classifiers on onnx-int8: the folder of calibration images and how many of them to use. */
  readonly calibrate?: string;
  readonly calibrationImages?: number;
  /** Detectors: stage-2 proposals per image. */
  readonly proposals?: number;
  /** Detectors (our Faster R-CNN): ROI align samples per bin and axis. */
  readonly roiSamplingRatio?: number;
}

/** What every loader receives. */
export interface ModelLoadOptions extends ModelTuning {
  /** Absolute path of the weights file, when the spec names one. */
  readonly weights?: string;
  /** Images above this many pixels are rejected with IMAGE_TOO_LARGE before decoding. */
  readonly maxPixels: number;
  /** The engine the caller initialised (shown in ModelInfo.engine). */
  readonly engine: string;
  /** Intra-op threads a model may use (onnxruntime), so that parallel workers do not oversubscribe the cores. */
  readonly threads?: number;
}

export type ClassifierLoader = (options: ModelLoadOptions) => Promise<Classifier>;
export type DetectorLoader = (options: ModelLoadOptions) => Promise<Detector>;

/** What a registered kind says about itself beyond its loader (GET /models, the start-up log). */
export interface ModelKindOptions {
  readonly isDefault?: boolean;
  /** For demo models: what they were trained on; their answers mean nothing on real photos. */
  readonly demoTrainedOn?: string;
}

interface TaskRegistry<L> {
  readonly loaders: Map<string, L>;
  readonly demos: Map<string, string>;
  defaultKind: string | undefined;
}

const classifiers: TaskRegistry<ClassifierLoader> = { loaders: new Map(), demos: new Map(), defaultKind: undefined };
const detectors: TaskRegistry<DetectorLoader> = { loaders: new Map(), demos: new Map(), defaultKind: undefined };

function register<L>(registry: TaskRegistry<L>, task: ModelTask, kind: string, loader: L, options: ModelKindOptions): void {
  if (kind === DEFAULT_MODEL_KIND || kind === '' || kind.includes(':')) {
    throw new NasnetError('INVALID_ARGUMENT', `register ${task} model: kind must be non-empty, not "default" and without ":"; received ${JSON.stringify(kind)}`);
  }
  if (registry.loaders.has(kind)) {
    throw new NasnetError('INVALID_ARGUMENT', `register ${task} model: kind ${JSON.stringify(kind)} is already registered`);
  }
  registry.loaders.set(kind, loader);
  if (options.demoTrainedOn !== undefined) registry.demos.set(kind, options.demoTrainedOn);
  if (options.isDefault === true) registry.defaultKind = kind;
}

export function registerClassifier(kind: string, loader: ClassifierLoader, options: ModelKindOptions = {}): void {
  register(classifiers, 'classification', kind, loader, options);
}

export function registerDetector(kind: string, loader: DetectorLoader, options: ModelKindOptions = {}): void {
  register(detectors, 'detection', kind, loader, options);
}

/** What a model kind was trained on when it is a demo model, else undefined ("default" resolved first). */
export function demoTrainedOn(task: ModelTask, kind: string): string | undefined {
  return (task === 'classification' ? classifiers : detectors).demos.get(resolveModelKind(task, kind));
}

/** The registered kinds of a task (for --help, errors and GET /models). */
export function modelKinds(task: ModelTask): string[] {
  return [...(task === 'classification' ? classifiers : detectors).loaders.keys()];
}

/** The concrete kind a spec names ("default" resolved). */
export function resolveModelKind(task: ModelTask, kind: string): string {
  const registry = task === 'classification' ? classifiers : detectors;
  const resolved = kind === DEFAULT_MODEL_KIND ? registry.defaultKind : isPathSpec(kind) && registry.loaders.has(DIRECTORY_KIND) ? DIRECTORY_KIND : kind;
  if (resolved === undefined || !registry.loaders.has(resolved)) {
    const known = [DEFAULT_MODEL_KIND, ...registry.loaders.keys()].map((k) => JSON.stringify(k)).join(', ');
    throw new NasnetError('INVALID_CONFIG', `${task} model: unknown kind ${JSON.stringify(kind)}; expected one of ${known}`, {
      field: task === 'classification' ? 'classifier' : 'detector',
    });
  }
  return resolved;
}

export interface LoadContext extends ModelTuning {
  readonly modelsDir: string;
  readonly maxPixels: number;
  readonly engine: string;
  readonly threads?: number;
}

/** Where a spec's weights are read from (relative paths against modelsDir); undefined for embedded weights. */
export function weightsPath(spec: ModelSpec, modelsDir: string): string | undefined {
  // A kind that is itself a path (serve --detector DIR) names its weights.
  const weights = spec.weights ?? (isPathSpec(spec.kind) ? spec.kind : undefined);
  if (weights === undefined) return undefined;
  return isAbsolute(weights) ? weights : resolve(modelsDir, weights);
}

function loaderOptions(spec: ModelSpec, context: LoadContext): ModelLoadOptions {
  const { modelsDir, ...options } = context;
  const weights = weightsPath(spec, modelsDir);
  return weights === undefined ? options : { weights, ...options };
}

export async function loadClassifier(spec: ModelSpec, context: LoadContext): Promise<Classifier> {
  const loader = classifiers.loaders.get(resolveModelKind('classification', spec.kind));
  return (loader as ClassifierLoader)(loaderOptions(spec, context));
}

export async function loadDetector(spec: ModelSpec, context: LoadContext): Promise<Detector> {
  const loader = detectors.loaders.get(resolveModelKind('detection', spec.kind));
  return (loader as DetectorLoader)(loaderOptions(spec, context));
}
