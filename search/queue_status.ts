// What `nasnet search status RUN` adds for a run on a queue: the workers seen (host, pid, threads, last
// heartbeat), the queue's depth (one queue serves every run, so these counts are queue-wide), and the run's
// throughput from its stored outcomes (finish times written by the workers), never from queue events.
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { QUEUE_NAME, WORKERS_KEY, outcomesKey, type RunQueue, type StoredOutcome, type WorkerBeat } from './queue_transport.js';
import { redactUrl } from './redis_check.js';

export interface QueueStatus {
  readonly url: string;
  readonly key: string;
  readonly workers: readonly (WorkerBeat & { readonly ageMs: number })[];
  readonly queue: Readonly<Record<'waiting' | 'active' | 'delayed' | 'failed' | 'completed', number>>;
  /** Outcomes stored for this run. */
  readonly outcomes: number;
  /** Children per hour over the run's last (up to) 50 outcomes; null below 2. */
  readonly perHour: number | null;
  readonly lastOutcomeAgoMs: number | null;
}

/** Heartbeats older than this are shown as stale (the worker died or lost Redis). */
export const STALE_HEARTBEAT_MS = 20_000;

/** Children per hour from finish times (epoch ms) over the last `window` of them. */
export function throughputPerHour(finishedAt: readonly number[], window = 50): number | null {
  const times = [...finishedAt].sort((a, b) => a - b).slice(-window);
  if (times.length < 2 || times[times.length - 1]! <= times[0]!) return null;
  return ((times.length - 1) / (times[times.length - 1]! - times[0]!)) * 3_600_000;
}

export async function readQueueStatus(queue: RunQueue, now = Date.now()): Promise<QueueStatus> {
  // Status must answer or fail, never wait for a Redis that is down.
  const redis = new Redis(queue.url, { maxRetriesPerRequest: 1, connectTimeout: 3_000, retryStrategy: (n) => (n > 2 ? null : 200) });
  redis.on('error', () => undefined);
  const bull = new Queue(QUEUE_NAME, { connection: redis });
  bull.on('error', () => undefined);
  try {
    const beats = Object.values(await redis.hgetall(WORKERS_KEY)).map((t) => JSON.parse(t) as WorkerBeat);
    const counts = await bull.getJobCounts('waiting', 'active', 'delayed', 'failed', 'completed');
    const finished = Object.values(await redis.hgetall(outcomesKey(queue.key))).map((t) => (JSON.parse(t) as StoredOutcome).finishedAt);
    return {
      url: redactUrl(queue.url), key: queue.key,
      workers: beats.map((b) => ({ ...b, ageMs: now - b.seenAt })).sort((a, b) => a.host.localeCompare(b.host) || a.pid - b.pid),
      queue: { waiting: counts.waiting ?? 0, active: counts.active ?? 0, delayed: counts.delayed ?? 0, failed: counts.failed ?? 0, completed: counts.completed ?? 0 },
      outcomes: finished.length,
      perHour: throughputPerHour(finished),
      lastOutcomeAgoMs: finished.length === 0 ? null : now - Math.max(...finished),
    };
  } finally {
    await bull.close().catch(() => undefined);
    redis.disconnect();
  }
}

const seconds = (ms: number): string => `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)} s`;

/** A queue that does not answer is reported, not thrown: the run's own status does not need Redis. */
export interface QueueUnreachable {
  readonly url: string;
  readonly error: string;
}

export function readQueueStatusOrError(queue: RunQueue): Promise<QueueStatus | QueueUnreachable> {
  return readQueueStatus(queue).catch((error: Error) => ({ url: redactUrl(queue.url), error: error.message }));
}

export function formatQueueStatus(s: QueueStatus | QueueUnreachable): string {
  if ('error' in s) return `queue ${s.url}: unreachable (${s.error})\n`;
  const lines = [
    `queue ${s.url} (run key ${s.key}): ${s.queue.waiting} waiting, ${s.queue.active} active, ${s.queue.delayed} delayed, ${s.queue.failed} failed, ${s.queue.completed} completed (all runs)`,
    `throughput: ${s.outcomes} outcomes stored, ${s.perHour === null ? '-' : s.perHour.toFixed(0)} children/hour${s.lastOutcomeAgoMs === null ? '' : `, last ${seconds(s.lastOutcomeAgoMs)} ago`}`,
    `workers seen: ${s.workers.length}`,
    ...s.workers.map((w) => `  ${w.host} pid ${w.pid}: ${w.active}/${w.concurrency} busy, ${w.trained} trained, last heartbeat ${seconds(w.ageMs)} ago${w.ageMs > STALE_HEARTBEAT_MS ? ' (stale)' : ''}`),
  ];
  return `${lines.join('\n')}\n`;
}
