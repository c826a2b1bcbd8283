// nasnet export --format onnx|triton --out PATH [--weights PATH] [--task classification|detection] ...
// Writes our ONNX export of a classifier (one graph) or a detector (two graphs: rpn, head) as plain .onnx
// files or as a Triton Inference Server / KServe model repository (src/onnx/triton.ts). docs/onnx.md
// documents the graphs' inputs, outputs and preprocessing.
const USAGE = `Usage: nasnet export --out PATH [options]

Options:
  --format NAME          onnx (default) or triton
  --out PATH             onnx + classification: the .onnx file; onnx + detection: a directory that gets
                         rpn.onnx and head.onnx; triton: the model repository directory (created; other
                         models in it are left alone)
  --weights PATH         classifier: Keras .h5, checkpoint directory or a published name (nasnet-mobile,
                         nasnet-large: see nasnet weights); detector: checkpoint directory
                         (default: the embedded model of the task)
  --task NAME            classification or detection (default: read from the checkpoint, else classification)
  --backbone NAME        preset for .h5 weights: mobile, large, cifar (default: the one the file's weights fit)
  --name NAME            triton model name (default nasnet_classifier; detection: NAME_rpn and NAME_head,
                         default nasnet_detector)
  --max-batch-size N     triton max_batch_size (default 8)
  --max-queue-delay-us N triton dynamic_batching max_queue_delay_microseconds (default 2000)
  --instances N          triton instance_group count, KIND_CPU (default 1)
  --quantize int8        classifier: static int8 quantization (QDQ: per-channel symmetric int8 weights,
                         per-tensor uint8 activations, min/max calibrated on --calibrate; src/onnx/quantize.ts)
  --calibrate DIR        images to calibrate on (searched recursively; a few hundred is enough)
  --calibration-images N at most N of them, evenly spread (default 300)
  -h, --help             this text

Classifier graph: input "image" float32 [N, S, S, 3] NHWC, RGB resized to S x S (the model's input size)
and scaled x / 127.5 - 1; output "probs" float32 [N, K] softmax probabilities. Opset 17, dynamic batch.
Detector graphs (src/onnx/detector_export.ts): rpn (image, window -> features, proposals with their image
index; stage 1, RPN head and proposal selection) and head (features, ROIs -> class_logits, box_deltas;
ROI align and the box head); post-processing stays in nasnet-ts.
A TF Object Detection API export (--weights DIR with pipeline.config + model.ckpt.*, faster_rcnn_nas) writes
src/onnx/odapi_export.ts's rpn (image -> features, box_encodings, objectness) and head (features, rois,
crop_mask -> refined_box_encodings, class_logits) graphs; anchors, proposals and post-processing stay in
nasnet-ts (onnx format only).
Exit codes: 0 ok, 2 bad command line, 3 unreadable weights or unwritable output, 4 invalid weights.
`;

import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { dirname, extname, join } from 'node:path';
import { NASNET_PRESETS, type NasnetPresetName } from '../../backbones/index.js';
import { exportClassifier, CLASSIFIER_ONNX_INPUT, CLASSIFIER_ONNX_OUTPUT } from '../api/classifier.js';
import { defaultClassifierPath, defaultDetectorPath } from '../api/defaults.js';
import { loadFasterRcnn } from '../api/detector.js';
import { PIPELINE_CONFIG, isOdapiDirectory } from '../api/odapi_detector.js';
import { findCheckpointPrefix } from '../../core/tf_checkpoint.js';
import { CheckpointWeights } from '../../detection/odapi/checkpoint_weights.js';
import { readPipelineConfig } from '../../detection/odapi/pipeline_config.js';
import { exportOdapiOnnx } from '../onnx/odapi_export.js';
import { initEngine } from '../../core/engine.js';
import { EXIT, NasnetError } from '../../core/errors.js';
import { exportDetectorOnnx, type DetectorOnnx } from '../onnx/detector_export.js';
import { readOnnxSignature, writeTritonModel, DEFAULT_MAX_BATCH_SIZE, DEFAULT_MAX_QUEUE_DELAY_US, type TritonModelOptions } from '../onnx/triton.js';
import { cliMain, isDirectRun, parseFlags, runMain, type CliStreams } from './run.js';
import { resolveWeights } from '../weights/cache.js';

