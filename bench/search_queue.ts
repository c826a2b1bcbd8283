// The search queue's cost (issue #19; prints numbers, never a timed test), on a private redis-server:
//   1. queue overhead per trial: enqueue -> a worker starts it, and outcome stored -> the controller reads it,
//      against the child's training time on the digits proxy (goal: < 1 % of it);
//   2. children per hour with 1, 2 and 4 worker processes (`nasnet search worker --concurrency 1`), each batch
//      as wide as the workers so every child starts at once.
// node dist/bench/search_queue.js [--workers 1,2,4] [--per-worker 2] [--train 30] [--val 10] [--epochs 1]
// (--train/--val: digits images per class; the full set is 120/30.) Records the load average it ran under.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { initEngine } from '../core/engine.js';
import { writeDigitsFolder } from '../data/digits.js';
import { Redis } from 'ioredis';
import { QueueTransport, WORKERS_KEY, attachRunQueue } from '../search/queue_transport.js';
import { createRun, resolveSearchConfig, runSearch } from '../search/run.js';
import { startTestRedis } from '../test/search/redis_server.js';
import { copyFolderSubset } from '../data/folder_subset.js';

const { values } = parseArgs({ options: {
  workers: { type: 'string', default: '1,2,4' }, 'per-worker': { type: 'string', default: '2' },
  train: { type: 'string', default: '30' }, val: { type: 'string', default: '10' }, epochs: { type: 'string', default: '1' },
} });
const NASNET = fileURLToPath(new URL('../src/cli/nasnet.js', import.meta.url));
const median = (xs: readonly number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;

function stop(workers: ChildProcess[]): Promise<void[]> {
  return Promise.all(workers.map((w) => new Promise<void>((resolve) => {
    if (w.exitCode !== null) return resolve();
    w.once('exit', () => resolve());
    w.kill('SIGTERM');
  })));
}

await initEngine({ backend: 'cpu' });
const root = await mkdtemp(join(tmpdir(), 'nasnet-queue-bench-'));
const redis = await startTestRedis();
const loadBefore = loadavg();
process.stdout.write(`machine: ${cpus().length} cores, load average ${loadBefore.map((l) => l.toFixed(1)).join(' ')} at start\n`);
try {
  await writeDigitsFolder(join(root, 'digits'));
  const data = join(root, 'proxy');
  await copyFolderSubset(join(root, 'digits'), data, { train: Number(values.train), val: Number(values.val) });
  const rows: string[] = [];
  const allTimings: { startMs: number; resultMs: number; trainMs: number; childMs: number }[] = [];
  for (const k of values.workers!.split(',').map(Number)) {
    const trials = k * Number(values['per-worker']);
    const run = join(root, `run-${k}`);
    await createRun(run, resolveSearchConfig({ strategy: 'random', trials, batchSize: k, seed: 1, proxy: { data, epochs: Number(values.epochs) } }));
    const workers: ChildProcess[] = [];
    for (let i = 0; i < k; i++) {
      workers.push(spawn(process.execPath, [NASNET, 'search', 'worker', '--queue', redis.url, '--concurrency', '1', '--backend', 'wasm', '--dir', join(root, `w${k}-${i}`)], { stdio: 'ignore' }));
    }
    // Wait until every worker has said hello (its engine loaded), so start-up is not counted as queue time.
    const probe = new Redis(redis.url);
    while (Object.keys(await probe.hgetall(WORKERS_KEY)).length < k) await new Promise((resolve) => setTimeout(resolve, 200));
    probe.disconnect();
    const queue = await attachRunQueue(run, redis.url);
    const transport = await QueueTransport.open({ url: redis.url, runKey: queue.key, pollMs: 100 });
    const started = performance.now();
    const summary = await runSearch(run, { transport });
    const seconds = (performance.now() - started) / 1000;
    const timings = [...transport.timings];
    await transport.close();
    await stop(workers);
    const { listResults } = await import('../search/results.js');
    const childMs = new Map((await listResults(run)).map((r) => [r.id, (r.metrics?.seconds ?? NaN) * 1000]));
    for (const t of timings) allTimings.push({ ...t, childMs: childMs.get(t.id)! });
    rows.push(`| ${k} | ${summary.done + summary.failed} | ${seconds.toFixed(0)} s | ${(((summary.done + summary.failed) / seconds) * 3600).toFixed(0)} | ${(median(timings.map((t) => t.trainMs)) / 1000).toFixed(1)} s |`);
    process.stdout.write(`${k} worker(s): ${rows[rows.length - 1]}\n`);
  }
  const start = median(allTimings.map((t) => t.startMs));
  const result = median(allTimings.map((t) => t.resultMs));
  const thread = median(allTimings.map((t) => t.trainMs - t.childMs));
  const child = median(allTimings.map((t) => t.childMs));
  process.stdout.write(`\nqueue overhead per trial (median of ${allTimings.length}):\n`);
  process.stdout.write(`  enqueue -> worker start ${start.toFixed(0)} ms, outcome -> controller ${result.toFixed(0)} ms (poll 100 ms), thread round trip ${thread.toFixed(0)} ms\n`);
  process.stdout.write(`  child training ${(child / 1000).toFixed(1)} s: overhead ${(((start + result) / child) * 100).toFixed(2)} % of it\n\n`);
  process.stdout.write('| worker processes | children | wall | children/hour | median child (worker side) |\n|---|---|---|---|---|\n');
  process.stdout.write(`${rows.join('\n')}\n`);
  process.stdout.write(`load average at end ${loadavg().map((l) => l.toFixed(1)).join(' ')}\n`);
} finally {
  await redis.dispose();
  await rm(root, { recursive: true, force: true });
}
