// JSON schemas of every route: validation of query strings (unknown keys rejected), fast response
// serialisation, and the OpenAPI document served at /docs.
import { DEFAULT_MIN_SCORE } from '../api/defaults.js';

export const ERROR_SCHEMA = {
  $id: 'Error',
  type: 'object',
  description: 'Every error response: `code` is one of the central error codes (core/errors.ts).',
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      required: ['code', 'message'],
      properties: { code: { type: 'string', description: 'e.g. NOT_AN_IMAGE, UNSUPPORTED_MEDIA_TYPE, QUEUE_FULL' }, message: { type: 'string' } },
    },
  },
} as const;

const errorRef = { $ref: 'Error#' } as const;

/** The error statuses an inference route can answer with, for the OpenAPI document. */
export const INFERENCE_ERROR_RESPONSES = {
  400: { description: 'corrupt, truncated or too small (< 8 px) image, missing field or invalid query value', ...errorRef },
  413: { description: 'body larger than maxBodyBytes, image larger than maxPixels, or more than 256 pages', ...errorRef },
  415: { description: 'not an accepted image format (jpeg, png, webp, avif, tiff, gif), decided from the bytes: gzip/svgz, SVG, PDF, ... are refused', ...errorRef },
  503: { description: 'models not loaded yet, shutting down, or inference queue full (see Retry-After)', ...errorRef },
  504: { description: 'the request did not finish within the deadline', ...errorRef },
} as const;

const imageSize = {
  type: 'object',
  description: 'Size of the image after EXIF auto-orientation, in pixels.',
  required: ['width', 'height'],
  properties: { width: { type: 'integer' }, height: { type: 'integer' } },
} as const;

const timingMs = { type: 'number', description: 'Server time for this request in milliseconds (receive to reply).' } as const;
const model = { type: 'string', description: 'Name of the model that answered (see GET /models).' } as const;

export const CLASSIFY_QUERY = {
  type: 'object',
  additionalProperties: false,
  properties: {
    topK: { type: 'integer', minimum: 1, maximum: 1000, default: 5, description: 'how many classes to return' },
  },
} as const;

export const DETECT_QUERY = {
  type: 'object',
  additionalProperties: false,
  properties: {
    minScore: { type: 'number', minimum: 0, maximum: 1, default: DEFAULT_MIN_SCORE, description: 'drop detections scoring below this' },
    maxDetections: { type: 'integer', minimum: 1, maximum: 1000, default: 100, description: 'at most this many detections (COCO maxDets = 100)' },
  },
} as const;

export const CLASSIFY_RESPONSE = {
  type: 'object',
  required: ['predictions', 'model', 'image', 'timingMs'],
  properties: {
    predictions: {
      type: 'array',
      items: {
        type: 'object',
        required: ['classId', 'label', 'score'],
        properties: {
          classId: { type: 'integer', description: "index in the model's classes: the 1000 ImageNet classes (Keras order) for published weights, 0..9 for the demo model" },
          wnid: { type: 'string', description: 'WordNet id, e.g. n01440764 (empty for the demo model)' },
          label: { type: 'string' },
          score: { type: 'number' },
        },
      },
    },
    model,
    image: imageSize,
    timingMs,
  },
} as const;

export const DETECTION_ITEM = {
  type: 'object',
  required: ['bbox', 'categoryId', 'label', 'score'],
  properties: {
    bbox: {
      type: 'array',
      items: { type: 'number' },
      minItems: 4,
      maxItems: 4,
      description: 'COCO [x, y, width, height] in pixels of the EXIF-oriented original image',
    },
    categoryId: { type: 'integer', description: 'official COCO category id (1..90)' },
    label: { type: 'string' },
    score: { type: 'number' },
  },
} as const;

export const DETECT_RESPONSE = {
  type: 'object',
  required: ['detections', 'model', 'image', 'timingMs'],
  properties: { detections: { type: 'array', items: DETECTION_ITEM }, model, image: imageSize, timingMs },
} as const;

export const DEEPSTACK_RESPONSE = {
  type: 'object',
  required: ['success', 'predictions'],
  properties: {
    success: { type: 'boolean' },
    predictions: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          label: { type: 'string' },
          confidence: { type: 'number' },
          x_min: { type: 'integer' },
          y_min: { type: 'integer' },
          x_max: { type: 'integer' },
          y_max: { type: 'integer' },
        },
      },
    },
    inferenceMs: { type: 'number' },
    processMs: { type: 'number' },
  },
} as const;

const modelInfo = {
  type: 'object',
  properties: {
    kind: { type: 'string', description: 'registry kind the config resolved to' },
    name: { type: 'string' },
    task: { type: 'string', enum: ['classification', 'detection'] },
    backbone: { type: 'string' },
    inputWidth: { type: 'integer' },
    inputHeight: { type: 'integer' },
    numClasses: { type: 'integer' },
    engine: { type: 'string', description: 'what runs the network: onnxruntime-node or tfjs-<backend>' },
    executionProviders: { type: 'array', items: { type: 'string' }, description: 'onnxruntime execution providers in priority order (cuda, cpu, ...)' },
    calibrationImages: { type: 'integer', description: 'engine onnxruntime-node-int8: calibration images the int8 graph was calibrated on' },
    proposals: { type: 'integer', description: 'detectors: stage-2 proposals per image in effect' },
    roiSamplingRatio: { type: 'integer', description: 'our Faster R-CNN detectors: ROI align samples per bin and axis in effect' },
    demo: { type: 'boolean', description: 'true for an embedded demo model (trained on synthetic data, not ImageNet / COCO)' },
    trainedOn: { type: 'string', description: 'for a demo model: what it was trained on' },
  },
} as const;