type Task = 'classification' | 'detection';
type Format = 'onnx' | 'triton';

function usageError(message: string): NasnetError {
  return new NasnetError('INVALID_ARGUMENT', `nasnet export: ${message} (nasnet export --help)`);
}

function oneOf<T extends string>(flag: string, raw: string | undefined, allowed: readonly T[], fallback: T | undefined): T | undefined {
  if (raw === undefined) return fallback;
  if (!(allowed as readonly string[]).includes(raw)) throw usageError(`${flag} must be one of ${allowed.join(', ')}; received ${JSON.stringify(raw)}`);
  return raw as T;
}

function integer(flag: string, raw: string | undefined, min: number, fallback: number): number {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min) throw usageError(`${flag} must be an integer >= ${min}; received ${JSON.stringify(raw)}`);
  return value;
}

/** The task a weights path holds: a checkpoint says so in model.json; a file is a Keras classifier. */
async function taskOf(weights: string): Promise<Task> {
  const info = await stat(weights).catch((error: Error) => {
    throw new NasnetError('IO_ERROR', `nasnet export: cannot read --weights ${weights}: ${error.message}`, { path: weights });
  });
  if (!info.isDirectory()) return 'classification';
  if (await isOdapiDirectory(weights)) return 'detection';
  const manifest = await readFile(join(weights, 'model.json'), 'utf8').then((text) => JSON.parse(text) as { config?: { task?: unknown; format?: unknown } }, () => undefined);
  if (manifest?.config?.task === 'detection') return 'detection';
  if (manifest?.config?.format === 'nasnet-ts/classifier@1') return 'classification';
  throw new NasnetError('CHECKPOINT_INVALID', `nasnet export: ${weights} is neither a classifier nor a detector checkpoint (model.json config)`, { path: weights });
}

async function writeBytes(path: string, bytes: Uint8Array): Promise<void> {
  try {
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, bytes);
  } catch (error) {
    throw new NasnetError('IO_ERROR', `nasnet export: cannot write ${path}: ${(error as Error).message}`, { path });
  }
}

/** The labels of the head output whose last dim is K = classes + background (column 0), if exactly one is. */
function headLabels(head: Uint8Array, classNames: readonly string[]): TritonModelOptions['labels'] {
  const names = ['background', ...classNames];
  const matches = readOnnxSignature(head).outputs.filter((o) => o.dims[o.dims.length - 1] === names.length);
  return matches.length === 1 ? { output: matches[0]!.name, names } : undefined;
}

