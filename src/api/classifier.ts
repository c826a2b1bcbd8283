// The classification API: loadClassifier({backbone, weights}) -> classify(image, {topK}).
// Weights come from a Keras .h5 (the published NASNet-*.h5 layout) or from one of our checkpoints, whose
// config records the backbone, the labels and the preprocessing. Inference runs on onnxruntime-node
// through our ONNX export (engine 'onnx', the default) or on the current TensorFlow.js engine ('tfjs').
// Preprocessing is Keras': resize to the input size (keras.utils.load_img defaults to PIL NEAREST, which
// image_io reproduces exactly), then x / 127.5 - 1 (imagenet_utils mode 'tf').
// The ONNX graph (classifierOnnx) is what `nasnet export` writes too: input "image" [N,S,S,3] preprocessed,
// output "probs" [N,K] softmax probabilities (a Softmax node is appended to linear heads). The onnx engine
// caches it beside the weights (src/onnx/model_cache.ts).
import { readFile, stat } from 'node:fs/promises';
import * as tf from '@tensorflow/tfjs-core';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { buildNasnet, loadKerasWeightsIntoModel, modelWeightSpecs, type NasnetConfig, type NasnetPresetName } from '../../backbones/index.js';
import { TRAINING_STATE_PREFIX, kerasLabels, parseArtifactConfig, type ClassLabel } from '../../backbones/classifier_artifact.js';
import { readKerasWeightsFile } from '../../backbones/keras_h5.js';
import { inferKerasModel } from '../../backbones/keras_convert.js';
import { genotypeToJson } from '../../cells/index.js';
import { loadCheckpoint, readCheckpointManifest } from '../../core/checkpoint.js';
import { mismatchError } from '../../core/checkpoint_manifest.js';
import { currentEngine } from '../../core/engine.js';
import { NasnetError } from '../../core/errors.js';
import { MIN_MODEL_IMAGE_SIDE, fitRgb, type ResizeKernel } from '../../core/image_io.js';
import type { Logger } from '../../core/logger.js';
import { imagenetClasses } from '../models/labels.js';
import { resolveWeights } from '../weights/cache.js';
import { OnnxSession, exportLayersGraph, type ExportOptions } from '../onnx/index.js';
import { resolveExecutionProviders } from '../onnx/session.js';
import { int, type GraphBuilder } from '../onnx/graph.js';
import { cachedOnnx, onnxGraphDigest } from '../onnx/model_cache.js';
import { encodeModel, type OnnxValueInfo } from '../onnx/proto.js';
import { DEFAULT_CALIBRATION_IMAGES, listCalibrationImages, quantizeExported, type Feeds, type Int8Options } from './int8.js';
import { cachedInt8 } from './int8_cache.js';
import type { ClassPrediction, Classifier, ClassifyOptions, ImageMeta, ModelInfo } from './types.js';
import { defaultClassifierPath } from './defaults.js';

export type InferenceEngine = 'onnx' | 'onnx-int8' | 'tfjs';
export const INFERENCE_ENGINES: readonly InferenceEngine[] = ['onnx', 'onnx-int8', 'tfjs'];

/** How a classifier or detector runs, shared by loadClassifier and loadDetector. */
export interface InferenceEngineOptions {
  readonly engine?: InferenceEngine;
  /** onnxruntime intra-op threads (0 = one per core). */
  readonly threads?: number;
  /** onnxruntime execution providers (default: env NASNET_ORT_PROVIDERS, else ['cpu']; see src/onnx/session.ts). */
  readonly executionProviders?: readonly string[];
  /** Keep the exported ONNX graphs beside the weights and reuse them (engine onnx; default true). */
  readonly onnxCache?: boolean;
  /** Receives the ONNX cache's notes (an unwritable cache location, a rebuilt entry); default silent. */
  readonly logger?: Logger;
  readonly maxPixels?: number;
  readonly name?: string;
}

