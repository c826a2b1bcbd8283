// Messages between the inference pool (main thread) and its workers. Everything here crosses a
// worker_threads boundary by structured clone, so it is plain data: errors travel as {code, message}.
import type { ClassPrediction, Detection, ImageMeta, ModelInfo } from '../../api/types.js';
import type { WireError } from '../../../core/errors.js';
import type { EngineInfo, EngineRequest } from '../../../core/engine.js';
import type { ModelSpec, ModelTuning } from '../../models/registry.js';

/** `workerData` of every worker: what to load and how (ModelTuning: the classifier engine, detector proposals, ...). */
export interface WorkerInit extends ModelTuning {
  readonly engine: EngineRequest;
  readonly classifier: ModelSpec;
  readonly detector: ModelSpec;
  readonly modelsDir: string;
  readonly maxPixels: number;
  /** Intra-op threads per model: the cores divided among the workers. */
  readonly threads: number;
}

export type InferenceTask =
  | { readonly kind: 'classify'; readonly image: Uint8Array; readonly topK: number }
  | { readonly kind: 'detect'; readonly image: Uint8Array; readonly minScore: number; readonly maxDetections: number };

/** A task the pool sends: an inference, or a request for the worker's tensor statistics. */
export type WorkerTask = InferenceTask | { readonly kind: 'stats' };

export interface WorkerStats {
  readonly threadId: number;
  readonly numTensors: number;
  readonly numBytes: number;
}

export type InferenceOutput =
  | { readonly kind: 'classify'; readonly predictions: ClassPrediction[]; readonly image: ImageMeta }
  | { readonly kind: 'detect'; readonly detections: Detection[]; readonly image: ImageMeta };

export type { WireError };

export type WorkerReply =
  | { readonly ok: true; readonly output: InferenceOutput | null; readonly inferenceMs: number; readonly stats: WorkerStats }
  | { readonly ok: false; readonly error: WireError; readonly stats: WorkerStats };

/** Posted by a worker on its parent port once, after loading (or failing to load) its models. */
export type WorkerLifecycleMessage =
  | { readonly type: 'nasnet-worker-ready'; readonly threadId: number; readonly models: ModelInfo[]; readonly engine: EngineInfo }
  | { readonly type: 'nasnet-worker-failed'; readonly threadId: number; readonly error: WireError };

export function isLifecycleMessage(value: unknown): value is WorkerLifecycleMessage {
  if (typeof value !== 'object' || value === null) return false;
  const type = (value as { type?: unknown }).type;
  return type === 'nasnet-worker-ready' || type === 'nasnet-worker-failed';
}
