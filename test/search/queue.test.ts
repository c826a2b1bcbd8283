// The BullMQ transport on a private redis-server: the Redis requirements (each one refused with its setting
// named), duplicate enqueues refused and completed jobs kept, and a small queued run (a worker in this process)
// that ends with the same results and controller checkpoint bytes as the embedded run.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { initEngine } from '../../core/engine.js';
import { listResults } from '../../search/results.js';
import { QUEUE_JOB_OPTIONS, QUEUE_NAME, QueueTransport, attachRunQueue, jobId } from '../../search/queue_transport.js';
import { QueueWorker } from '../../search/queue_worker.js';
import { formatQueueStatus, throughputPerHour } from '../../search/queue_status.js';
import { parseRedisInfo, redactUrl, redisProblems } from '../../search/redis_check.js';
import { createRun, resolveSearchConfig, runSearch } from '../../search/run.js';
import { resolveProxyTask } from '../../search/trial.js';
import { QUEUE_FAKE_TRAINER } from './queue_fixtures.js';
import { startTestRedis } from './redis_server.js';

const FIT = 'redis_version:7.0.15\r\naof_enabled:1\r\nmaxmemory_policy:noeviction\r\n';

test('redis requirements: version >= 6.2, appendonly, noeviction, each named with its fix', () => {
  assert.deepEqual(redisProblems(parseRedisInfo(`# Server\r\n${FIT}`)), []);
  assert.deepEqual(redisProblems(parseRedisInfo(FIT.replace('7.0.15', '6.2.0'))), []);
  const old = redisProblems(parseRedisInfo(FIT.replace('7.0.15', '6.0.16')));
  assert.equal(old.length, 1);
  assert.match(old[0]!, /Redis >= 6\.2/);
  const aof = redisProblems(parseRedisInfo(FIT.replace('aof_enabled:1', 'aof_enabled:0')));
  assert.equal(aof.length, 1);
  assert.match(aof[0]!, /appendonly.*--appendonly yes/);
  const lru = redisProblems(parseRedisInfo(FIT.replace('noeviction', 'allkeys-lru')));
  assert.equal(lru.length, 1);
  assert.match(lru[0]!, /maxmemory-policy is allkeys-lru.*noeviction/);
});

test('throughput over the last outcomes; status lines; a password never printed', () => {
  assert.equal(throughputPerHour([]), null);
  assert.equal(throughputPerHour([5_000]), null);
  assert.equal(throughputPerHour([2_000, 0, 1_000]), 3_600, '2 intervals in 2 s = 1 a second');
  assert.equal(throughputPerHour([0, 100_000, 101_000, 102_000], 3), 3_600, 'only the last 3');
  assert.equal(redactUrl('redis://user:secret@host:6379/0'), 'redis://user:***@host:6379/0');
  const text = formatQueueStatus({
    url: 'redis://h:1', key: 'k', queue: { waiting: 3, active: 2, delayed: 0, failed: 1, completed: 9 }, outcomes: 9, perHour: 120, lastOutcomeAgoMs: 4_000,
    workers: [{ host: 'a', pid: 7, concurrency: 2, active: 2, trained: 5, startedAt: 0, seenAt: 0, ageMs: 1_500 }, { host: 'b', pid: 8, concurrency: 1, active: 0, trained: 4, startedAt: 0, seenAt: 0, ageMs: 25_000 }],
  });
  assert.match(text, /3 waiting, 2 active, 0 delayed, 1 failed, 9 completed/);
  assert.match(text, /9 outcomes stored, 120 children\/hour, last 4\.0 s ago/);
  assert.match(text, /workers seen: 2\n {2}a pid 7: 2\/2 busy, 5 trained, last heartbeat 1\.5 s ago\n {2}b pid 8: .* 25 s ago \(stale\)/);
});

test('a Redis without append-only persistence, or that evicts, is refused by controller and worker', { timeout: 60_000 }, async () => {
  const redis = await startTestRedis(['--appendonly', 'no', '--maxmemory-policy', 'allkeys-lru']);
  try {
    await assert.rejects(QueueTransport.open({ url: redis.url, runKey: 'x' }), (e: Error) => /appendonly is off/.test(e.message) && /maxmemory-policy is allkeys-lru/.test(e.message));
    await assert.rejects(QueueWorker.start({ url: redis.url, concurrency: 1, trainer: QUEUE_FAKE_TRAINER, backend: null, dir: redis.dir }), /appendonly is off/);
  } finally {
    await redis.dispose();
  }
});