export interface LoadClassifierOptions extends InferenceEngineOptions, Int8Options {
  /** Preset or config for Keras .h5 weights (default: the preset the file's weights fit); checkpoints carry their own. */
  readonly backbone?: NasnetPresetName | Partial<NasnetConfig>;
  /**
   * A Keras .h5 file, a checkpoint directory, or a published name ("nasnet-mobile", "nasnet-large")
   * resolved in the weights cache (src/weights): the name also picks the backbone preset. Default: the
   * embedded classifier, models/default/classifier.
   */
  readonly weights?: string;
  /** Fetch a published name that is not cached yet (default: only when NASNET_FETCH=1). */
  readonly fetch?: boolean;
  /** Override the artifact's resize kernel (Keras load_img: 'pil-nearest'). */
  readonly resizeKernel?: ResizeKernel;
}

/** Options after the default weights are filled in. */
export type WithWeights<T> = T & { readonly weights: string };

export const DEFAULT_TOP_K = 5;

/** Options with a published weights name replaced by its cached path (and its preset as the default backbone). */
async function withResolvedWeights<O extends WithWeights<Pick<LoadClassifierOptions, 'backbone' | 'fetch'>> & { readonly name?: string }>(options: O): Promise<O> {
  const { path, entry } = await resolveWeights(options.weights, options.fetch === undefined ? {} : { fetch: options.fetch });
  if (entry === undefined) return options;
  if (entry.format !== 'keras-h5' || !entry.includeTop) {
    throw new NasnetError('INVALID_ARGUMENT', `loadClassifier: ${entry.name} has no ImageNet classification head; use nasnet-mobile or nasnet-large`);
  }
  return { ...options, weights: path, backbone: options.backbone ?? entry.backbone, name: options.name ?? entry.name };
}

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch (error) {
    throw new NasnetError('IO_ERROR', `loadClassifier: cannot read weights ${path}: ${(error as Error).message}`);
  }
}

/** Builds the network and fills its weights from the .h5 or checkpoint at `weights`. */
async function buildWithWeights(options: WithWeights<LoadClassifierOptions>) {
  if (await isDirectory(options.weights)) {
    const artifact = parseArtifactConfig(options.weights, (await readCheckpointManifest(options.weights)).config);
    if (!artifact.config.includeTop) {
      throw new NasnetError('CHECKPOINT_INVALID', `loadClassifier: ${options.weights} is a backbone without the classification top (converted from a no-top .h5); it serves as train --backbone-weights, not as a classifier`);
    }
    const network = buildNasnet({ ...artifact.config, includeTop: true, auxHead: false });
    const { weights, missing, unexpected } = await loadCheckpoint(options.weights, { expected: modelWeightSpecs(network.model), strict: false });
    const stray = unexpected.filter((name) => !name.startsWith(TRAINING_STATE_PREFIX));
    if (missing.length > 0 || stray.length > 0) {
      weights.forEach((t) => t.dispose());
      throw mismatchError('loadClassifier', options.weights, { missing: [...missing], unexpected: stray, mismatched: [] }, true);
    }
    try {
      const byName = new Map(network.model.weights.map((w) => [w.originalName, w] as const));
      for (const [name, tensor] of weights) byName.get(name)?.write(tensor);
    } finally {
      weights.forEach((t) => t.dispose());
    }
    return { network, labels: artifact.labels, resizeKernel: artifact.resizeKernel };
  }
  const file = await readKerasWeightsFile(options.weights);
  const inferred = options.backbone === undefined ? inferKerasModel(file, options.weights) : undefined;
  const given = options.backbone ?? { preset: inferred!.preset, ...(inferred!.classes !== undefined ? { classes: inferred!.classes } : {}) };
  const backbone = typeof given === 'string' ? { preset: given } : given;
  const network = buildNasnet({ ...backbone, includeTop: true, auxHead: false });
  loadKerasWeightsIntoModel(network.model, file);
  return { network, labels: kerasLabels(network.config.classes), resizeKernel: 'pil-nearest' as const };
}

/** The classifier graph's input and output names (the ONNX export, the Triton config). */
export const CLASSIFIER_ONNX_INPUT = 'image';
export const CLASSIFIER_ONNX_OUTPUT = 'probs';
/** Every shape static but the batch: the input size is fixed by the preprocessing anyway. */
const CLASSIFIER_OPSET = 17;
const CLASSIFIER_EXPORT_OPTIONS: ExportOptions = { dynamicSpatial: false, opset: CLASSIFIER_OPSET };

