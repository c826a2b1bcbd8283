// Inference off the event loop: a piscina pool of worker threads (each with its own engine and model
// copies) behind a bounded FIFO queue that this class owns, so that it can answer "full" at once
// (503 + Retry-After), drop queued work whose deadline passed, and report queue depth and in-flight
// counts. Piscina's own queue stays empty: a task is handed over only when a worker slot is free.
// Work nobody will read is not done: a queued job whose client disconnected (its AbortSignal) leaves
// the queue at once, and a job whose deadline passed is never handed to a worker. A job already
// running finishes (aborting a piscina task would kill the worker thread and its loaded models).
import { availableParallelism } from 'node:os';
import { Piscina } from 'piscina';
import { SPINNING_ENV } from '../../onnx/session.js';
import type { ModelInfo } from '../../api/types.js';
import { fromWireError, NasnetError } from '../../../core/errors.js';
import type { EngineInfo } from '../../../core/engine.js';
import type { Logger } from '../../../core/logger.js';
import { workerScript } from '../../../core/worker_script.js';
import {
  isLifecycleMessage,
  type InferenceOutput,
  type InferenceTask,
  type WorkerInit,
  type WorkerReply,
  type WorkerStats,
  type WorkerTask,
} from './protocol.js';

/**
 * The workers' environment: onnxruntime's pool threads spin only while every thread has a core of its own
 * (session.ts); past that they would steal the working threads' cores, so spinning is turned off unless the
 * operator set NASNET_ORT_SPINNING. With one thread per worker (the default split) there is nothing to spin.
 */
export function workerEnv(workers: number, threads: number, cores: number, env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const oversubscribed = workers * threads > cores;
  return oversubscribed && (env[SPINNING_ENV] ?? '').trim() === '' ? { ...env, [SPINNING_ENV]: '0' } : env;
}

export interface InferencePoolOptions extends WorkerInit {
  readonly workers: number;
  readonly tasksPerWorker: number;
  readonly queueSize: number;
  readonly logger: Logger;
}

export interface InferenceResult {
  readonly output: InferenceOutput;
  /** Time the worker spent on the task (decode + network + post-processing). */
  readonly inferenceMs: number;
  /** Time the task waited in the queue. */
  readonly queuedMs: number;
}

interface QueuedJob {
  readonly task: InferenceTask;
  readonly enqueuedAt: number;
  /** performance.now() after which the job is answered DEADLINE_EXCEEDED instead of run. */
  readonly deadlineAt: number;
  readonly deadlineMs: number;
  readonly signal: AbortSignal | undefined;
  readonly onAbort: () => void;
  readonly resolve: (result: InferenceResult) => void;
  readonly reject: (error: NasnetError) => void;
  timer: NodeJS.Timeout | undefined;
  settled: boolean;
}

/** What happened to the jobs given to run(), since the pool started. */
export interface PoolCounts {
  /** Handed to a worker. */
  readonly started: number;
  /** Left the queue because their client disconnected. */
  readonly droppedClientClosed: number;
  /** Answered DEADLINE_EXCEEDED without running. */
  readonly droppedDeadline: number;
}

export class InferencePool {
  private readonly piscina: Piscina<WorkerTask, WorkerReply>;
  private readonly options: InferencePoolOptions;
  private readonly waiting: QueuedJob[] = [];
  /** Inferences that run at once (workers x tasksPerWorker); more wait in the queue. */
  readonly capacity: number;
  private readonly readyThreads = new Set<number>();
  private readonly statsByThread = new Map<number, WorkerStats>();
  private running = 0;
  private closing = false;
  private closed = false;
  private loadedModels: ModelInfo[] = [];
  private tfjsEngine: EngineInfo | undefined;
  private readonly count = { started: 0, droppedClientClosed: 0, droppedDeadline: 0 };
  /** Resolves with the loaded models once every worker has loaded them; rejects if one cannot. */
  readonly ready: Promise<ModelInfo[]>;

