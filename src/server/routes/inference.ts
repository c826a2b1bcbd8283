// POST /classify, POST /detect and the DeepStack-compatible POST /v1/vision/detection. Each request:
// read the upload (body size limit), then run in the worker pool within the request's deadline. The
// worker probes the header before it decodes anything (format allow-list, pixel limit; image_io.fitRgb)
// and answers bad input with a typed error: probing here as well cost the main thread a sharp call per
// request, which capped throughput with small models (BENCHMARKS.md, serve_load).
import type { FastifyInstance, FastifyReply, FastifyRequest, FastifySchema, preValidationHookHandler } from 'fastify';
import type { ModelInfo } from '../../api/types.js';
import { NasnetError } from '../../../core/errors.js';
import type { ServerConfig } from '../config.js';
import { formatValidationErrors } from '../http_errors.js';
import { readImage, registerImageBody } from '../image_body.js';
import type { ServerMetrics } from '../metrics.js';
import type { InferencePool } from '../pool/inference_pool.js';
import type { InferenceOutput, InferenceTask } from '../pool/protocol.js';
import {
  CLASSIFY_DESCRIPTION, CLASSIFY_QUERY, CLASSIFY_RESPONSE, DEEPSTACK_RESPONSE, DETECT_DESCRIPTION, DETECT_QUERY, DETECT_RESPONSE,
  INFERENCE_ERROR_RESPONSES,
} from '../schemas.js';

export interface InferenceRoutesOptions {
  readonly config: ServerConfig;
  readonly pool: InferencePool;
  readonly metrics: ServerMetrics;
}

const CONSUMES = ['multipart/form-data', 'image/jpeg', 'image/png', 'image/webp', 'image/avif', 'image/tiff', 'image/gif', 'application/octet-stream'];
/** DeepStack's default min_confidence (johnolafenwa/deepstack-docs, object-detection). */
const DEEPSTACK_MIN_CONFIDENCE = 0.45;

function routeSchema(summary: string, description: string, query: { properties: object }, ok: object): FastifySchema {
  return {
    summary,
    description: `${description} Send the image as a multipart file field \`image\` or as a raw image/* body.`,
    tags: ['inference'],
    consumes: CONSUMES,
    querystring: query,
    response: { 200: ok, ...INFERENCE_ERROR_RESPONSES },
  };
}

/** A plain decimal: optional sign, digits with an optional fraction, an optional exponent. */
const DECIMAL = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;

/**
 * Numeric query values must be finite decimals. Ajv coerces with Number(), which also takes "0x10",
 * "0b1", " 5 " and "Infinity" (the last then failed in the worker as "received null" or Infinity).
 */
function decimalQuery(query: { properties: object }): preValidationHookHandler {
  const numeric = Object.entries(query.properties)
    .filter(([, spec]) => ['number', 'integer'].includes((spec as { type?: string }).type ?? ''))
    .map(([key]) => key);
  return async (request) => {
    const values = request.query as Record<string, unknown>;
    for (const key of numeric) {
      const raw = values[key];
      if (typeof raw === 'string' && !(DECIMAL.test(raw) && Number.isFinite(Number(raw)))) {
        throw new NasnetError('INVALID_ARGUMENT', `query parameter "${key}" must be a finite decimal number; received ${JSON.stringify(raw.slice(0, 64))}`);
      }
    }
  };
}

function validationFormatter(query: { properties: object }) {
  const allowed = Object.keys(query.properties);
  return (errors: Parameters<typeof formatValidationErrors>[0], dataVar: string) => formatValidationErrors(errors, dataVar, allowed);
}

/**
 * Aborts when the client's connection closes before the reply is sent (client timeout, cancelled
 * upload): the pool then drops the queued job instead of running it for nobody.
 */
function clientGone(request: FastifyRequest, reply: FastifyReply): AbortSignal {
  const controller = new AbortController();
  const response = reply.raw;
  if (request.raw.socket?.destroyed === true) controller.abort();
  else response.once('close', () => {
    if (!response.writableEnded) controller.abort();
  });
  return controller.signal;
}

function elapsedMs(reply: FastifyReply): number {
  return Math.round(reply.elapsedTime * 10) / 10;
}