test('trial ids are job ids: a second enqueue of an id is refused, completed jobs are kept', { timeout: 60_000 }, async () => {
  const redis = await startTestRedis();
  const connection = new Redis(redis.url, { maxRetriesPerRequest: null });
  const queue = new Queue(QUEUE_NAME, { connection, defaultJobOptions: QUEUE_JOB_OPTIONS });
  try {
    const id = jobId('abc', 't00001');
    await queue.add('trial', { n: 1 }, { jobId: id });
    await queue.add('trial', { n: 2 }, { jobId: id });
    assert.equal(await queue.getWaitingCount(), 1);
    assert.deepEqual((await queue.getJob(id))!.data, { n: 1 });
  } finally {
    await queue.close();
    connection.disconnect();
    await redis.dispose();
  }
});

async function controllerFiles(run: string): Promise<Record<string, string>> {
  const dir = join(run, 'controller');
  const files: Record<string, string> = {};
  for (const name of (await readdir(dir)).sort()) files[name] = (await readFile(join(dir, name))).toString('base64');
  return files;
}

test('a queued run (one worker, 2 threads) ends like the embedded run: results and checkpoint bytes', { timeout: 120_000 }, async () => {
  await initEngine({ backend: 'cpu' });
  const root = await mkdtemp(join(tmpdir(), 'search-queue-'));
  const redis = await startTestRedis();
  const config = resolveSearchConfig({ strategy: 'ppo', trials: 16, batchSize: 8, seed: 4, maxAttempts: 2, controller: { units: 16 }, proxy: { data: 'fake' } });
  let worker: QueueWorker | undefined;
  try {
    const embedded = join(root, 'embedded');
    await createRun(embedded, config);
    const a = await runSearch(embedded, { trainer: QUEUE_FAKE_TRAINER, workers: 2, backend: null });
    const queued = join(root, 'queued');
    await createRun(queued, config);
    worker = await QueueWorker.start({ url: redis.url, concurrency: 2, trainer: QUEUE_FAKE_TRAINER, backend: null, dir: join(root, 'worker') });
    const transport = await QueueTransport.open({ url: redis.url, runKey: (await attachRunQueue(queued, redis.url)).key, pollMs: 20 });
    const b = await runSearch(queued, { transport }).finally(() => transport.close());
    assert.deepEqual(b, a);
    assert.ok(a.failed >= 1 && a.done >= 10, JSON.stringify(a));
    const strip = (run: string) => listResults(run).then((rs) => rs.map((r) => ({ id: r.id, status: r.status, reward: r.reward, error: r.error ?? null })));
    assert.deepEqual(await strip(queued), await strip(embedded));
    assert.deepEqual(await controllerFiles(queued), await controllerFiles(embedded));
    assert.equal(transport.timings.length, a.done);
    // Completed jobs stay: enqueueing a finished trial again is refused, it is not run a second time.
    const connection = new Redis(redis.url, { maxRetriesPerRequest: null });
    const queue = new Queue(QUEUE_NAME, { connection });
    const key = (await attachRunQueue(queued, redis.url)).key;
    await queue.add('trial', {}, { jobId: jobId(key, 't00000') });
    assert.equal(await queue.getJobState(jobId(key, 't00000')), 'completed');
    assert.equal(await queue.getWaitingCount(), 0);
    await queue.close();
    connection.disconnect();
  } finally {
    await worker?.close(5_000);
    await redis.dispose();
    await rm(root, { recursive: true, force: true });
  }
});

test('a job lost from Redis (an unsynced append-only tail) is enqueued again by the waiting controller', { timeout: 60_000 }, async () => {
  const root = await mkdtemp(join(tmpdir(), 'search-queue-lost-'));
  const redis = await startTestRedis();
  const connection = new Redis(redis.url, { maxRetriesPerRequest: null });
  const queue = new Queue(QUEUE_NAME, { connection });
  const transport = await QueueTransport.open({ url: redis.url, runKey: 'lost', pollMs: 20 });
  let worker: QueueWorker | undefined;
  try {
    const spec = { id: 't00000', index: 0, seed: 1, decisions: new Array(50).fill(0), proxy: resolveProxyTask({ data: 'fake' }), dir: join(root, 'controller') };
    const outcome = transport.attempt(spec);
    for (let i = 0; i < 100 && (await queue.getJob(jobId('lost', 't00000'))) === undefined; i++) await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(await queue.remove(jobId('lost', 't00000')), 1, 'the job was enqueued, then removed');
    worker = await QueueWorker.start({ url: redis.url, concurrency: 1, trainer: QUEUE_FAKE_TRAINER, backend: null, dir: join(root, 'worker') });
    assert.ok(Number.isFinite((await outcome).reward));
    assert.equal(await queue.getJobState(jobId('lost', 't00000')), 'completed');
  } finally {
    await transport.close();
    await worker?.close(5_000);
    await queue.close();
    connection.disconnect();
    await redis.dispose();
    await rm(root, { recursive: true, force: true });
  }
});
