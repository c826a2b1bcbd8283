// nasnet detect IMAGE... [--out results.json]             detections of each image as JSON
// nasnet detect --dataset GT.json --images DIR --out R.json  a COCO results file for a whole set
// Detections are COCO boxes [x, y, w, h] in pixels of the (EXIF-oriented) original image. The dataset
// mode runs every image of GT.json (file_name under DIR) and writes [{image_id, category_id, bbox, score}],
// which `coco-eval GT.json R.json` reads directly.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { loadDetector, DEFAULT_MIN_SCORE } from '../api/detector.js';
import { defaultDetectorPath } from '../api/defaults.js';
import type { Detector } from '../api/types.js';
import type { InferenceEngine } from '../api/classifier.js';
import { initEngine, parseEngineRequest } from '../../core/engine.js';
import { EXIT, NasnetError, isNasnetError } from '../../core/errors.js';
import { createLogger } from '../../core/logger.js';
import type { CocoResult } from 'pycocotools-js';
import { cliMain, isDirectRun, parseFlags, runMain, type CliStreams } from './run.js';

const USAGE = `Usage: nasnet detect IMAGE... [options]
       nasnet detect --dataset GT.json --images DIR --out RESULTS.json [options]

Options:
  --weights DIR          detector checkpoint, or a TF Object Detection API export (pipeline.config +
                         model.ckpt.*, e.g. faster_rcnn_nas_coco_2018_01_28; COCO ids and names)
                         (default: the embedded model in models/default/detector)
  --out FILE             write the JSON there instead of stdout (required with --dataset)
  --dataset GT.json      COCO instances file: run every image it lists (file_name under --images)
  --images DIR           image folder of --dataset
  --min-score X          drop detections below X (default ${DEFAULT_MIN_SCORE}, as the service; with --dataset
                         0.001, the low-score tail that COCO AP needs)
  --max-detections N     per image (default 100)
  --proposals N          ROIs per image through the box head (default: the checkpoint's test setting; the
                         OD API's "lowproposals" configs use 50; fewer is faster, see BENCHMARKS.md)
  --roi-sampling-ratio N ROI align samples per bin and axis (default: the checkpoint's; 1 = the OD API's
                         crop_and_resize, cheaper)
  --engine NAME          onnx (onnxruntime-node, default) or tfjs
  --backend NAME         TensorFlow.js engine: auto, wasm, cpu, tensorflow (env NASNET_BACKEND)
  --threads N            onnxruntime threads (default: one per core)
  -h, --help             this text

Image mode prints [{"image": PATH, "detections": [{"bbox": [x,y,w,h], "categoryId", "label", "score"}]}].
Dataset mode writes a COCO results file: [{"image_id", "category_id", "bbox", "score"}].
Exit codes: 0 ok, 2 bad command line, 3 unreadable file, 4 invalid image or data, 5 bad config, 6 engine unavailable
(image mode: the code of the first image that failed; the others are still detected).
`;

function numberFlag(flag: string, raw: string | undefined, fallback: number, ok: (v: number) => boolean, expected: string): number {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (raw.trim() === '' || !ok(value)) throw new NasnetError('INVALID_ARGUMENT', `${flag} must be ${expected}; received ${JSON.stringify(raw)}`, { field: flag });
  return value;
}

async function readBytes(path: string): Promise<Buffer> {
  return readFile(path).catch((error: Error) => {
    throw new NasnetError('IO_ERROR', `cannot read ${path}: ${error.message}`, { path });
  });
}

/** The (id, file_name) of every image of a COCO instances file. */
export async function datasetImages(file: string): Promise<{ id: number; fileName: string }[]> {
  let document: unknown;
  try {
    document = JSON.parse((await readBytes(file)).toString('utf8'));
  } catch (error) {
    if (isNasnetError(error)) throw error;
    throw new NasnetError('INVALID_JSON', `${file} is not valid JSON: ${(error as Error).message}`, { file });
  }
  const images = (document as { images?: unknown } | null)?.images;
  if (!Array.isArray(images)) throw new NasnetError('INVALID_DATA', `${file}: "images" must be an array`, { file });
  return images.map((image: unknown, i) => {
    const { id, file_name: fileName } = (image ?? {}) as { id?: unknown; file_name?: unknown };
    if (typeof id !== 'number' || !Number.isInteger(id) || typeof fileName !== 'string' || fileName === '') {
      throw new NasnetError('INVALID_DATA', `${file}: images[${i}] needs an integer "id" and a "file_name"; received ${JSON.stringify(image)?.slice(0, 80)}`, { file, index: i });
    }
    return { id, fileName };
  });
}

