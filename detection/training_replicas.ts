// Data-parallel detection training on worker threads: each replica holds its own engine and copy of the
// detector, receives the current weights and one shard of the batch, and returns that shard's gradients
// and BatchNorm statistics. The training task (training.ts) computes shard 0 on the main thread in the
// meantime, averages the shards and applies the optimizer once, so the checkpointed state lives only in
// the main thread and replicas never drift. Like synchronous data parallelism without SyncBN (each
// replica normalises with its own shard's statistics; the moving averages are averaged after the step).
//
// Shape shorthand: n = images in a shard, S = network input side; weights travel as one Float32Array in
// the order of FasterRcnn.variables(), identical in every replica because construction is.
import { Worker } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs-core';
import type { EngineName } from '../core/engine.js';
import { NasnetError, type WireError } from '../core/errors.js';
import { workerScript } from '../core/worker_script.js';
import type { Window } from './box_ops.js';
import type { FasterRcnnConfig } from './faster_rcnn_config.js';
import type { NamedVariable } from './backbone_weights.js';

export const REPLICA_KIND = 'nasnet-detection-replica';

export interface ReplicaInit {
  readonly kind: typeof REPLICA_KIND;
  /** The resolved config of the main thread's detector. */
  readonly model: FasterRcnnConfig;
  readonly backend: EngineName;
}

export interface ReplicaJob {
  /** Every variable of the detector, packed (packTensors of FasterRcnn.variables()). */
  readonly weights: Float32Array;
  /** [n,S,S,3] */
  readonly images: Float32Array;
  readonly shape: readonly [number, number, number, number];
  readonly groundTruth: readonly { readonly boxes: Float32Array; readonly labels: Int32Array }[];
  readonly windows: readonly Window[];
  readonly samplerSeed: number;
}

export interface ReplicaResult {
  /** Names of the trainable variables with a gradient, in the order of `grads`. */
  readonly gradNames: readonly string[];
  readonly grads: Float32Array;
  /** The BatchNorm moving statistics after the step (packed in batchNormStatistics order). */
  readonly statistics: Float32Array;
  readonly losses: Record<string, number>;
}

export type ReplicaReply = ({ readonly ok: true } & ReplicaResult) | { readonly ok: false; readonly error: WireError };
export type ReplicaReady = { readonly ready: true } | { readonly ready: false; readonly error: WireError };

/** The BatchNorm moving statistics among `variables`: what each replica updates besides the gradients. */
export function batchNormStatistics(variables: readonly NamedVariable[]): NamedVariable[] {
  return variables.filter((v) => !v.trainable && /\/moving_(mean|variance)$/.test(v.name));
}

/** The values of `tensors` end to end. */
export function packTensors(tensors: readonly tf.Tensor[]): Float32Array {
  const out = new Float32Array(tensors.reduce((n, t) => n + t.size, 0));
  let offset = 0;
  for (const t of tensors) {
    out.set(t.dataSync() as Float32Array, offset);
    offset += t.size;
  }
  return out;
}

/** Assigns consecutive parts of `packed` to `variables` (the inverse of packTensors). */
export function assignPacked(variables: readonly tf.Variable[], packed: Float32Array): void {
  const total = variables.reduce((n, v) => n + v.size, 0);
  if (total !== packed.length) throw new NasnetError('INTERNAL', `assignPacked: ${packed.length} values for ${total} variable elements`);
  let offset = 0;
  tf.tidy(() => {
    for (const v of variables) {
      v.assign(tf.tensor(packed.subarray(offset, offset + v.size), v.shape, 'float32'));
      offset += v.size;
    }
  });
}

interface Pending {
  readonly resolve: (result: ReplicaResult) => void;
  readonly reject: (error: Error) => void;
}

/** Worker threads that each compute one shard's gradients per step. */
export class TrainingReplicas {
  private readonly pending = new Map<Worker, Pending>();
  private failure: Error | undefined;

  private constructor(private readonly workers: readonly Worker[]) {
    for (const worker of workers) {
      worker.on('message', (reply: ReplicaReply) => this.settle(worker, reply.ok ? reply : new NasnetError(reply.error.code, `training replica: ${reply.error.message}`)));
      worker.on('error', (error: Error) => this.fail(new NasnetError('INTERNAL', `a training replica failed: ${error.message}`, undefined, { cause: error })));
      worker.on('exit', (code) => this.fail(new NasnetError('INTERNAL', `a training replica exited (code ${code})`)));
    }
  }

  /** Starts `count` replicas of the detector `init.model`; resolves once every one has built it. */
  static async start(count: number, init: Omit<ReplicaInit, 'kind'>): Promise<TrainingReplicas> {
    const { filename, execArgv } = workerScript(import.meta.url, 'training_replica');
    const workerData: ReplicaInit = { kind: REPLICA_KIND, ...init };
    const workers = Array.from({ length: count }, () => new Worker(filename, { execArgv, workerData }));
    const ready = workers.map(
      (worker) =>
        new Promise<void>((resolve, reject) => {
          worker.once('message', (message: ReplicaReady) =>
            message.ready ? resolve() : reject(new NasnetError(message.error.code, `a training replica failed to start: ${message.error.message}`)),
          );
          worker.once('error', (error) => reject(new NasnetError('INTERNAL', `a training replica failed to start: ${error.message}`)));
        }),
    );
    try {
      await Promise.all(ready);
    } catch (error) {
      await Promise.all(workers.map((w) => w.terminate()));
      throw error;
    }
    return new TrainingReplicas(workers);
  }

  get size(): number {
    return this.workers.length;
  }

  /** Job k goes to replica k; resolves with their results in that order. */
  run(jobs: readonly ReplicaJob[]): Promise<ReplicaResult[]> {
    if (jobs.length !== this.workers.length) throw new NasnetError('INTERNAL', `TrainingReplicas.run: ${jobs.length} jobs for ${this.workers.length} replicas`);
    if (this.failure !== undefined) return Promise.reject(this.failure);
    return Promise.all(
      jobs.map(
        (job, k) =>
          new Promise<ReplicaResult>((resolve, reject) => {
            const worker = this.workers[k]!;
            this.pending.set(worker, { resolve, reject });
            worker.postMessage(job);
          }),
      ),
    );
  }

  private settle(worker: Worker, outcome: ReplicaResult | Error): void {
    const pending = this.pending.get(worker);
    if (pending === undefined) return;
    this.pending.delete(worker);
    if (outcome instanceof Error) pending.reject(outcome);
    else pending.resolve(outcome);
  }

  private fail(error: Error): void {
    this.failure ??= error;
    for (const worker of [...this.pending.keys()]) this.settle(worker, error);
  }

  /** Stops every replica; a step still running is rejected. */
  async terminate(): Promise<void> {
    this.failure ??= new NasnetError('INTERNAL', 'the training replicas were stopped');
    for (const worker of this.workers) worker.removeAllListeners('exit');
    this.fail(this.failure);
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}
