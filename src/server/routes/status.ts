// Operations routes: liveness, readiness (503 until every worker has loaded its models, and while
// shutting down) and what is loaded.
import type { FastifyInstance } from 'fastify';
import { NasnetError } from '../../../core/errors.js';
import { demoTrainedOn, resolveModelKind } from '../../models/builtin.js';
import { REAL_WEIGHTS_COMMAND, REAL_WEIGHTS_HINT } from '../published_models.js';
import type { ServerConfig } from '../config.js';
import type { InferencePool } from '../pool/inference_pool.js';
import { ERROR_SCHEMA, MODELS_RESPONSE, STATUS_RESPONSE } from '../schemas.js';

export interface StatusRoutesOptions {
  readonly config: ServerConfig;
  readonly pool: InferencePool;
  readonly isClosing: () => boolean;
}

const errorRef = { $ref: `${ERROR_SCHEMA.$id}#` } as const;

export async function statusRoutes(app: FastifyInstance, options: StatusRoutesOptions): Promise<void> {
  const { config, pool, isClosing } = options;
  const ready = (): boolean => pool.isReady && !isClosing();
  const notReady = (): NasnetError =>
    new NasnetError('NOT_READY', pool.isReady ? 'the server is shutting down' : 'the models are still loading');

  app.get(
    '/healthz',
    { schema: { summary: 'Liveness: 200 while the process is up', tags: ['operations'], response: { 200: STATUS_RESPONSE } } },
    async () => ({ status: 'ok' }),
  );

  app.get(
    '/readyz',
    {
      schema: {
        summary: 'Readiness: 200 once the models are loaded, 503 before and while shutting down',
        tags: ['operations'],
        response: { 200: STATUS_RESPONSE, 503: errorRef },
      },
    },
    async () => {
      if (!ready()) throw notReady();
      return { status: 'ready' };
    },
  );

  app.get(
    '/models',
    {
      schema: {
        summary: 'The loaded models (name, backbone, classes, input size, inference engine, whether each is a demo model) and the TensorFlow.js engine with the reason it was chosen',
        tags: ['operations'],
        response: { 200: MODELS_RESPONSE, 503: errorRef },
      },
    },
    async () => {
      if (!pool.isReady) throw notReady();
      const describe = (task: 'classification' | 'detection', kind: string) => {
        const trainedOn = demoTrainedOn(task, kind);
        return {
          kind: resolveModelKind(task, kind),
          ...pool.models.find((m) => m.task === task),
          demo: trainedOn !== undefined,
          ...(trainedOn === undefined ? {} : { trainedOn }),
        };
      };
      const classifier = describe('classification', config.classifier.kind);
      const detector = describe('detection', config.detector.kind);
      const demo = classifier.demo || detector.demo;
      return {
        demo,
        ...(demo ? { realWeights: REAL_WEIGHTS_HINT, realWeightsCommand: REAL_WEIGHTS_COMMAND } : {}),
        classifier,
        detector,
        tfjsEngine: pool.engine,
        workers: config.workers,
        tasksPerWorker: config.tasksPerWorker,
        queueSize: config.queueSize,
      };
    },
  );
}
