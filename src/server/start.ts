// The start file: builds the app, listens, and closes gracefully. On SIGTERM/SIGINT it stops accepting
// connections (new requests get 503 while closing), lets in-flight requests and queued inference finish,
// stops the workers and exits 0; past shutdownGraceMs it exits 1. An uncaught error or models that
// fail to load close the same way and exit 1.
import closeWithGrace from 'close-with-grace';
import type { FastifyInstance } from 'fastify';
import type { Logger } from '../../core/logger.js';
import { resolveModelKind } from '../models/builtin.js';
import { buildApp } from './app.js';
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

  const app = await buildApp({ config, logger });
  let loadError: unknown;
  let markClosed: (code: number) => void = () => undefined;
  const closed = new Promise<number>((resolve) => {
    markClosed = resolve;
  });
  const grace = closeWithGrace({ delay: config.shutdownGraceMs, logger }, async ({ signal, err }) => {
    if (err !== undefined) logger.error({ err }, 'shutting down after an error');
    else logger.info({ signal: signal ?? 'models failed to load' }, 'shutting down: finishing in-flight requests');
    await app.close();
    logger.info('server closed');
    const failure = err ?? loadError;
    markClosed(failure === undefined ? 0 : 1);
    // close-with-grace exits 1 when the handler rejects.
    if (failure !== undefined) throw failure;
  });
  app.inference.ready.catch((error: unknown) => {
    loadError = error;
    void grace.close();
  });

  let url: string;
  try {
    url = await app.listen({ port: config.port, host: config.host });
  } catch (error) {
    grace.uninstall();
    await app.close();
    throw error;
  }
  logger.info({ url, workers: config.workers, engine: config.engine }, 'listening');
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