/** The classifier graph before serialisation (classifierOnnx; the int8 export quantizes it first). */
export function classifierGraph(model: LayersModel, config: NasnetConfig, passes: Pick<ExportOptions, 'channelAlignment'> = {}): { graph: GraphBuilder; inputs: OnnxValueInfo[]; outputs: OnnxValueInfo[] } {
  const linear = config.classifierActivation === 'linear';
  const { graph, inputs, outputs } = exportLayersGraph(model, {
    ...CLASSIFIER_EXPORT_OPTIONS,
    ...passes,
    inputNames: [CLASSIFIER_ONNX_INPUT],
    outputNames: [linear ? 'logits' : CLASSIFIER_ONNX_OUTPUT],
  });
  if (linear) graph.node('Softmax', ['logits'], [CLASSIFIER_ONNX_OUTPUT], { axis: int(-1) });
  return { graph, inputs: [...inputs], outputs: outputs.map((o) => ({ ...o, name: CLASSIFIER_ONNX_OUTPUT })) };
}

/**
 * The classifier as ONNX: "image" [N,S,S,3] (x / 127.5 - 1) -> "probs" [N,K] softmax probabilities. A
 * linear head (logits) gets a Softmax node, so every export outputs probabilities like a Keras softmax head.
 */
export function classifierOnnx(model: LayersModel, config: NasnetConfig): Uint8Array {
  const { graph, inputs, outputs } = classifierGraph(model, config);
  return encodeModel(
    { name: model.name, nodes: graph.nodes, initializers: graph.initializers, inputs, outputs },
    { opset: CLASSIFIER_OPSET, producer: 'nasnet-ts', producerVersion: '0.1.0' },
  );
}

/** Decodes and fits an image to the classifier's input: [S,S,3] floats x / 127.5 - 1 (Keras mode 'tf'). */
async function preprocess(image: Uint8Array, size: number, kernel: ResizeKernel, maxPixels?: number): Promise<{ input: Float32Array; meta: ImageMeta }> {
  const fitted = await fitRgb(image, { width: size, height: size, mode: 'stretch', kernel, maxPixels, minSide: MIN_MODEL_IMAGE_SIDE });
  const pixels = fitted.image.data;
  const input = new Float32Array(pixels.length);
  for (let i = 0; i < input.length; i++) input[i] = (pixels[i] as number) / 127.5 - 1;
  return { input, meta: fitted.meta };
}

/** The classifier as a QDQ int8 ONNX graph, calibrated (min/max) on the images `files` (src/onnx/quantize.ts). */
export async function classifierOnnxInt8(model: LayersModel, config: NasnetConfig, files: readonly string[], kernel: ResizeKernel, threads?: number): Promise<Uint8Array> {
  const size = config.inputSize;
  async function* feeds(): AsyncGenerator<Feeds> {
    for (const file of files) {
      const { input } = await preprocess(new Uint8Array(await readFile(file)), size, kernel);
      yield { [CLASSIFIER_ONNX_INPUT]: { data: input, dims: [1, size, size, 3] } };
    }
  }
  return quantizeExported({ ...classifierGraph(model, config), name: model.name, opset: CLASSIFIER_OPSET }, feeds(), { threads });
}

/** What the classifier graph depends on besides the weights (the ONNX cache's and the int8 cache's keys). */
function classifierOnnxSpec(config: NasnetConfig): unknown {
  return { config: { ...config, genotype: genotypeToJson(config.genotype) }, export: CLASSIFIER_EXPORT_OPTIONS };
}

/** Runs a batch of preprocessed NHWC images and returns class probabilities [N, K]. */
interface ForwardPass {
  run(batch: Float32Array, n: number): Promise<Float32Array>;
  dispose(): Promise<void>;
}

function tfjsForward(model: LayersModel, config: NasnetConfig): ForwardPass {
  const size = config.inputSize;
  return {
    async run(batch, n) {
      const probs = tf.tidy(() => {
        const out = model.predict(tf.tensor4d(batch, [n, size, size, 3])) as tf.Tensor;
        return config.classifierActivation === 'linear' ? tf.softmax(out) : out;
      });
      const data = (await probs.data()) as Float32Array;
      probs.dispose();
      return data;
    },
    async dispose() {
      model.dispose();
    },
  };
}

