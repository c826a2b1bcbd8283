// The queue's fault test (issue #19): 60 trials with a fast fake trainer, the controller and 3 worker processes
// (2 threads each) as real processes on a private redis-server, with
//   - a worker SIGKILLed while training (the trainer kills its process on trial 3),
//   - a worker SIGKILLed between storing an outcome and completing the job (after its 4th outcome),
//   - the controller SIGKILLed inside its checkpoint write and right after a stored result,
//   - SIGKILLs of a seeded random process at seeded moments (when 10, 22, 37, 50 outcomes are stored),
//   - trial 26 run twice: the first worker to train it is stopped (SIGSTOP) until its job stalls and another
//     worker stores the outcome, then resumes and stores a reward off by +1, which must be refused,
//   - Redis restarted once (SIGTERM, same folder and port) when 30 outcomes are stored;
// every killed process is started again. The run must count every trial exactly once and end with the same
// results and the same controller checkpoint bytes as the embedded run with the same seed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { access, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { createPrng } from '../../core/prng.js';
import { outcomesKey, readRunQueue } from '../../search/queue_transport.js';
import { listResults } from '../../search/results.js';
import { runSnapshot } from './run_snapshot.js';
import { startTestRedis } from './redis_server.js';

const CONTROLLER = fileURLToPath(new URL('./queue_controller_child.js', import.meta.url));
const WORKER = fileURLToPath(new URL('./queue_worker_child.js', import.meta.url));
const PAUSED_TRIAL = 26;
const exists = (path: string): Promise<boolean> => access(path).then(() => true, () => false);
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

interface Slot {
  readonly name: string;
  readonly script: string;
  readonly args: string[];
  /** Extra env of the 1st, 2nd, ... start (then none). */
  readonly envs: Record<string, string>[];
  readonly env: Record<string, string>;
  proc?: ChildProcess;
  starts: number;
  kills: number;
  stderr: string;
}

function runOnce(script: string, args: string[], env: Record<string, string>): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    child.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`${script} exited ${code}: ${err}`))));
  });
}