  constructor(options: InferencePoolOptions) {
    this.options = options;
    this.capacity = options.workers * options.tasksPerWorker;
    const { filename, execArgv } = workerScript(import.meta.url, 'inference_worker');
    const workerData: WorkerInit = {
      engine: options.engine,
      classifier: options.classifier,
      detector: options.detector,
      modelsDir: options.modelsDir,
      maxPixels: options.maxPixels,
      threads: options.threads,
      classifierEngine: options.classifierEngine,
      calibrate: options.calibrate,
      calibrationImages: options.calibrationImages,
      proposals: options.proposals,
      roiSamplingRatio: options.roiSamplingRatio,
    };
    this.piscina = new Piscina({
      filename,
      execArgv,
      workerData,
      env: workerEnv(options.workers, options.threads, availableParallelism(), process.env),
      minThreads: options.workers,
      maxThreads: options.workers,
      concurrentTasksPerWorker: options.tasksPerWorker,
      idleTimeout: Infinity,
      // Workers await sharp and tensor downloads between tasks: keep their event loops running.
      atomics: 'disabled',
    });
    this.ready = new Promise((resolve, reject) => {
      // A worker that dies before it is ready would be respawned forever: fail the pool instead.
      this.piscina.on('error', (error: unknown) => {
        if (this.readyThreads.size < options.workers) {
          reject(new NasnetError('INTERNAL', `an inference worker failed to start: ${(error as Error).message ?? String(error)}`));
        }
      });
      this.piscina.on('message', (message: unknown) => {
        if (!isLifecycleMessage(message)) return;
        if (message.type === 'nasnet-worker-failed') {
          reject(fromWireError(message.error, 'inference worker could not load its models: '));
          return;
        }
        this.readyThreads.add(message.threadId);
        this.loadedModels = message.models;
        this.tfjsEngine = message.engine;
        if (this.readyThreads.size >= options.workers) resolve(message.models);
      });
    });
    // Avoid an unhandled rejection when nobody awaits `ready` (e.g. a pool closed during startup).
    this.ready.catch(() => undefined);
    this.piscina.on('workerDestroy', (worker: { threadId?: number }) => {
      if (worker.threadId !== undefined) this.statsByThread.delete(worker.threadId);
    });
    this.piscina.on('error', (error: unknown) => options.logger.error({ err: error }, 'inference worker error'));
  }

  get isReady(): boolean {
    return !this.closing && this.readyThreads.size >= this.options.workers;
  }

  get models(): ModelInfo[] {
    return this.loadedModels;
  }

  /** The TensorFlow.js engine the workers initialised and why (undefined until one is ready). */
  get engine(): EngineInfo | undefined {
    return this.tfjsEngine;
  }

  /** Requests waiting for a worker slot. */
  get queueDepth(): number {
    return this.waiting.length;
  }

  /** Requests a worker is running. */
  get inFlight(): number {
    return this.running;
  }

  get counts(): PoolCounts {
    return { ...this.count };
  }

  /** Tensors held by all workers, as last reported by each. */
  get tensorsHeld(): number {
    let total = 0;
    for (const stats of this.statsByThread.values()) total += stats.numTensors;
    return total;
  }

  /**
   * Runs a task in a worker. Rejects with QUEUE_FULL when the queue is full, NOT_READY while loading or
   * once closed, DEADLINE_EXCEEDED once `deadlineMs` passed (a queued job is dropped; a running one finishes
   * in its worker and its result is discarded), CLIENT_CLOSED once `signal` aborts while the job waits,
   * or with the worker's own typed error.
   */
  run(task: InferenceTask, deadlineMs: number, signal?: AbortSignal): Promise<InferenceResult> {
    if (signal?.aborted === true) return Promise.reject(clientClosed());
    if (this.closed) return Promise.reject(new NasnetError('NOT_READY', 'the inference workers have stopped'));
    if (this.readyThreads.size < this.options.workers) {
      return Promise.reject(new NasnetError('NOT_READY', 'the models are still loading'));
    }
    if (this.running >= this.capacity && this.waiting.length >= this.options.queueSize) {
      return Promise.reject(
        new NasnetError('QUEUE_FULL', `the inference queue is full (${this.options.queueSize} waiting, ${this.running} running)`),
      );
    }
    return new Promise((resolve, reject) => {
      const now = performance.now();
      const onAbort = (): void => {
        if (!this.unqueue(job)) return; // already running: it finishes, its answer is discarded
        this.count.droppedClientClosed += 1;
        this.settle(job, () => job.reject(clientClosed()));
      };
      const job: QueuedJob = {
        task, enqueuedAt: now, deadlineAt: now + deadlineMs, deadlineMs, signal, onAbort, resolve, reject, timer: undefined, settled: false,
      };
      job.timer = setTimeout(() => {
        if (this.unqueue(job)) this.count.droppedDeadline += 1;
        this.expire(job);
      }, deadlineMs);
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiting.push(job);
      this.pump();
    });
  }

