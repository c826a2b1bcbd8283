// The service configuration: one typed object with documented defaults, resolved once from flags, env
// and an optional JSON file (defaults < file < env < flags). Only the start file and the CLI call
// resolveServerConfig; everything below them receives the resolved object.
import { availableParallelism } from 'node:os';
import {
  boolField,
  describeSchema,
  enumField,
  envSource,
  fileSource,
  intField,
  optionalIntField,
  optionalStringField,
  resolveConfig,
  stringField,
  type ConfigSchema,
  type ConfigSource,
  rejectValue,
  type FieldSpec,
} from '../../core/config.js';
import { ENGINE_NAMES, type EngineRequest } from '../../core/engine.js';
import { NasnetError } from '../../core/errors.js';
import { CLASSIFIER_ENGINES, DEFAULT_MODEL_KIND, type ClassifierEngine, type ModelSpec } from '../models/registry.js';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface ServerConfig {
  readonly port: number;
  readonly host: string;
  /** Inference worker threads, each with its own engine and model copies. */
  readonly workers: number;
  /** Requests a worker runs at once: 2 lets one image decode while another runs the network. */
  readonly tasksPerWorker: number;
  /** onnxruntime intra-op threads of each worker's models; 0 = the cores divided among the workers. */
  readonly threadsPerWorker: number;
  /** Requests allowed to wait for a worker; one more gets 503 + Retry-After. */
  readonly queueSize: number;
  readonly deadlineMs: number;
  readonly retryAfterSeconds: number;
  readonly maxBodyBytes: number;
  readonly maxPixels: number;
  readonly engine: EngineRequest;
  readonly classifier: ModelSpec;
  readonly detector: ModelSpec;
  readonly classifierEngine: ClassifierEngine;
  /** Folder of calibration images (searched recursively); required by classifierEngine onnx-int8. */
  readonly calibrate: string | undefined;
  /** At most this many calibration images, an even stride over the sorted files. */
  readonly calibrationImages: number;
  /** Stage-2 proposals per image of the detector; undefined = the checkpoint's. */
  readonly detectorProposals: number | undefined;
  /** ROI align samples per bin and axis of our Faster R-CNN detectors; undefined = the checkpoint's. */
  readonly detectorRoiSamplingRatio: number | undefined;
  /** Relative weight paths are resolved against this folder (the container mounts /models). */
  readonly modelsDir: string;
  readonly logLevel: LogLevel;
  readonly shutdownGraceMs: number;
  /** Serve the OpenAPI document and Swagger UI at /docs. */
  readonly docs: boolean;
  /** Serve Prometheus metrics at /metrics. */
  readonly metrics: boolean;
  /** 0: /metrics on the main port; else its own listener on this port (same host), off the public one. */
  readonly metricsPort: number;
  /** When set, every route but /healthz, /readyz and the demo page needs header x-api-key equal to it. */
  readonly apiKey: string;
  /** CORS: '' off, '*' any origin, or a comma-separated list of origins (https://a.example,https://b.example). */
  readonly corsOrigins: string;
}

/**
 * A model is `{kind, weights?}` in a config file, or `kind` / `kind:weights` in flags and env
 * (e.g. `--detector faster-rcnn-nasnet:frcnn.ckpt`).
 */
export function modelField(doc: string, env: string): FieldSpec<ModelSpec> {
  const expected = 'a model kind ("default", "placeholder-tiny", ...) as "kind", "kind:weights" or {"kind", "weights"}';
  const fail = (): never => rejectValue(expected);
  return {
    default: { kind: DEFAULT_MODEL_KIND },
    doc,
    env,
    expected,
    parse(raw) {
      if (typeof raw === 'string') {
        const colon = raw.indexOf(':');
        const kind = colon < 0 ? raw : raw.slice(0, colon);
        const weights = colon < 0 ? undefined : raw.slice(colon + 1);
        if (kind === '' || weights === '') return fail();
        return weights === undefined ? { kind } : { kind, weights };
      }
      if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return fail();
      const { kind, weights, ...rest } = raw as Record<string, unknown>;
      if (typeof kind !== 'string' || kind === '' || Object.keys(rest).length > 0) return fail();
      if (weights === undefined) return { kind };
      if (typeof weights !== 'string' || weights === '') return fail();
      return { kind, weights };
    },
  };
}