test('queued run: workers, controller and Redis killed or restarted at seeded moments, one trial run twice: counted once, checkpoint identical to the embedded run', { timeout: 240_000 }, async () => {
  const root = await mkdtemp(join(tmpdir(), 'search-queue-faults-'));
  const redis = await startTestRedis();
  const monitor = new Redis(redis.url, { maxRetriesPerRequest: null });
  monitor.on('error', () => undefined);
  const slots: Slot[] = [];
  let stopping = false;
  try {
    const reference = join(root, 'reference');
    const expected = JSON.parse(await runOnce(CONTROLLER, [reference], {})) as { done: number; failed: number; batches: number };
    assert.equal(expected.done + expected.failed, 60);
    assert.ok(expected.failed >= 5, 'indices 7 mod 11 always fail');

    const run = join(root, 'queued');
    const workDir = join(root, 'workers');
    const workerEnv = { NASNET_TEST_TRAIN_MS: '60', NASNET_TEST_KILL_TRIAL: '3', NASNET_TEST_PAUSE_TRIAL: String(PAUSED_TRIAL) };
    slots.push({ name: 'controller', script: CONTROLLER, args: [run, redis.url], envs: [{ NASNET_TEST_FAULT: 'checkpoint-write:3:3' }, { NASNET_TEST_FAULT: 'after-result:7' }], env: {}, starts: 0, kills: 0, stderr: '' });
    const firsts: Record<string, string>[] = [{}, { NASNET_TEST_WORKER_FAULT: 'after-outcome:4' }, {}];
    for (const [i, first] of firsts.entries()) {
      slots.push({ name: `worker${i + 1}`, script: WORKER, args: [redis.url, workDir], envs: [first], env: workerEnv, starts: 0, kills: 0, stderr: '' });
    }
    const prng = createPrng(1919);
    let finished: (summary: string) => void = () => undefined;
    let failed: (error: Error) => void = () => undefined;
    const done = new Promise<string>((resolve, reject) => {
      finished = resolve;
      failed = reject;
    });
    const start = (slot: Slot): void => {
      const env = { ...process.env, ...slot.env, ...(slot.envs[slot.starts] ?? {}) };
      slot.starts += 1;
      const child = spawn(process.execPath, [slot.script, ...slot.args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
      slot.proc = child;
      let out = '';
      child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
      child.stderr!.on('data', (c: Buffer) => (slot.stderr = (slot.stderr + c.toString()).slice(-4000)));
      child.on('exit', (code, signal) => {
        if (stopping) return;
        if (signal === 'SIGKILL') {
          slot.kills += 1;
          setTimeout(() => !stopping && start(slot), 50 + prng.int(250));
        } else if (slot.name === 'controller' && code === 0) finished(out);
        else failed(new Error(`${slot.name} exited (code ${code}, signal ${signal}):\n${slot.stderr}`));
      });
    };
    for (const slot of slots) start(slot);

    // The monitor: seeded kills at outcome counts, the Redis restart, the stalled trial.
    const killAt = [10, 22, 37, 50];
    let restarted = false;
    let pausedPid: number | undefined;
    let pauseReleased = false;
    let stored = 0;
    const watch = (async () => {
      let key: string | undefined;
      while (!stopping) {
        await sleep(40);
        key ??= (await readRunQueue(run).catch(() => undefined))?.key;
        if (key === undefined) continue;
        stored = await monitor.hlen(outcomesKey(key));
        while (killAt.length > 0 && stored >= killAt[0]!) {
          killAt.shift();
          const slot = slots[prng.int(slots.length)]!;
          const delay = prng.int(300);
          setTimeout(() => {
            if (slot.proc !== undefined && slot.proc.pid !== pausedPid && slot.proc.exitCode === null) slot.proc.kill('SIGKILL');
          }, delay);
        }
        if (!restarted && stored >= 30) {
          restarted = true;
          await redis.stop();
          await sleep(300);
          await redis.start();
        }
        const trialDir = join(workDir, key, `t${String(PAUSED_TRIAL).padStart(5, '0')}`);
        if (pausedPid === undefined && (await exists(join(trialDir, 'paused')))) {
          pausedPid = Number(await readFile(join(trialDir, 'paused'), 'utf8'));
          process.kill(pausedPid, 'SIGSTOP');
        }
        if (pausedPid !== undefined && !pauseReleased && (await monitor.hexists(outcomesKey(key), `t${String(PAUSED_TRIAL).padStart(5, '0')}`)) === 1) {
          pauseReleased = true;
          await writeFile(join(trialDir, 'go'), '');
          process.kill(pausedPid, 'SIGCONT');
        }
      }
    })();
    const watchdog = new Promise<never>((_, reject) => setTimeout(() => reject(new Error(
      `the queued run did not finish in 150 s: ${stored} outcomes; ${slots.map((s) => `${s.name} starts ${s.starts} kills ${s.kills}`).join('; ')}\n${slots.map((s) => `--- ${s.name}\n${s.stderr}`).join('\n')}`,
    )), 150_000).unref());
    const summary = JSON.parse(await Promise.race([done, watchdog])) as typeof expected;
    stopping = true;
    await watch;

    assert.deepEqual(summary, expected);
    const [a, b] = [await runSnapshot(reference), await runSnapshot(run)];
    assert.equal(b.results.length, 60);
    assert.deepEqual(b.results, a.results);
    assert.deepEqual(Object.keys(b.files), Object.keys(a.files));
    for (const name of Object.keys(a.files)) assert.ok(a.files[name] === b.files[name], `controller/${name} differs from the embedded run's`);
    const key = (await readRunQueue(run))!.key;
    assert.equal(await monitor.hlen(outcomesKey(key)), expected.done, 'one stored outcome per trial that succeeded');
    // The store itself kept the first write: the stopped worker's late +1 reward is nowhere.
    const outcomes = await monitor.hgetall(outcomesKey(key));
    for (const r of await listResults(run)) {
      if (r.status === 'done') assert.equal((JSON.parse(outcomes[r.id]!) as { outcome: { reward: number } }).outcome.reward, r.reward, r.id);
    }

    const runs = (await readFile(join(workDir, 'runs.log'), 'utf8')).split('\n').filter((l) => l === `t000${PAUSED_TRIAL}`).length;
    assert.ok(pauseReleased && runs >= 2, `trial ${PAUSED_TRIAL} was trained ${runs} times (the stopped worker's late result must be the second)`);
    assert.ok(restarted, 'Redis was restarted mid-run');
    const [controller, ...workers] = slots;
    assert.ok(controller!.kills >= 2, `the controller was killed ${controller!.kills} times`);
    assert.ok(workers.reduce((n, w) => n + w.kills, 0) >= 2, `workers were killed ${workers.map((w) => w.kills).join(', ')} times`);
    process.stderr.write(`kills: ${slots.map((s) => `${s.name} ${s.kills}`).join(', ')}; trial ${PAUSED_TRIAL} trained ${runs} times\n`);
  } finally {
    stopping = true;
    await Promise.all(slots.map((s) => new Promise<void>((resolve) => {
      const p = s.proc;
      if (p === undefined || p.exitCode !== null || p.signalCode !== null) return resolve();
      const timer = setTimeout(() => p.kill('SIGKILL'), 8_000);
      p.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
      p.kill('SIGCONT');
      p.kill('SIGTERM');
    })));
    monitor.disconnect();
    await redis.dispose();
    await rm(root, { recursive: true, force: true });
  }
});
