// A search worker (`nasnet search worker --queue redis://...`): takes trial jobs of any run from the BullMQ
// queue, K at a time, and trains each child on an embedded worker thread (embedded_transport.ts, the same code
// the single-machine run uses), so the CPU-bound training never blocks the event loop that renews BullMQ's job
// locks. Per job (queue_transport.ts has the controller's side):
//
//   outcome already stored? ─yes─► complete (a retaken job whose first run finished)
//        │ no
//        ▼
//   train in a thread, in DIR/<run key>/<trial id> (the child's own checkpoint: a stalled job retaken here, or
//   by a worker sharing DIR, resumes its training) ─► HSETNX outcome (first write wins) ─► complete
//
// A worker killed at any point leaves its job locked; when the lock lapses (lockMs) a worker's stall check
// puts it back on the queue (at most maxStalled times, then it fails and the controller counts a failed
// attempt). A trainer error fails the job with the error as JSON; the controller decides about retries.
import { mkdir } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import { NasnetError, toWireError } from '../core/errors.js';
import { EmbeddedTransport } from './embedded_transport.js';
import { QUEUE_NAME, WORKERS_KEY, outcomesKey, type StoredOutcome, type TrialJob, type WorkerBeat } from './queue_transport.js';
import { connectFitRedis } from './redis_check.js';
import type { TrainerRef } from './transport.js';

/** Named moments a test can kill a worker at (injected by the caller, never read from the environment here). */
export type WorkerFaultPoint = 'after-outcome';

export interface QueueWorkerOptions {
  readonly url: string;
  /** Children trained at once (threads; about the free cores). */
  readonly concurrency: number;
  readonly trainer: TrainerRef;
  /** Engine each thread initialises (null: the trainer does it or needs none). */
  readonly backend: string | null;
  /** Where children keep their working folders (their checkpoints). */
  readonly dir: string;
  /** BullMQ job lock (ms): a dead worker's job is taken again about this long after it died. */
  readonly lockMs?: number;
  /** How often the stall check runs (ms). */
  readonly stalledMs?: number;
  /** Times a job may stall before it fails (then the controller counts a failed attempt). */
  readonly maxStalled?: number;
  readonly heartbeatMs?: number;
  readonly log?: (line: string) => void;
  readonly fault?: (point: WorkerFaultPoint, trialId: string) => void;
}

export const DEFAULT_WORKER_TIMING = { lockMs: 30_000, stalledMs: 30_000, maxStalled: 2, heartbeatMs: 5_000 } as const;

export class QueueWorker {
  private readonly startedAt = Date.now();
  private active = 0;
  private trained = 0;
  private beatTimer: NodeJS.Timeout | undefined;
  private worker: Worker<TrialJob> | undefined;

  private constructor(
    private readonly redis: Redis,
    private readonly threads: EmbeddedTransport,
    private readonly options: QueueWorkerOptions,
  ) {}

  static async start(options: QueueWorkerOptions): Promise<QueueWorker> {
    if (!Number.isInteger(options.concurrency) || options.concurrency < 1) throw new NasnetError('INVALID_ARGUMENT', `concurrency must be a positive integer; received ${options.concurrency}`, { field: 'concurrency' });
    const redis = await connectFitRedis(options.url);
    const threads = new EmbeddedTransport({ workers: options.concurrency, trainer: options.trainer, backend: options.backend });
    const self = new QueueWorker(redis, threads, options);
    self.run();
    return self;
  }

  private get field(): string {
    return `${hostname()}:${process.pid}`;
  }

  private run(): void {
    const { lockMs, stalledMs, maxStalled, heartbeatMs } = { ...DEFAULT_WORKER_TIMING, ...this.options };
    this.worker = new Worker<TrialJob>(QUEUE_NAME, (job) => this.process(job), {
      connection: this.redis, concurrency: this.options.concurrency, lockDuration: lockMs, stalledInterval: stalledMs, maxStalledCount: maxStalled,
    });
    this.worker.on('error', (error) => this.options.log?.(`worker: ${error.message}`));
    const beat = (): void => {
      const value: WorkerBeat = { host: hostname(), pid: process.pid, concurrency: this.options.concurrency, active: this.active, trained: this.trained, startedAt: this.startedAt, seenAt: Date.now() };
      this.redis.hset(WORKERS_KEY, this.field, JSON.stringify(value)).catch(() => undefined);
    };
    beat();
    this.beatTimer = setInterval(beat, heartbeatMs);
  }

  private async process(job: Job<TrialJob>): Promise<string> {
    const { run, spec } = job.data;
    const key = outcomesKey(run);
    if ((await this.redis.hexists(key, spec.id)) === 1) return 'stored-before';
    const local = { ...spec, dir: join(this.options.dir, run, spec.id) };
    await mkdir(local.dir, { recursive: true });
    const startedAt = Date.now();
    this.active += 1;
    let outcome;
    try {
      outcome = await this.threads.attempt(local);
    } catch (error) {
      throw new Error(JSON.stringify(toWireError(error)));
    } finally {
      this.active -= 1;
    }
    this.trained += 1;
    const stored: StoredOutcome = { outcome, host: hostname(), pid: process.pid, queuedAt: job.timestamp, startedAt: job.processedOn ?? startedAt, finishedAt: Date.now() };
    const first = await this.redis.hsetnx(key, spec.id, JSON.stringify(stored));
    this.options.fault?.('after-outcome', spec.id);
    this.options.log?.(`${spec.id} of ${run}: reward ${outcome.reward.toFixed(4)}${first === 1 ? '' : ' (a result was stored first; this one is dropped)'}`);
    return first === 1 ? 'stored' : 'duplicate';
  }

  /** Stops taking jobs, waits for running ones (bounded by `graceMs`; the rest stall and are retaken). */
  async close(graceMs = 60_000): Promise<void> {
    clearInterval(this.beatTimer);
    const closing = this.worker?.close();
    await Promise.race([closing, new Promise((resolve) => setTimeout(resolve, graceMs).unref())]);
    await this.threads.close();
    // Redis may be gone: take the heartbeat down if it answers within a second, then hang up regardless.
    const farewell = this.redis.hdel(WORKERS_KEY, this.field).then(() => this.redis.quit()).catch(() => undefined);
    await Promise.race([farewell, new Promise((resolve) => setTimeout(resolve, 1_000).unref())]);
    this.redis.disconnect();
  }
}