async function onnxForward(model: LayersModel, config: NasnetConfig, options: WithWeights<LoadClassifierOptions>, int8?: { files: readonly string[]; kernel: ResizeKernel }): Promise<ForwardPass> {
  const size = config.inputSize;
  const open = (bytes: Uint8Array) => OnnxSession.create(bytes, { threads: options.threads, executionProviders: options.executionProviders });
  let session: OnnxSession;
  try {
    // int8 graphs are calibrated at the first load, then read from the int8 cache (keyed by the images too)
    if (int8 !== undefined) {
      const inputs = {
        floatGraph: await onnxGraphDigest(options.weights, classifierOnnxSpec(config)),
        root: options.calibrate!,
        files: int8.files,
        calibrationImages: options.calibrationImages ?? DEFAULT_CALIBRATION_IMAGES,
        kernel: int8.kernel,
      };
      const quantize = () => classifierOnnxInt8(model, config, int8.files, int8.kernel, options.threads);
      session = (await cachedInt8(inputs, quantize, open, { dir: options.int8Cache, logger: options.logger })).value;
    }
    else if (options.onnxCache === false) session = await open(classifierOnnx(model, config));
    else {
      session = (await cachedOnnx(options.weights, { graph: 'classifier', spec: classifierOnnxSpec(config), logger: options.logger }, () => classifierOnnx(model, config), open)).value;
    }
  } finally {
    model.dispose();
  }
  return {
    async run(batch, n) {
      return (await session.run({ [CLASSIFIER_ONNX_INPUT]: { data: batch, dims: [n, size, size, 3] } }))[CLASSIFIER_ONNX_OUTPUT]!.data;
    },
    dispose: () => session.dispose(),
  };
}

function labelTable(labels: readonly ClassLabel[] | 'imagenet', config: NasnetConfig): readonly ClassLabel[] {
  const table = labels === 'imagenet' ? imagenetClasses().map((c) => ({ wnid: c.wnid, label: c.short })) : labels;
  if (table.length !== config.classes) {
    throw new NasnetError('WEIGHTS_MISMATCH', `loadClassifier: the model has ${config.classes} classes but the label table ${table.length}`);
  }
  return table;
}

/** What `nasnet export` writes for a classifier: the ONNX graph (classifierOnnx) and what serving it needs. */
export interface ClassifierExport {
  readonly onnx: Uint8Array;
  readonly config: NasnetConfig;
  /** One entry per output column. */
  readonly labels: readonly ClassLabel[];
  readonly resizeKernel: ResizeKernel;
}

/** Loads the weights (a Keras .h5 or a checkpoint) and exports the classifier to ONNX; no model stays alive. */
export async function exportClassifier(options: WithWeights<Pick<LoadClassifierOptions, 'backbone' | 'fetch' | 'calibrate' | 'calibrationImages'>> & { quantize?: 'int8' }): Promise<ClassifierExport> {
  const files = options.quantize === 'int8' ? await int8Files(options, 'exportClassifier') : undefined;
  const { network, labels, resizeKernel } = await buildWithWeights(await withResolvedWeights(options));
  try {
    const onnx = files === undefined ? classifierOnnx(network.model, network.config) : await classifierOnnxInt8(network.model, network.config, files, resizeKernel);
    return { onnx, config: network.config, labels: labelTable(labels, network.config), resizeKernel };
  } finally {
    network.model.dispose();
  }
}

/** The calibration images an int8 export needs (INVALID_ARGUMENT without `calibrate`). */
async function int8Files(options: Int8Options, fn: string): Promise<string[]> {
  if (options.calibrate === undefined) {
    throw new NasnetError('INVALID_ARGUMENT', `${fn}: int8 quantization needs calibration images: set calibrate to a directory of images`, { field: 'calibrate' });
  }
  return listCalibrationImages(options.calibrate, options.calibrationImages);
}

/** The k largest entries of `probs`, highest first (ties: lower class id first). One pass, k kept in order. */
export function topK(probs: Float32Array, k: number): { classId: number; score: number }[] {
  const ids: number[] = [];
  for (let c = 0; c < probs.length; c++) {
    const score = probs[c] as number;
    if (ids.length === k && !(score > (probs[ids[k - 1]!] as number))) continue; // ties keep the lower id
    let at = ids.length === k ? k - 1 : ids.length;
    while (at > 0 && score > (probs[ids[at - 1]!] as number)) {
      if (at < k) ids[at] = ids[at - 1]!;
      at -= 1;
    }
    ids[at] = c;
  }
  return ids.map((classId) => ({ classId, score: probs[classId] as number }));
}

