// nasnet classify IMAGE... [--weights NAME|FILE|DIR] [--fetch] [--backbone mobile|large|cifar] [--top-k K]
//                          [--engine onnx|onnx-int8|tfjs] [--calibrate DIR] [--calibration-images N]
//                          [--backend auto|wasm|cpu|tensorflow] [--threads N]
// nasnet classify --dataset DIR [...]: top-1 / top-5 accuracy on a labelled image folder
// Prints one JSON array to stdout, an entry per image: {image, predictions:[{classId, wnid, label, score}]}
// (scores are softmax probabilities), or {image, error:{code, message}} for an image that cannot be read.
// --weights: a published name (nasnet-mobile, nasnet-large: see `nasnet weights`), a Keras .h5
// (NASNet-mobile.h5, NASNet-large.h5 with --backbone large) or a nasnet-ts classifier checkpoint
// directory; default: the embedded demo classifier shipped in models/default/.
// Exit codes: 0 all classified, 2 bad command line, 3 unreadable weights or image, 4 invalid weights or
// image, 5 bad config, 6 engine unavailable (for images: the code of the first one that failed).
import { readFile } from 'node:fs/promises';
import { INFERENCE_ENGINES, loadClassifier, type InferenceEngine } from '../api/classifier.js';
import { defaultClassifierPath } from '../api/defaults.js';
import { initEngine, parseEngineRequest } from '../../core/engine.js';
import { EXIT, NasnetError, isNasnetError } from '../../core/errors.js';
import { createLogger } from '../../core/logger.js';
import { NASNET_PRESETS, type NasnetPresetName } from '../../backbones/index.js';
import { loadImageFolder } from '../../data/image_folder.js';
import type { Classifier } from '../api/types.js';
import { isDirectRun, parseFlags, runMain, cliMain, type CliStreams } from './run.js';

const USAGE = `Usage: nasnet classify IMAGE... [options]

       nasnet classify --dataset DIR [options]

Options:
  --weights PATH     a published name (nasnet-mobile, nasnet-large; see nasnet weights list), Keras .h5
                     weights or a classifier checkpoint directory (default: the embedded demo model,
                     10 synthetic classes)
  --fetch            download a published name that is not cached yet (same as NASNET_FETCH=1)
  --dataset DIR      measure top-1 / top-5 accuracy on a labelled folder DIR/<class>/<image>, where
                     <class> is a WordNet id (n01440764, the ImageNet val layout) or a label
  --limit N          with --dataset: the first N images (in sorted order) only
  --backbone NAME    preset for .h5 weights: ${Object.keys(NASNET_PRESETS).join(', ')} (default: the one the
                     file's weights fit; a published name sets its own)
  --top-k K          predictions per image (default 5)
  --engine NAME      onnx (onnxruntime-node, default), onnx-int8 (int8, needs --calibrate; calibrated at the
                     first load, then cached in NASNET_HOME/int8) or tfjs
  --calibrate DIR    onnx-int8: images to calibrate the activation ranges on (searched recursively)
  --calibration-images N  onnx-int8: at most N of them, evenly spread (default 300)
  --backend NAME     TensorFlow.js engine: auto, wasm, cpu, tensorflow (env NASNET_BACKEND)
  --threads N        onnxruntime threads (default: one per core)
  -h, --help         this text

Prints a JSON array: [{"image": PATH, "predictions": [{"classId", "wnid", "label", "score"}]}];
with --dataset: {"dataset", "images", "top1", "top5", "failed"}.
Exit codes: 0 ok, 2 bad command line, 3 unreadable file, 4 invalid image or weights, 5 bad config, 6 engine unavailable.
`;

function positiveInt(flag: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1) throw new NasnetError('INVALID_ARGUMENT', `${flag} must be a positive integer; received ${JSON.stringify(raw)}`);
  return value;
}