export async function inferenceRoutes(app: FastifyInstance, options: InferenceRoutesOptions): Promise<void> {
  const { config, pool, metrics } = options;
  await registerImageBody(app, config.maxBodyBytes);

  const modelFor = (task: ModelInfo['task']): string => pool.models.find((m) => m.task === task)?.name ?? 'unknown';

  async function infer<K extends InferenceTask['kind']>(
    request: FastifyRequest,
    reply: FastifyReply,
    task: InferenceTask & { kind: K },
  ): Promise<Extract<InferenceOutput, { kind: K }> & { inferenceMs: number }> {
    const remaining = config.deadlineMs - reply.elapsedTime;
    if (remaining <= 0) throw new NasnetError('DEADLINE_EXCEEDED', `the request did not finish within ${config.deadlineMs} ms`);
    const result = await pool.run(task, remaining, clientGone(request, reply));
    metrics.inferenceSeconds.observe({ task: task.kind }, result.inferenceMs / 1000);
    return { ...(result.output as Extract<InferenceOutput, { kind: K }>), inferenceMs: result.inferenceMs };
  }

  app.post(
    '/classify',
    {
      schema: routeSchema('Classify an image', CLASSIFY_DESCRIPTION, CLASSIFY_QUERY, CLASSIFY_RESPONSE),
      schemaErrorFormatter: validationFormatter(CLASSIFY_QUERY),
      preValidation: decimalQuery(CLASSIFY_QUERY),
    },
    async (request, reply) => {
      const { topK } = request.query as { topK: number };
      const { bytes } = await readImage(request);
      const out = await infer(request, reply, { kind: 'classify', image: bytes, topK });
      return {
        predictions: out.predictions,
        model: modelFor('classification'),
        image: { width: out.image.width, height: out.image.height },
        timingMs: elapsedMs(reply),
      };
    },
  );

  app.post(
    '/detect',
    {
      schema: routeSchema(
        'Detect objects',
        DETECT_DESCRIPTION,
        DETECT_QUERY,
        DETECT_RESPONSE,
      ),
      schemaErrorFormatter: validationFormatter(DETECT_QUERY),
      preValidation: decimalQuery(DETECT_QUERY),
    },
    async (request, reply) => {
      const { minScore, maxDetections } = request.query as { minScore: number; maxDetections: number };
      const { bytes } = await readImage(request);
      const out = await infer(request, reply, { kind: 'detect', image: bytes, minScore, maxDetections });
      return {
        detections: out.detections,
        model: modelFor('detection'),
        image: { width: out.image.width, height: out.image.height },
        timingMs: elapsedMs(reply),
      };
    },
  );

  const noQuery = { type: 'object', additionalProperties: false, properties: {} } as const;
  app.post(
    '/v1/vision/detection',
    {
      schema: {
        ...routeSchema(
          'DeepStack / CodeProject.AI compatible detection',
          'For Frigate, Blue Iris and Home Assistant: multipart field `image`, optional form field `min_confidence` (default 0.45); integer pixel corners.',
          noQuery,
          DEEPSTACK_RESPONSE,
        ),
        tags: ['compatibility'],
      },
      schemaErrorFormatter: validationFormatter(noQuery),
    },
    async (request, reply) => {
      const { bytes, fields } = await readImage(request);
      const raw = fields.min_confidence;
      const minScore = raw === undefined ? DEEPSTACK_MIN_CONFIDENCE : Number(raw);
      if (raw !== undefined && (raw.trim() === '' || !(minScore >= 0 && minScore <= 1))) {
        throw new NasnetError('INVALID_ARGUMENT', `form field "min_confidence" must be a number in [0, 1]; received ${JSON.stringify(raw)}`);
      }
      const out = await infer(request, reply, { kind: 'detect', image: bytes, minScore, maxDetections: 100 });
      const predictions = out.detections.map((d) => ({
        label: d.label,
        confidence: d.score,
        x_min: Math.round(d.bbox[0]),
        y_min: Math.round(d.bbox[1]),
        x_max: Math.round(d.bbox[0] + d.bbox[2]),
        y_max: Math.round(d.bbox[1] + d.bbox[3]),
      }));
      return { success: true, predictions, inferenceMs: Math.round(out.inferenceMs), processMs: Math.round(elapsedMs(reply)) };
    },
  );
}