export const SERVER_CONFIG_SCHEMA: ConfigSchema<ServerConfig> = {
  port: intField(3000, 'TCP port to listen on (0 = any free port)', { min: 0, max: 65535, env: 'PORT' }),
  host: stringField('127.0.0.1', 'address to listen on (0.0.0.0 in containers)', { env: 'HOST' }),
  workers: intField(availableParallelism(), 'inference worker threads (default: number of cores)', {
    min: 1,
    max: 64,
    env: 'NASNET_WORKERS',
  }),
  tasksPerWorker: intField(2, 'requests one worker runs concurrently (decode overlaps inference)', {
    min: 1,
    max: 8,
    env: 'NASNET_TASKS_PER_WORKER',
  }),
  threadsPerWorker: intField(0, 'onnxruntime intra-op threads per worker (0 = cores / workers)', {
    min: 0,
    max: 64,
    env: 'NASNET_THREADS_PER_WORKER',
  }),
  queueSize: intField(64, 'requests that may wait for a worker before 503', { min: 0, max: 100_000, env: 'NASNET_QUEUE_SIZE' }),
  deadlineMs: intField(30_000, 'per-request deadline in ms (504 when exceeded)', { min: 1, max: 3_600_000, env: 'NASNET_DEADLINE_MS' }),
  retryAfterSeconds: intField(1, 'Retry-After seconds sent with 503', { min: 0, max: 3600, env: 'NASNET_RETRY_AFTER_SECONDS' }),
  maxBodyBytes: intField(10 * 1024 * 1024, 'largest accepted upload in bytes (413 above)', {
    min: 1024,
    max: 1024 * 1024 * 1024,
    env: 'NASNET_MAX_BODY_BYTES',
  }),
  maxPixels: intField(40_000_000, 'largest accepted image in pixels, width*height (413 above)', {
    min: 1,
    max: 268_402_689,
    env: 'NASNET_MAX_PIXELS',
  }),
  engine: enumField<EngineRequest>('auto', ['auto', ...ENGINE_NAMES], 'TensorFlow.js engine of each worker', { env: 'NASNET_BACKEND' }),
  classifier: modelField('classification model', 'NASNET_CLASSIFIER'),
  detector: modelField('detection model', 'NASNET_DETECTOR'),
  classifierEngine: enumField<ClassifierEngine>('onnx', CLASSIFIER_ENGINES, 'classifier inference: float32 or int8 (needs calibrate)', {
    env: 'NASNET_CLASSIFIER_ENGINE',
  }),
  calibrate: optionalStringField('folder of calibration images for classifierEngine onnx-int8 (the int8 graph is cached under NASNET_HOME/int8)', {
    env: 'NASNET_CALIBRATE',
  }),
  calibrationImages: intField(300, 'calibration images used at most (an even stride over the folder)', {
    min: 1,
    max: 100_000,
    env: 'NASNET_CALIBRATION_IMAGES',
  }),
  detectorProposals: optionalIntField("stage-2 proposals per image of the detector, unset = its checkpoint's", {
    min: 1,
    max: 100_000,
    env: 'NASNET_DETECTOR_PROPOSALS',
  }),
  detectorRoiSamplingRatio: optionalIntField("detector ROI align samples per bin and axis (our Faster R-CNN only), unset = its checkpoint's", {
    min: 1,
    max: 64,
    env: 'NASNET_DETECTOR_ROI_SAMPLING_RATIO',
  }),
  modelsDir: stringField('models', 'folder that relative weight paths are resolved against', { env: 'NASNET_MODELS_DIR' }),
  logLevel: enumField<LogLevel>('info', LOG_LEVELS, 'pino log level', { env: 'LOG_LEVEL' }),
  shutdownGraceMs: intField(10_000, 'on SIGTERM, how long in-flight requests may take before a forced exit', {
    min: 0,
    max: 600_000,
    env: 'NASNET_SHUTDOWN_GRACE_MS',
  }),
  docs: boolField(true, 'serve OpenAPI JSON and Swagger UI at /docs', { env: 'NASNET_DOCS' }),
  metrics: boolField(true, 'serve Prometheus metrics at /metrics', { env: 'NASNET_METRICS' }),
  metricsPort: intField(0, 'serve /metrics on this port instead of the main one (0 = main port)', { min: 0, max: 65535, env: 'NASNET_METRICS_PORT' }),
  apiKey: stringField('', 'require header x-api-key with this value (health checks exempt; empty = off; prefer the env variable)', {
    env: 'NASNET_API_KEY',
    allowEmpty: true,
  }),
  corsOrigins: stringField('', "CORS allowed origins: '*' or a comma-separated list (empty = off)", { env: 'NASNET_CORS_ORIGINS', allowEmpty: true }),
};

export const DEFAULT_SERVER_CONFIG: ServerConfig = resolveConfig(SERVER_CONFIG_SCHEMA, []);

/**
 * Resolves the service config. `flags` holds camelCase keys (as parsed by the CLI); `file` is the path
 * of a JSON file whose keys are the same names. Errors name the field, the source and the valid values.
 */
export function resolveServerConfig(
  flags: Readonly<Record<string, unknown>> = {},
  env: Readonly<Record<string, string | undefined>> = {},
  file?: string,
): ServerConfig {
  const sources: ConfigSource[] = [];
  if (file !== undefined) sources.push(fileSource(file));
  sources.push(envSource(SERVER_CONFIG_SCHEMA, env), { name: 'command line', values: flags });
  return checkServerConfig(resolveConfig(SERVER_CONFIG_SCHEMA, sources));
}

/** The checks that involve two settings (each field alone was checked by its parser). */
export function checkServerConfig(config: ServerConfig): ServerConfig {
  if (config.classifierEngine === 'onnx-int8' && config.calibrate === undefined) {
    throw new NasnetError(
      'INVALID_CONFIG',
      'setting "calibrate" is required when "classifierEngine" is "onnx-int8": give a folder of calibration images (--calibrate DIR or NASNET_CALIBRATE)',
      { field: 'calibrate' },
    );
  }
  return config;
}

/** Config with overrides on top of the defaults, for tests and embedding (same validation). */
export function serverConfig(overrides: Partial<ServerConfig> = {}): ServerConfig {
  return checkServerConfig(resolveConfig(SERVER_CONFIG_SCHEMA, [{ name: 'overrides', values: overrides }]));
}

export function describeServerConfig(label?: (key: string) => string): string {
  return describeSchema(SERVER_CONFIG_SCHEMA, label);
}
