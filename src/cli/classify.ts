// nasnet classify IMAGE... [--weights FILE|DIR] [--backbone mobile|large|cifar] [--top-k K]
//                          [--engine onnx|onnx-int8|tfjs] [--calibrate DIR] [--calibration-images N]
//                          [--backend auto|wasm|cpu|tensorflow] [--threads N]
// Prints one JSON array to stdout, an entry per image: {image, predictions:[{classId, wnid, label, score}]}
// (scores are softmax probabilities), or {image, error:{code, message}} for an image that cannot be read.
// --weights: a Keras .h5 (NASNet-mobile.h5, NASNet-large.h5 with --backbone large) or a nasnet-ts
// classifier checkpoint directory; default: the embedded classifier shipped in models/default/.
// Exit codes: 0 all classified, 2 bad command line, 3 unreadable weights, 4 an image was invalid,
// 5 bad config, 6 engine unavailable.
import { readFile } from 'node:fs/promises';
import { INFERENCE_ENGINES, loadClassifier, type InferenceEngine } from '../api/classifier.js';
import { defaultClassifierPath } from '../api/defaults.js';
import { initEngine, parseEngineRequest } from '../../core/engine.js';
import { EXIT, NasnetError, isNasnetError } from '../../core/errors.js';
import { createLogger } from '../../core/logger.js';
import { NASNET_PRESETS, type NasnetPresetName } from '../../backbones/index.js';
import { isDirectRun, parseFlags, runMain, cliMain, type CliStreams } from './run.js';

const USAGE = `Usage: nasnet classify IMAGE... [options]

Options:
  --weights PATH     Keras .h5 weights or a classifier checkpoint directory (default: the embedded model)
  --backbone NAME    preset for .h5 weights: ${Object.keys(NASNET_PRESETS).join(', ')} (default mobile)
  --top-k K          predictions per image (default 5)
  --engine NAME      onnx (onnxruntime-node, default), onnx-int8 (int8 quantized at load, needs --calibrate)
                     or tfjs
  --calibrate DIR    onnx-int8: images to calibrate the activation ranges on (searched recursively)
  --calibration-images N  onnx-int8: at most N of them, evenly spread (default 300)
  --backend NAME     TensorFlow.js engine: auto, wasm, cpu, tensorflow (env NASNET_BACKEND)
  --threads N        onnxruntime threads (default: one per core)
  -h, --help         this text

Prints a JSON array: [{"image": PATH, "predictions": [{"classId", "wnid", "label", "score"}]}].
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
  if (positionals.length === 0) throw new NasnetError('INVALID_ARGUMENT', `classify needs at least one IMAGE\n\n${USAGE}`);
  const backbone = values.backbone ?? 'mobile';
  if (!(backbone in NASNET_PRESETS)) {
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
    backbone: backbone as NasnetPresetName,
    engine,
    threads,
    calibrate: values.calibrate,
    calibrationImages: positiveInt('--calibration-images', values['calibration-images'], 300),
  });
  const results: unknown[] = [];
  let failed = false;
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
        failed = true;
        results.push({ image, error: { code: error.code, message: error.message } });
        io.stderr.write(`error: ${image}: ${error.message}\n`);
      }
    }
  } finally {
    classifier.dispose();
  }
  io.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
  return failed ? EXIT.INVALID_INPUT : EXIT.OK;
}

export const main = cliMain(run);

if (isDirectRun(import.meta.url)) runMain(main);
