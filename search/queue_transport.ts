// The BullMQ transport (issue #19): the run (run.ts) is unchanged, only `attempt` travels. The controller
// enqueues a trial as a job whose id is the trial's id; workers on any machine (queue_worker.ts) take it,
// train the child in a thread and store the outcome first-write-wins (HSETNX, field = trial id) before
// completing the job. The controller learns an outcome by reading that hash, never from queue events, so a
// trial that ran twice (a stalled job retaken while its first worker still ran) is counted once:
//
//   run.ts runTrial ─► attempt(spec) ─► queue.add(jobId = RUN.trial)   (an existing id is refused: no duplicates)
//                         ▲                  │ worker: HEXISTS? ─► train (thread) ─► HSETNX outcome ─► complete
//                         │                  ▼
//                         └── poll: HMGET outcomes; a job in `failed` rejects this attempt (run.ts retries,
//                             via job.retry, up to maxAttempts, then records the failure)
//
// One queue serves every run: a job id is `<run key>.<trial id>` (BullMQ refuses `:` in ids), the run key a
// random tag stored in RUN/queue.json, so the checkpoint holds nothing queue-specific and a queued run ends
// with the same bytes as an embedded one.
import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { NasnetError, type ErrorCode, type WireError } from '../core/errors.js';
import { connectFitRedis } from './redis_check.js';
import type { TrialOutcome, TrialSpec } from './trial.js';
import type { TrialTransport } from './transport.js';

export const QUEUE_NAME = 'nasnet-search';
/** Hash of worker heartbeats: field `host:pid`, value WorkerBeat JSON. */
export const WORKERS_KEY = 'nasnet:search:workers';
/** Hash of a run's outcomes: field = trial id, value StoredOutcome JSON, written with HSETNX only. */
export const outcomesKey = (runKey: string): string => `nasnet:search:${runKey}:outcomes`;
export const jobId = (runKey: string, trialId: string): string => `${runKey}.${trialId}`;

export interface TrialJob {
  readonly run: string;
  readonly spec: TrialSpec;
}

/** What a worker stores for a trial: the outcome, who trained it, and the job's times (epoch ms). */
export interface StoredOutcome {
  readonly outcome: TrialOutcome;
  readonly host: string;
  readonly pid: number;
  readonly queuedAt: number;
  readonly startedAt: number;
  readonly finishedAt: number;
}

export interface WorkerBeat {
  readonly host: string;
  readonly pid: number;
  readonly concurrency: number;
  readonly active: number;
  readonly trained: number;
  readonly startedAt: number;
  readonly seenAt: number;
}

export const QUEUE_JOB_OPTIONS = { attempts: 1, removeOnComplete: false, removeOnFail: false } as const;

/** The queue a run uses: RUN/queue.json, written by the controller on its first start with --queue. */
export interface RunQueue {
  readonly url: string;
  readonly key: string;
}

export const queueFile = (run: string): string => join(run, 'queue.json');

export async function readRunQueue(run: string): Promise<RunQueue | undefined> {
  const text = await readFile(queueFile(run), 'utf8').catch(() => undefined);
  return text === undefined ? undefined : (JSON.parse(text) as RunQueue);
}

/** The run's queue at `url`: its key is kept across restarts (and a move of Redis to another URL). */
export async function attachRunQueue(run: string, url: string): Promise<RunQueue> {
  const existing = await readRunQueue(run);
  const queue = { url, key: existing?.key ?? randomBytes(6).toString('hex') };
  if (existing?.url !== url) await writeFile(queueFile(run), `${JSON.stringify(queue)}\n`);
  return queue;
}

/** A worker's failure travels as the job's failedReason: the WireError as JSON (or a BullMQ message). */
export function failureFromReason(reason: string | undefined): NasnetError {
  try {
    const wire = JSON.parse(reason ?? '') as WireError;
    if (typeof wire.code === 'string' && typeof wire.message === 'string') return new NasnetError(wire.code as ErrorCode, wire.message);
  } catch {
    // not ours: BullMQ's own reason (e.g. "job stalled more than allowable limit")
  }
  return new NasnetError('INTERNAL', reason ?? 'the job failed without a reason');
}

/** Per trial: how long the queue took (ms) around a child's training. */
export interface QueueTiming {
  readonly id: string;
  /** Enqueued -> a worker started it. */
  readonly startMs: number;
  /** The worker's training (thread round trip included). */
  readonly trainMs: number;
  /** Outcome stored -> the controller read it. */
  readonly resultMs: number;
}

interface Waiter {
  readonly spec: TrialSpec;
  resolve(outcome: TrialOutcome): void;
  reject(error: Error): void;
}

export interface QueueTransportOptions {
  readonly url: string;
  readonly runKey: string;
  /** How often the controller reads the outcomes of its waiting trials (ms). */
  readonly pollMs?: number;
  readonly log?: (line: string) => void;
}

