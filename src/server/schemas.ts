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
      properties: { code: { type: 'string', example: 'UNSUPPORTED_MEDIA_TYPE' }, message: { type: 'string' } },
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
          classId: { type: 'integer', description: 'index in the 1000-class ImageNet layout (Keras order)' },
          wnid: { type: 'string', description: 'WordNet id, e.g. n01440764' },
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
  },
} as const;

export const MODELS_RESPONSE = {
  type: 'object',
  properties: {
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