async function run(argv: string[], io: CliStreams): Promise<number> {
  const { values, positionals } = parseFlags(argv, {
    weights: { type: 'string' },
    fetch: { type: 'boolean' },
    dataset: { type: 'string' },
    limit: { type: 'string' },
    backbone: { type: 'string' },
    'top-k': { type: 'string' },
    engine: { type: 'string' },
    calibrate: { type: 'string' },
    'calibration-images': { type: 'string' },
    backend: { type: 'string' },
    threads: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) {
    io.stdout.write(USAGE);
    return EXIT.OK;
  }
  if (values.dataset !== undefined && positionals.length > 0) throw new NasnetError('INVALID_ARGUMENT', 'classify takes IMAGE arguments or --dataset DIR, not both');
  if (values.dataset === undefined && positionals.length === 0) throw new NasnetError('INVALID_ARGUMENT', `classify needs at least one IMAGE (or --dataset DIR)\n\n${USAGE}`);
  if (values.limit !== undefined && values.dataset === undefined) throw new NasnetError('INVALID_ARGUMENT', '--limit needs --dataset');
  const backbone = values.backbone; // undefined: the preset the .h5's weights fit
  if (backbone !== undefined && !(backbone in NASNET_PRESETS)) {
    throw new NasnetError('INVALID_ARGUMENT', `--backbone must be one of ${Object.keys(NASNET_PRESETS).join(', ')}; received ${JSON.stringify(backbone)}`);
  }
  const engine = (values.engine ?? 'onnx') as InferenceEngine;
  if (!INFERENCE_ENGINES.includes(engine)) throw new NasnetError('INVALID_ARGUMENT', `--engine must be one of ${INFERENCE_ENGINES.join(', ')}; received ${JSON.stringify(values.engine)}`);
  if (engine === 'onnx-int8' && values.calibrate === undefined) throw new NasnetError('INVALID_ARGUMENT', '--engine onnx-int8 needs --calibrate DIR (images to calibrate on)');
  const topK = positiveInt('--top-k', values['top-k'], 5);
  const threads = values.threads === undefined ? undefined : positiveInt('--threads', values.threads, 1);

  await initEngine({ backend: parseEngineRequest(values.backend, process.env), logger: createLogger({ fd: 2, level: 'warn' }) });
  const classifier = await loadClassifier({
    weights: values.weights ?? defaultClassifierPath(),
    ...(backbone === undefined ? {} : { backbone: backbone as NasnetPresetName }),
    ...(values.fetch === true ? { fetch: true } : {}),
    engine,
    threads,
    calibrate: values.calibrate,
    calibrationImages: positiveInt('--calibration-images', values['calibration-images'], 300),
  });
  if (values.dataset !== undefined) {
    try {
      const limit = values.limit === undefined ? undefined : positiveInt('--limit', values.limit, 1);
      const report = await datasetAccuracy(classifier, values.dataset, limit, io);
      io.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
      return report.failed > 0 ? EXIT.INVALID_INPUT : EXIT.OK;
    } finally {
      classifier.dispose();
    }
  }
  const results: unknown[] = [];
  let failed: number = EXIT.OK; // the exit code of the first image that failed
  try {
    for (const image of positionals) {
      try {
        const bytes = await readFile(image).catch((error: Error) => {
          throw new NasnetError('IO_ERROR', `cannot read ${image}: ${error.message}`);
        });
        const { predictions } = await classifier.classify(bytes, { topK });
        results.push({ image, predictions });
      } catch (error) {
        if (!isNasnetError(error)) throw error;
        if (failed === EXIT.OK) failed = error.exitCode;
        results.push({ image, error: { code: error.code, message: error.message } });
        io.stderr.write(`error: ${image}: ${error.message}\n`);
      }
    }
  } finally {
    classifier.dispose();
  }
  io.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
  return failed;
}

export interface DatasetAccuracy {
  readonly dataset: string;
  readonly model: string;
  /** Images classified (those that failed to decode are not counted). */
  readonly images: number;
  readonly top1: number;
  readonly top5: number;
  readonly failed: number;
}

/** Top-1 / top-5 accuracy of `classifier` on DIR/<class>/<image>, a class folder named by wnid or label. */
export async function datasetAccuracy(classifier: Classifier, dir: string, limit: number | undefined, io: CliStreams): Promise<DatasetAccuracy> {
  const folder = await loadImageFolder(dir);
  // The model's classes by wnid and by label: one top-10000 call on any image would be wasteful; probe
  // the labels with the first image's full ranking instead.
  const first = folder.records[0];
  if (first === undefined) throw new NasnetError('INVALID_DATA', `--dataset ${dir}: no images found`);
  const ranking = await classifier.classify(await readImage(first.path), { topK: classifier.info.numClasses });
  const classIdOf = new Map<string, number>();
  for (const p of ranking.predictions) {
    if (p.wnid !== '') classIdOf.set(p.wnid, p.classId);
    if (!classIdOf.has(p.label)) classIdOf.set(p.label, p.classId);
  }
  const unknown = folder.classes.filter((c) => !classIdOf.has(c));
  if (unknown.length > 0) {
    throw new NasnetError('INVALID_DATA', `--dataset ${dir}: ${unknown.length} folder(s) match no class of ${classifier.info.name} by wnid or label: ${unknown.slice(0, 5).join(', ')}`);
  }
  const records = limit === undefined ? folder.records : folder.records.slice(0, limit);
  let top1 = 0;
  let top5 = 0;
  let images = 0;
  let failed = 0;
  for (const record of records) {
    const truth = classIdOf.get(folder.classes[record.label] as string) as number;
    try {
      const { predictions } = await classifier.classify(await readImage(record.path), { topK: 5 });
      images += 1;
      if (predictions[0]?.classId === truth) top1 += 1;
      if (predictions.some((p) => p.classId === truth)) top5 += 1;
    } catch (error) {
      if (!isNasnetError(error)) throw error;
      failed += 1;
      io.stderr.write(`error: ${record.path}: ${error.message}\n`);
    }
  }
  return { dataset: dir, model: classifier.info.name, images, top1: images === 0 ? 0 : top1 / images, top5: images === 0 ? 0 : top5 / images, failed };
}

async function readImage(path: string): Promise<Uint8Array> {
  return readFile(path).catch((error: Error) => {
    throw new NasnetError('IO_ERROR', `cannot read ${path}: ${error.message}`);
  });
}

export const main = cliMain(run);

if (isDirectRun(import.meta.url)) runMain(main);