async function run(argv: string[], io: CliStreams): Promise<number> {
  const { values } = parseFlags(argv, {
    format: { type: 'string' },
    out: { type: 'string' },
    weights: { type: 'string' },
    task: { type: 'string' },
    backbone: { type: 'string' },
    name: { type: 'string' },
    'max-batch-size': { type: 'string' },
    'max-queue-delay-us': { type: 'string' },
    instances: { type: 'string' },
    quantize: { type: 'string' },
    calibrate: { type: 'string' },
    'calibration-images': { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  }, false);
  if (values.help) {
    io.stdout.write(USAGE);
    return EXIT.OK;
  }
  const format = oneOf<Format>('--format', values.format, ['onnx', 'triton'], 'onnx') as Format;
  if (values.out === undefined) throw usageError('--out is required');
  const out = values.out;
  const asked = oneOf<Task>('--task', values.task, ['classification', 'detection'], undefined);
  // A published name (nasnet-mobile, ...) is its cached file, and sets the default preset.
  const resolved = values.weights === undefined ? undefined : await resolveWeights(values.weights);
  const backbone = oneOf('--backbone', values.backbone, Object.keys(NASNET_PRESETS) as NasnetPresetName[], resolved?.entry?.backbone); // undefined: inferred from the file
  const weights = resolved?.path ?? (asked === 'detection' ? defaultDetectorPath() : defaultClassifierPath());
  const task = await taskOf(weights);
  if (asked !== undefined && asked !== task) throw usageError(`--task ${asked} but ${weights} holds a ${task} model`);
  const triton = {
    maxBatchSize: integer('--max-batch-size', values['max-batch-size'], 1, DEFAULT_MAX_BATCH_SIZE),
    maxQueueDelayMicroseconds: integer('--max-queue-delay-us', values['max-queue-delay-us'], 0, DEFAULT_MAX_QUEUE_DELAY_US),
    instances: integer('--instances', values.instances, 1, 1),
  };
  if (format === 'onnx' && task === 'classification' && extname(out).toLowerCase() !== '.onnx') {
    throw usageError(`--out must be a .onnx file for a classifier; received ${out}`);
  }

  const quantize = oneOf<'int8'>('--quantize', values.quantize, ['int8'], undefined);
  if (quantize !== undefined && task !== 'classification') throw usageError('--quantize int8 is implemented for classifiers only (the detector: see BENCHMARKS.md)');
  if (quantize !== undefined && values.calibrate === undefined) throw usageError('--quantize int8 needs --calibrate DIR (images to calibrate on)');
  const calibrationImages = integer('--calibration-images', values['calibration-images'], 1, 300);

  await initEngine({ backend: 'cpu' });
  const written: string[] = [];
  if (task === 'classification') {
    const exported = await exportClassifier({ weights, backbone, quantize, calibrate: values.calibrate, calibrationImages });
    if (format === 'onnx') {
      await writeBytes(out, exported.onnx);
      written.push(out);
    } else {
      const labels = { output: CLASSIFIER_ONNX_OUTPUT, names: exported.labels.map((l) => l.label) };
      written.push(...(await writeTritonModel(out, exported.onnx, { name: values.name ?? 'nasnet_classifier', imageInputs: [CLASSIFIER_ONNX_INPUT], labels, ...triton })));
    }
  } else if (await isOdapiDirectory(weights)) {
    if (format !== 'onnx') throw usageError('--format triton is not available for TF Object Detection API models (their proposal step runs in nasnet-ts); use --format onnx');
    const config = await readPipelineConfig(join(weights, PIPELINE_CONFIG));
    const graphs = exportOdapiOnnx(config, await CheckpointWeights.read(await findCheckpointPrefix(weights)));
    for (const [graph, bytes] of [['rpn', graphs.rpn], ['head', graphs.head]] as const) {
      await writeBytes(join(out, `${graph}.onnx`), bytes);
      written.push(join(out, `${graph}.onnx`));
    }
  } else {
    const model = await loadFasterRcnn(weights);
    let graphs: DetectorOnnx;
    try {
      graphs = exportDetectorOnnx(model);
    } finally {
      model.dispose();
    }
    if (format === 'onnx') {
      for (const [graph, bytes] of [['rpn', graphs.rpn], ['head', graphs.head]] as const) {
        await writeBytes(join(out, `${graph}.onnx`), bytes);
        written.push(join(out, `${graph}.onnx`));
      }
    } else {
      const name = values.name ?? 'nasnet_detector';
      const imageInputs = readOnnxSignature(graphs.rpn).inputs.filter((i) => i.dims.length === 4 && i.dims[3] === 3).map((i) => i.name);
      written.push(...(await writeTritonModel(out, graphs.rpn, { name: `${name}_rpn`, imageInputs, ...triton })));
      const labels = headLabels(graphs.head, model.config.classNames);
      written.push(...(await writeTritonModel(out, graphs.head, { name: `${name}_head`, labels, ...triton })));
    }
  }
  io.stdout.write(`${written.map((path) => `wrote ${path}`).join('\n')}\n`);
  return EXIT.OK;
}

/** `nasnet export ...` (argv without the verb); returns the exit code, reporting errors on stderr. */
export const main = cliMain(run);

if (isDirectRun(import.meta.url)) runMain(main);