export class QueueTransport implements TrialTransport {
  private readonly waiting = new Map<string, Waiter>();
  private timer: NodeJS.Timeout | undefined;
  private polling = false;
  private closed = false;
  readonly timings: QueueTiming[] = [];

  private constructor(
    private readonly redis: Redis,
    private readonly queue: Queue<TrialJob>,
    private readonly options: QueueTransportOptions,
  ) {}

  /** Connects, refuses a Redis without persistence or with eviction, and opens the queue. */
  static async open(options: QueueTransportOptions): Promise<QueueTransport> {
    const redis = await connectFitRedis(options.url);
    const queue = new Queue<TrialJob>(QUEUE_NAME, { connection: redis, defaultJobOptions: QUEUE_JOB_OPTIONS });
    queue.on('error', (error) => options.log?.(`queue: ${error.message}`));
    return new QueueTransport(redis, queue, options);
  }

  private get key(): string {
    return outcomesKey(this.options.runKey);
  }

  async attempt(spec: TrialSpec): Promise<TrialOutcome> {
    if (this.closed) throw new NasnetError('INTERNAL', 'QueueTransport: closed');
    const stored = await this.redis.hget(this.key, spec.id);
    if (stored !== null) return this.accept(spec.id, stored);
    const id = jobId(this.options.runKey, spec.id);
    const job = await this.queue.getJob(id);
    if (job === undefined) {
      await this.queue.add('trial', { run: this.options.runKey, spec }, { jobId: id });
    } else {
      const state = await job.getState();
      // A finished job without an outcome is a new attempt (failed), or a completion whose outcome a Redis
      // crash lost (completed): run it again; anything else is still on its way.
      if (state === 'failed' || state === 'completed') await job.retry(state);
    }
    return new Promise<TrialOutcome>((resolve, reject) => {
      this.waiting.set(spec.id, { spec, resolve, reject });
      this.schedule();
    });
  }

  private accept(id: string, text: string): TrialOutcome {
    const stored = JSON.parse(text) as StoredOutcome;
    this.timings.push({ id, startMs: stored.startedAt - stored.queuedAt, trainMs: stored.finishedAt - stored.startedAt, resultMs: Math.max(0, Date.now() - stored.finishedAt) });
    return stored.outcome;
  }

  private schedule(): void {
    if (this.timer !== undefined || this.closed || this.waiting.size === 0) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.poll();
    }, this.options.pollMs ?? 100);
  }

  private async poll(): Promise<void> {
    if (this.polling) return;
    this.polling = true;
    try {
      const ids = [...this.waiting.keys()];
      const values = ids.length === 0 ? [] : await this.redis.hmget(this.key, ...ids);
      for (let i = 0; i < ids.length; i++) {
        const id = ids[i]!;
        const waiter = this.waiting.get(id);
        if (waiter === undefined) continue;
        const value = values[i] ?? (await this.settled(id));
        if (value === null) continue;
        this.waiting.delete(id);
        if (value instanceof Error) waiter.reject(value);
        else waiter.resolve(this.accept(id, value));
      }
    } catch (error) {
      // Redis restarting: the connection waits and reconnects; the next poll reads the same state.
      this.options.log?.(`queue poll: ${(error as Error).message}`);
    } finally {
      this.polling = false;
      this.schedule();
    }
  }

  /** No outcome yet for `id`: its job's failure (this attempt failed), or null (still running). */
  private async settled(id: string): Promise<string | Error | null> {
    const job = await this.queue.getJob(jobId(this.options.runKey, id));
    if (job === undefined) {
      // Lost with an unsynced tail of the append-only file: enqueue it again.
      await this.queue.add('trial', { run: this.options.runKey, spec: this.waiting.get(id)!.spec }, { jobId: jobId(this.options.runKey, id) });
      return null;
    }
    const state = await job.getState();
    if (state !== 'failed' && state !== 'completed') return null;
    // The outcome is stored before the job completes: read it again now that the job is finished.
    const stored = await this.redis.hget(this.key, id);
    if (stored !== null) return stored;
    // Read the job again: the copy above may predate this failure (its reason cleared by the last retry).
    if (state === 'failed') return failureFromReason((await this.queue.getJob(job.id!))?.failedReason);
    await job.retry('completed');
    return null;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.timer);
    for (const waiter of this.waiting.values()) waiter.reject(new NasnetError('INTERNAL', 'QueueTransport: closed'));
    this.waiting.clear();
    await this.queue.close();
    await this.redis.quit().catch(() => undefined);
  }
}

/**
 * The transport of `run`: the queue at `url` (recorded in RUN/queue.json), else the queue the run was started
 * on (a resume), else undefined (the embedded threads).
 */
export async function openRunTransport(run: string, url: string | undefined, log?: (line: string) => void): Promise<QueueTransport | undefined> {
  const known = url ?? (await readRunQueue(run))?.url;
  if (known === undefined) return undefined;
  const queue = await attachRunQueue(run, known);
  return QueueTransport.open({ url: queue.url, runKey: queue.key, log });
}