  /** Asks one worker for its tensor statistics (with one worker: exactly that worker). */
  async workerStats(): Promise<WorkerStats> {
    const reply = await this.piscina.run({ kind: 'stats' });
    this.statsByThread.set(reply.stats.threadId, reply.stats);
    return reply.stats;
  }

  /**
   * Reports not ready, lets queued and running tasks finish (and still takes tasks from requests the
   * server had already received), then stops the workers; after that, run() answers NOT_READY.
   */
  async close(): Promise<void> {
    this.closing = true;
    while (this.running > 0 || this.waiting.length > 0) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    this.closed = true;
    await this.piscina.destroy();
  }

  /** Takes a job out of the queue; false if it is not there (running or settled). */
  private unqueue(job: QueuedJob): boolean {
    const index = this.waiting.indexOf(job);
    if (index < 0) return false;
    this.waiting.splice(index, 1);
    return true;
  }

  private settle(job: QueuedJob, action: () => void): void {
    if (job.settled) return;
    job.settled = true;
    clearTimeout(job.timer);
    job.signal?.removeEventListener('abort', job.onAbort);
    action();
  }

  private expire(job: QueuedJob): void {
    this.settle(job, () => job.reject(new NasnetError('DEADLINE_EXCEEDED', `the request did not finish within ${job.deadlineMs} ms`)));
  }

  private pump(): void {
    while (this.running < this.capacity && this.waiting.length > 0) {
      const job = this.waiting.shift() as QueuedJob;
      // A busy event loop can run the deadline timer late: never hand an expired job to a worker.
      if (performance.now() >= job.deadlineAt) {
        this.count.droppedDeadline += 1;
        this.expire(job);
      } else {
        this.dispatch(job);
      }
    }
  }

  private dispatch(job: QueuedJob): void {
    this.running += 1;
    this.count.started += 1;
    const queuedMs = performance.now() - job.enqueuedAt;
    // Copy into an ArrayBuffer of its own and transfer it: Node's small Buffers share a pooled one.
    const image = new Uint8Array(job.task.image);
    const task: InferenceTask = { ...job.task, image };
    // Free the slot before settling, so a caller resuming on the answer sees the pool's current state.
    const release = (): void => {
      this.running -= 1;
      this.pump();
    };
    this.piscina.run(task, { transferList: [image.buffer] }).then(
      (reply) => {
        this.statsByThread.set(reply.stats.threadId, reply.stats);
        release();
        if (!reply.ok) {
          this.settle(job, () => job.reject(fromWireError(reply.error)));
        } else if (reply.output === null) {
          this.settle(job, () => job.reject(new NasnetError('INTERNAL', `the worker returned no output for a ${task.kind} task`)));
        } else {
          const output = reply.output;
          this.settle(job, () => job.resolve({ output, inferenceMs: reply.inferenceMs, queuedMs }));
        }
      },
      (error: unknown) => {
        release();
        this.options.logger.error({ err: error }, 'inference worker failed a task');
        this.settle(job, () => job.reject(new NasnetError('INTERNAL', 'the inference worker failed')));
      },
    );
  }
}

function clientClosed(): NasnetError {
  return new NasnetError('CLIENT_CLOSED', 'the client closed the connection before the answer');
}
