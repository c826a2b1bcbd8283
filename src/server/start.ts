// The start file: builds the app, listens, and closes gracefully. On SIGTERM/SIGINT it stops accepting
// connections (new requests get 503 while closing), lets in-flight requests and queued inference finish,
// stops the workers and exits 0; past shutdownGraceMs it exits 1. An uncaught error closes the same way
// and exits 1. Models are loaded and checked before listening: a missing weights path (IO_ERROR, exit 3),
// weights that do not load (their own code) or a port that is taken (ADDRESS_UNAVAILABLE, exit 6) end
// the start with one typed error, and nothing ever listened. So does a calibration folder without images
// for classifierEngine onnx-int8 (INVALID_CONFIG, exit 5).
import { existsSync } from 'node:fs';
import closeWithGrace from 'close-with-grace';
import type { FastifyInstance } from 'fastify';
import type { ModelInfo } from '../api/types.js';
import { listCalibrationImages } from '../api/int8.js';
import { NasnetError, isNasnetError } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import { resolveModelKind } from '../models/builtin.js';
import { weightsPath, type ModelSpec } from '../models/registry.js';
import { buildApp } from './app.js';
import { listenMetrics } from './metrics.js';
import type { ServerConfig } from './config.js';
import { REAL_WEIGHTS_COMMAND, REAL_WEIGHTS_HINT, chooseServedModels, demoModels } from './published_models.js';

export interface RunningServer {
  readonly app: FastifyInstance;
  /** e.g. http://127.0.0.1:3000 */
  readonly url: string;
  /** Resolves with the exit code once the server has closed (the process then exits with it). */
  readonly closed: Promise<number>;
}

export async function startServer(configured: ServerConfig, logger: Logger): Promise<RunningServer> {
  // Cached published weights replace the demo classifier; a published name that is not cached fails here.
  const config = await chooseServedModels(configured);
  // Unknown model kinds are configuration errors: fail before listening, not in every worker.
  resolveModelKind('classification', config.classifier.kind);
  resolveModelKind('detection', config.detector.kind);
  // Checked here, in one line, rather than as the same failure in every worker.
  checkWeightsExist('classifier', config.classifier, config.modelsDir);
  checkWeightsExist('detector', config.detector, config.modelsDir);
  await checkCalibration(config);

  const app = await buildApp({ config, logger });
  try {
    await app.inference.ready;
  } catch (error) {
    await app.close();
    throw error;
  }
  let markClosed: (code: number) => void = () => undefined;
  const closed = new Promise<number>((resolve) => {
    markClosed = resolve;
  });
  const grace = closeWithGrace({ delay: config.shutdownGraceMs, logger }, async ({ signal, err }) => {
    if (err !== undefined) logger.error({ err }, 'shutting down after an error');
    else logger.info({ signal }, 'shutting down: finishing in-flight requests');
    await app.close();
    logger.info('server closed');
    markClosed(err === undefined ? 0 : 1);
    // close-with-grace exits 1 when the handler rejects.
    if (err !== undefined) throw err;
  });

  if (config.metrics && config.metricsPort > 0) {
    try {
      const metrics = await listenMetrics(app.metrics.registry, config.host, config.metricsPort);
      // Before listen: hooks can no longer be added once the app has started.
      app.addHook('onClose', metrics.close);
      logger.info({ url: metrics.url }, 'metrics listening');
    } catch (error) {
      grace.uninstall();
      await app.close();
      throw listenError(error, { ...config, port: config.metricsPort });
    }
  }
  let url: string;
  try {
    url = await app.listen({ port: config.port, host: config.host });
  } catch (error) {
    grace.uninstall();
    await app.close();
    throw listenError(error, config);
  }
  // What actually runs, not what was asked for ("auto"): the TensorFlow.js engine with the reason it was
  // chosen, and the inference engine of each model.
  const engine = { ...app.inference.engine, requested: config.engine, inference: Object.fromEntries(app.inference.models.map((m) => [m.task, inferenceEngine(m)])) };
  logger.info({ url, workers: config.workers, engine }, 'listening');
  const demos = demoModels(config);
  if (demos.length > 0) {
    logger.warn(
      { demo: demos.map((d) => `${d.task}: ${d.kind}, trained on ${d.trainedOn}`), realWeights: REAL_WEIGHTS_HINT },
      `serving DEMO models (${demos.map((d) => d.kind).join(', ')}), not ImageNet/COCO models; for real weights: ${REAL_WEIGHTS_COMMAND}`,
    );
  } else {
    logger.info({ classifier: config.classifier.kind, detector: config.detector.kind }, 'serving published weights');
  }
  return { app, url, closed };
}

/** e.g. "onnxruntime-node (cuda, cpu)" or "tfjs-wasm". */
function inferenceEngine(model: ModelInfo): string {
  return model.executionProviders === undefined ? model.engine : `${model.engine} (${model.executionProviders.join(', ')})`;
}

function checkWeightsExist(flag: string, spec: ModelSpec, modelsDir: string): void {
  const path = weightsPath(spec, modelsDir);
  if (path !== undefined && !existsSync(path)) {
    throw new NasnetError('IO_ERROR', `--${flag} ${spec.kind}:${spec.weights}: no such file or directory: ${path}`, { path });
  }
}

/** classifierEngine onnx-int8: a missing or imageless calibration folder is a config error (exit 5), found once here. */
async function checkCalibration(config: ServerConfig): Promise<void> {
  if (config.classifierEngine !== 'onnx-int8' || config.calibrate === undefined) return;
  try {
    await listCalibrationImages(config.calibrate, config.calibrationImages);
  } catch (error) {
    if (!isNasnetError(error)) throw error;
    throw new NasnetError('INVALID_CONFIG', `setting "calibrate" (classifierEngine onnx-int8): ${error.message}`, { field: 'calibrate', path: config.calibrate }, { cause: error });
  }
}

/** EADDRINUSE and friends as one typed line (exit 6), not a stack trace. */
function listenError(error: unknown, config: ServerConfig): unknown {
  const code = (error as NodeJS.ErrnoException).code;
  if (code !== 'EADDRINUSE' && code !== 'EACCES' && code !== 'EADDRNOTAVAIL') return error;
  const reason = code === 'EADDRINUSE' ? 'the port is already in use' : code === 'EACCES' ? 'permission denied' : 'the address is not available here';
  return new NasnetError('ADDRESS_UNAVAILABLE', `cannot listen on ${config.host}:${config.port}: ${reason} (${code})`, { code }, { cause: error });
}