export const MODELS_RESPONSE = {
  type: 'object',
  properties: {
    demo: { type: 'boolean', description: 'true when either model is a demo model' },
    realWeights: { type: 'string', description: 'when demo: how to serve published weights instead' },
    realWeightsCommand: { type: 'string', description: 'when demo: the command that fetches the published classifier' },
    classifier: modelInfo,
    detector: modelInfo,
    tfjsEngine: {
      type: 'object',
      description: 'The TensorFlow.js engine of the workers (pre/post-processing, and models run with engine tfjs)',
      properties: { backend: { type: 'string' }, package: { type: 'string' }, reason: { type: 'string' } },
    },
    workers: { type: 'integer' },
    tasksPerWorker: { type: 'integer' },
    queueSize: { type: 'integer' },
  },
} as const;

export const STATUS_RESPONSE = {
  type: 'object',
  properties: { status: { type: 'string' } },
} as const;

/** The route descriptions that depend on what the model knows: GET /models says which model is loaded. */
export const CLASSIFY_DESCRIPTION =
  'Top-k classes of the loaded classifier, with softmax scores: the 1000 ImageNet classes with published weights ' +
  '(nasnet-mobile, nasnet-large), but only 10 synthetic classes (shapes and textures) with the embedded demo model ' +
  'that is served when no published weights are cached (GET /models: "demo": true).';
export const DETECT_DESCRIPTION =
  'Detections of the loaded detector; bbox is [x, y, width, height] in pixels of the EXIF-oriented original (COCO ' +
  'results format). The embedded demo detector knows 6 synthetic shapes, not the COCO categories (GET /models).';

/** The OpenAPI document's description: says so when demo models are served. */
export function openapiDescription(demo: readonly { kind: string; trainedOn: string }[], fetchCommand: string): string {
  const base = 'NASNet image classification and Faster R-CNN object detection. Errors are {error: {code, message}}.';
  if (demo.length === 0) return base;
  return `${base}\n\n**This server runs DEMO models**: ${demo.map((d) => `${d.kind} (trained on ${d.trainedOn})`).join('; ')}. ` +
    `Their answers on real photos mean nothing. For the published ImageNet classifier run \`${fetchCommand}\` and restart.`;
}

const IMAGE_BODY_TYPES = ['image/jpeg', 'image/png', 'image/webp', 'image/avif', 'image/tiff', 'image/gif', 'application/octet-stream'] as const;

/** One example error body per status, shown by Swagger UI under each response. */
export const ERROR_EXAMPLES: Readonly<Record<string, { error: { code: string; message: string } }>> = {
  400: { error: { code: 'NOT_AN_IMAGE', message: 'the bytes are not a decodable image: Input buffer contains unsupported image format' } },
  401: { error: { code: 'UNAUTHORIZED', message: 'missing or wrong API key' } },
  404: { error: { code: 'NOT_FOUND', message: 'Route GET /nothing not found' } },
  413: { error: { code: 'PAYLOAD_TOO_LARGE', message: 'the request body exceeds 10485760 bytes' } },
  415: { error: { code: 'UNSUPPORTED_MEDIA_TYPE', message: 'image/svg+xml is not accepted; send jpeg, png, webp, avif, tiff or gif' } },
  500: { error: { code: 'INTERNAL', message: 'an unexpected internal error' } },
  503: { error: { code: 'QUEUE_FULL', message: 'the inference queue is full (64 waiting); retry after 1 s' } },
  504: { error: { code: 'DEADLINE_EXCEEDED', message: 'the request did not finish within 30000 ms' } },
};

type OpenApiDoc = { paths?: Record<string, Record<string, { requestBody?: unknown; responses?: Record<string, { content?: Record<string, { example?: unknown }> }> }>> };

/**
 * Adds what route schemas cannot say without validating the body: a requestBody for the upload routes
 * (a multipart file field "image" or a raw image body), so that Swagger UI's "Try it out" can upload,
 * and an example error per status on every error response. Used as @fastify/swagger's transformObject.
 */
export function withUploadBodies<D>(doc: D): D {
  const paths = (doc as OpenApiDoc).paths ?? {};
  for (const [path, methods] of Object.entries(paths)) {
    for (const operation of Object.values(methods)) {
      for (const [status, response] of Object.entries(operation.responses ?? {})) {
        const media = response.content?.['application/json'];
        const example = ERROR_EXAMPLES[status];
        if (media !== undefined && example !== undefined && media.example === undefined) media.example = example;
      }
    }
    const post = methods.post;
    if (post === undefined || !['/classify', '/detect', '/v1/vision/detection'].includes(path)) continue;
    const deepstack = path === '/v1/vision/detection';
    const multipart = {
      schema: {
        type: 'object',
        required: ['image'],
        properties: {
          image: { type: 'string', format: 'binary', description: 'the image file' },
          ...(deepstack ? { min_confidence: { type: 'string', description: 'minimum score, 0..1 (default 0.45)' } } : {}),
        },
      },
    };
    const raw = Object.fromEntries(IMAGE_BODY_TYPES.map((type) => [type, { schema: { type: 'string', format: 'binary' } }]));
    post.requestBody = {
      required: true,
      description: deepstack ? 'multipart form with the file field "image"' : 'a multipart form with the file field "image", or the image itself as the body',
      content: deepstack ? { 'multipart/form-data': multipart } : { 'multipart/form-data': multipart, ...raw },
    };
  }
  return doc;
}