async function runDataset(detector: Detector, gt: string, dir: string, options: { minScore: number; maxDetections: number }, io: CliStreams): Promise<CocoResult[]> {
  const images = await datasetImages(gt);
  const results: CocoResult[] = [];
  const started = performance.now();
  for (const [i, { id, fileName }] of images.entries()) {
    const { detections } = await detector.detect(await readBytes(join(dir, fileName)), options);
    for (const d of detections) {
      results.push({ image_id: id, category_id: d.categoryId, bbox: d.bbox.map((v) => Math.round(v * 100) / 100), score: Math.round(d.score * 1e5) / 1e5 });
    }
    if ((i + 1) % 50 === 0 || i + 1 === images.length) {
      io.stderr.write(`detect: ${i + 1}/${images.length} images, ${((performance.now() - started) / (i + 1)).toFixed(0)} ms/image\n`);
    }
  }
  return results;
}

async function runImages(detector: Detector, paths: readonly string[], options: { minScore: number; maxDetections: number }, io: CliStreams) {
  let failed: number = EXIT.OK;
  const out: unknown[] = [];
  for (const image of paths) {
    try {
      const { detections } = await detector.detect(await readBytes(image), options);
      out.push({ image, detections });
    } catch (error) {
      if (!isNasnetError(error)) throw error;
      if (failed === EXIT.OK) failed = error.exitCode;
      out.push({ image, error: { code: error.code, message: error.message } });
      io.stderr.write(`error: ${image}: ${error.message}\n`);
    }
  }
  return { out, failed };
}

async function run(argv: string[], io: CliStreams): Promise<number> {
  const { values, positionals } = parseFlags(argv, {
    weights: { type: 'string' }, out: { type: 'string' }, dataset: { type: 'string' }, images: { type: 'string' },
    'min-score': { type: 'string' }, 'max-detections': { type: 'string' }, engine: { type: 'string' },
    backend: { type: 'string' }, threads: { type: 'string' }, proposals: { type: 'string' }, 'roi-sampling-ratio': { type: 'string' }, help: { type: 'boolean', short: 'h' },
  });
  if (values.help) {
    io.stdout.write(USAGE);
    return EXIT.OK;
  }
  const datasetMode = values.dataset !== undefined;
  if (datasetMode && (values.images === undefined || values.out === undefined || positionals.length > 0)) {
    throw new NasnetError('INVALID_ARGUMENT', `--dataset needs --images DIR and --out FILE, and no IMAGE arguments\n\n${USAGE}`);
  }
  if (!datasetMode && positionals.length === 0) throw new NasnetError('INVALID_ARGUMENT', `detect needs at least one IMAGE or --dataset\n\n${USAGE}`);
  const engine = (values.engine ?? 'onnx') as InferenceEngine;
  if (engine !== 'onnx' && engine !== 'tfjs') throw new NasnetError('INVALID_ARGUMENT', `--engine must be onnx or tfjs; received ${JSON.stringify(values.engine)}`);
  const options = {
    minScore: numberFlag('--min-score', values['min-score'], datasetMode ? 0.001 : DEFAULT_MIN_SCORE, (v) => v >= 0 && v <= 1, 'a number in [0, 1]'),
    maxDetections: numberFlag('--max-detections', values['max-detections'], 100, (v) => Number.isInteger(v) && v >= 1, 'a positive integer'),
  };
  const threads = values.threads === undefined ? undefined : numberFlag('--threads', values.threads, 1, (v) => Number.isInteger(v) && v >= 1, 'a positive integer');

  await initEngine({ backend: parseEngineRequest(values.backend, process.env), logger: createLogger({ fd: 2, level: 'warn' }) });
  const proposals = values.proposals === undefined ? undefined : numberFlag('--proposals', values.proposals, 1, (v) => Number.isInteger(v) && v >= 1, 'a positive integer');
  const roiSamplingRatio = values['roi-sampling-ratio'] === undefined ? undefined
    : numberFlag('--roi-sampling-ratio', values['roi-sampling-ratio'], 1, (v) => Number.isInteger(v) && v >= 1, 'a positive integer');
  const detector = await loadDetector({ weights: values.weights ?? defaultDetectorPath(), engine, threads, proposals, roiSamplingRatio });
  let json: unknown;
  let failed: number = EXIT.OK;
  try {
    if (datasetMode) json = await runDataset(detector, values.dataset!, values.images!, options, io);
    else ({ out: json, failed } = await runImages(detector, positionals, options, io));
  } finally {
    detector.dispose();
  }
  const text = `${JSON.stringify(json, null, datasetMode ? undefined : 2)}\n`;
  if (values.out === undefined) io.stdout.write(text);
  else {
    await writeFile(values.out, text).catch((error: Error) => {
      throw new NasnetError('IO_ERROR', `cannot write ${values.out}: ${error.message}`, { path: values.out });
    });
  }
  return failed;
}

export const main = cliMain(run);

if (isDirectRun(import.meta.url)) runMain(main);
