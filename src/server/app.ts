// The service as a Fastify instance that never listens: tests drive it with app.inject(), start.ts
// listens. The worker pool is a decorator created once and closed onClose (after in-flight work).
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { NasnetError } from '../../core/errors.js';
import { configureImageDecoding } from '../../core/image_io.js';
import { silentLogger, type Logger } from '../../core/logger.js';
import type { ServerConfig } from './config.js';
import { DEMO_HTML } from './demo_page.js';
import { installErrorHandlers } from './http_errors.js';
import { installApiKey, installCors, requestId } from './access.js';
import { createMetrics, installMetrics, type ServerMetrics } from './metrics.js';
import { InferencePool } from './pool/inference_pool.js';
import { inferenceRoutes } from './routes/inference.js';
import { statusRoutes } from './routes/status.js';
import { REAL_WEIGHTS_COMMAND, demoModels } from './published_models.js';
import { ERROR_SCHEMA, openapiDescription, withUploadBodies } from './schemas.js';

declare module 'fastify' {
  interface FastifyInstance {
    inference: InferencePool;
    metrics: ServerMetrics;
  }
}

export interface BuildAppOptions {
  readonly config: ServerConfig;
  /** Request and lifecycle logs (pino); silent by default. */
  readonly logger?: Logger;
}

/** Slack on top of the inference deadline for receiving the upload and replying. */
const REQUEST_TIMEOUT_SLACK_MS = 10_000;

export function createPool(config: ServerConfig, logger: Logger): InferencePool {
  return new InferencePool({
    workers: config.workers,
    tasksPerWorker: config.tasksPerWorker,
    queueSize: config.queueSize,
    engine: config.engine,
    classifier: config.classifier,
    detector: config.detector,
    modelsDir: config.modelsDir,
    maxPixels: config.maxPixels,
    classifierEngine: config.classifierEngine,
    // workers share the cwd, but an absolute path reads better in their errors
    calibrate: config.calibrate === undefined ? undefined : resolve(config.calibrate),
    calibrationImages: config.calibrationImages,
    proposals: config.detectorProposals,
    roiSamplingRatio: config.detectorRoiSamplingRatio,
    // Each worker's models get an equal share of the cores (onnxruntime would take them all).
    threads: config.threadsPerWorker > 0 ? config.threadsPerWorker : Math.max(1, Math.floor(availableParallelism() / config.workers)),
    logger,
  });
}

export async function buildApp(options: BuildAppOptions): Promise<FastifyInstance> {
  const { config } = options;
  const logger = options.logger ?? silentLogger;
  const app = Fastify({
    loggerInstance: logger as FastifyBaseLogger,
    bodyLimit: config.maxBodyBytes,
    // A client's x-request-id is echoed and logged only if short and plain (access.ts), else replaced.
    requestIdHeader: false,
    genReqId: requestId,
    requestTimeout: config.deadlineMs + REQUEST_TIMEOUT_SLACK_MS,
    // Requests arriving while closing get our JSON 503 from the onRequest hook below instead.
    return503OnClosing: false,
    // Unknown query keys are errors (400), not silently dropped.
    ajv: { customOptions: { removeAdditional: false } },
  });

  // libvips' operation cache only grows RSS for a server that never sees the same image twice.
  configureImageDecoding({ cache: false });
  const pool = createPool(config, logger);
  app.decorate('inference', pool);
  pool.ready.then(
    (models) => logger.info({ models: models.map((m) => `${m.task}: ${m.name} (${m.engine})`), engine: pool.engine }, 'models loaded: ready'),
    (error: unknown) => logger.fatal({ err: error }, 'models failed to load'),
  );
  // Once shutdown starts, new requests (on kept-alive connections) get 503 NOT_READY and readiness
  // drops; requests already received run to the end.
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });
  app.addHook('onRequest', async () => {
    if (closing) throw new NasnetError('NOT_READY', 'the server is shutting down');
  });
  app.addHook('onClose', async () => pool.close());

  const metrics = createMetrics(pool);
  app.decorate('metrics', metrics);
  installErrorHandlers(app, config.retryAfterSeconds, (code) => metrics.rejected.inc({ code }));
  app.addHook('onSend', async (request, reply) => {
    void reply.header('x-request-id', request.id);
    // A kept-alive connection would hold server.close() open until its idle timeout: end it instead.
    if (closing) void reply.header('connection', 'close');
  });
  app.addSchema(ERROR_SCHEMA);

  if (config.docs) {
    await app.register(swagger, {
      // Name shared schemas by their $id ("Error") instead of def-0, def-1, ...
      refResolver: { buildLocalReference: (json, _baseUri, _fragment, i) => (typeof json.$id === 'string' ? json.$id : `def-${i}`) },
      transformObject: (document) => withUploadBodies('openapiObject' in document ? document.openapiObject : document.swaggerObject),
      openapi: {
        openapi: '3.0.3',
        info: {
          title: 'nasnet-ts',
          version: '0.1.0',
          description: openapiDescription(demoModels(config), REAL_WEIGHTS_COMMAND),
        },
      },
    });
    await app.register(swaggerUi, { routePrefix: '/docs' });
  }

  installCors(app, config.corsOrigins);
  installApiKey(app, config.apiKey);
  installMetrics(app, metrics, config.metrics && config.metricsPort === 0);
  await app.register(statusRoutes, { config, pool, isClosing: () => closing });
  await app.register(inferenceRoutes, { config, pool, metrics });
  app.get('/', { schema: { hide: true } }, async (_request, reply) => reply.type('text/html; charset=utf-8').send(DEMO_HTML));
  // Browsers ask for it whatever the page says: no icon, and no 404 in the log.
  app.get('/favicon.ico', { schema: { hide: true } }, async (_request, reply) => reply.code(204).header('cache-control', 'public, max-age=86400').send());
  return app;
}