/** Without `weights`, the embedded default classifier (found from the package, not the caller's cwd). */
export async function loadClassifier(partial: LoadClassifierOptions = {}): Promise<Classifier> {
  const options = await withResolvedWeights({ ...partial, weights: partial.weights ?? defaultClassifierPath() });
  const engine = options.engine ?? 'onnx';
  if (!INFERENCE_ENGINES.includes(engine)) {
    throw new NasnetError('INVALID_ARGUMENT', `loadClassifier: engine must be one of ${INFERENCE_ENGINES.join(', ')}; received ${JSON.stringify(engine)}`);
  }
  // checked before the (slow) build: a bad provider name or calibration directory fails fast, whatever the weights
  const executionProviders = engine !== 'tfjs' ? resolveExecutionProviders(options.executionProviders, 'loadClassifier: executionProviders') : undefined;
  const files = engine === 'onnx-int8' ? await int8Files(options, 'loadClassifier') : undefined;
  const { network, labels, resizeKernel } = await buildWithWeights(options);
  const { config } = network;
  const size = config.inputSize;
  let table: readonly ClassLabel[];
  try {
    table = labelTable(labels, config);
  } catch (error) {
    network.model.dispose();
    throw error;
  }
  const kernel = options.resizeKernel ?? resizeKernel;
  const forward = engine === 'tfjs'
    ? tfjsForward(network.model, config)
    : await onnxForward(network.model, config, { ...options, executionProviders }, files === undefined ? undefined : { files, kernel });
  const info: ModelInfo = {
    name: options.name ?? `nasnet-${config.numCells}@${config.penultimateFilters}`,
    task: 'classification',
    backbone: `NASNet ${config.numCells}@${config.penultimateFilters} (${config.stem} stem)`,
    inputWidth: size,
    inputHeight: size,
    numClasses: config.classes,
    engine: engine === 'onnx' ? 'onnxruntime-node' : engine === 'onnx-int8' ? 'onnxruntime-node-int8' : `tfjs-${currentEngine()?.backend ?? 'unknown'}`,
    ...(executionProviders === undefined ? {} : { executionProviders }),
    ...(files === undefined ? {} : { calibrationImages: files.length }),
  };

  return {
    info,
    async classify(image: Uint8Array, classifyOptions: ClassifyOptions = {}): Promise<{ predictions: ClassPrediction[]; image: ImageMeta }> {
      return (await classifyBatch([image], classifyOptions))[0]!;
    },
    classifyBatch,
    dispose() {
      void forward.dispose();
    },
  };

  async function classifyBatch(images: readonly Uint8Array[], classifyOptions: ClassifyOptions = {}): Promise<{ predictions: ClassPrediction[]; image: ImageMeta }[]> {
      const k = classifyOptions.topK ?? DEFAULT_TOP_K;
      if (!Number.isInteger(k) || k < 1) throw new NasnetError('INVALID_ARGUMENT', `classify: topK must be a positive integer; received ${k}`);
      if (!Array.isArray(images) || images.length === 0) {
        throw new NasnetError('INVALID_ARGUMENT', `classifyBatch: images must be a non-empty array of encoded images; received ${Array.isArray(images) ? 'an empty array' : typeof images}`);
      }
      const inputs = await Promise.all(images.map((image) => preprocess(image, size, kernel, options.maxPixels)));
      const pixels = size * size * 3;
      let batch = inputs[0]!.input;
      if (inputs.length > 1) {
        batch = new Float32Array(inputs.length * pixels);
        inputs.forEach(({ input }, n) => batch.set(input, n * pixels));
      }
      const probs = await forward.run(batch, inputs.length);
      return inputs.map(({ meta }, n) => ({
        predictions: topK(probs.subarray(n * config.classes, (n + 1) * config.classes), Math.min(k, config.classes)).map(({ classId, score }) => ({
          classId,
          wnid: table[classId]!.wnid,
          label: table[classId]!.label,
          score,
        })),
        image: meta,
      }));
  }
}
