// What the distributed search needs of its Redis, checked before anything is enqueued or taken: a job or a
// result that Redis silently drops (evicted under memory pressure, or lost in a restart without persistence)
// would be a trial lost or run again with nothing to say so. So the controller and every worker refuse to start
// unless Redis is >= 6.2 (BullMQ's floor), persists every write to its append-only file, and never evicts.
// The check reads INFO (managed Redis services often disable CONFIG GET but keep INFO).
import { Redis } from 'ioredis';
import { NasnetError } from '../core/errors.js';

/** `INFO` text -> field map (sections merged; `# Section` lines and blanks skipped). */
export function parseRedisInfo(text: string): Map<string, string> {
  const fields = new Map<string, string>();
  for (const line of text.split(/\r?\n/)) {
    if (line === '' || line.startsWith('#')) continue;
    const at = line.indexOf(':');
    if (at > 0) fields.set(line.slice(0, at), line.slice(at + 1));
  }
  return fields;
}

const MIN_VERSION = [6, 2, 0] as const;

function versionBelow(version: string, min: readonly number[]): boolean {
  const parts = version.split('.').map((p) => Number.parseInt(p, 10));
  for (let i = 0; i < min.length; i++) {
    const v = parts[i] ?? 0;
    if (v !== min[i]) return v < min[i]!;
  }
  return false;
}

/** Every requirement `info` fails, each naming the setting and how to fix it (empty: Redis is fit). */
export function redisProblems(info: Map<string, string>): string[] {
  const problems: string[] = [];
  const version = info.get('redis_version');
  if (version === undefined || versionBelow(version, MIN_VERSION)) {
    problems.push(`redis_version is ${version ?? 'unknown'}; BullMQ needs Redis >= ${MIN_VERSION.join('.')}`);
  }
  if (info.get('aof_enabled') !== '1') {
    problems.push('appendonly is off: a restart would lose queued jobs and results; start redis-server with `--appendonly yes` (or `CONFIG SET appendonly yes` then `CONFIG REWRITE`)');
  }
  const policy = info.get('maxmemory_policy');
  if (policy !== 'noeviction') {
    problems.push(`maxmemory-policy is ${policy ?? 'unknown'}: Redis may evict jobs and results under memory pressure; set \`--maxmemory-policy noeviction\` (or \`CONFIG SET maxmemory-policy noeviction\`)`);
  }
  return problems;
}

/** Throws INVALID_CONFIG naming every unmet requirement of the Redis behind `redis`. */
export async function assertRedisFit(redis: Redis, url: string): Promise<void> {
  const info = parseRedisInfo(await redis.info());
  const problems = redisProblems(info);
  if (problems.length > 0) {
    throw new NasnetError('INVALID_CONFIG', `the Redis at ${redactUrl(url)} cannot hold a search queue:\n  - ${problems.join('\n  - ')}`, { field: 'queue' });
  }
}

/** The URL without its password (for messages and status). */
export function redactUrl(url: string): string {
  return url.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:***@');
}

/**
 * A connection that waits through a Redis restart instead of failing commands (BullMQ requires
 * maxRetriesPerRequest: null for its workers; the controller wants the same patience).
 */
export function connectRedis(url: string): Redis {
  if (!/^rediss?:\/\//.test(url)) throw new NasnetError('INVALID_ARGUMENT', `--queue must be a redis:// or rediss:// URL; received ${JSON.stringify(url)}`, { field: 'queue' });
  return new Redis(url, { maxRetriesPerRequest: null, enableReadyCheck: true, lazyConnect: false });
}

/** connectRedis, then assertRedisFit; a Redis that is unfit is disconnected before the error is thrown. */
export async function connectFitRedis(url: string): Promise<Redis> {
  const redis = connectRedis(url);
  try {
    await assertRedisFit(redis, url);
  } catch (error) {
    redis.disconnect();
    throw error;
  }
  return redis;
}
