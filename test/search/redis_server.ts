// A private redis-server for a test: a free loopback port, its own data folder, append-only persistence and
// noeviction (what the search queue requires), stopped (and restartable on the same folder) by the test.
// Missing redis-server fails the test with how to install it: nothing skips silently.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';

export const REDIS_SERVER = process.env.REDIS_SERVER ?? 'redis-server';

export function assertRedisInstalled(): void {
  const probe = spawnSync(REDIS_SERVER, ['--version'], { encoding: 'utf8' });
  if (probe.error !== undefined || probe.status !== 0) {
    throw new Error(`${REDIS_SERVER} is not installed (needed by the search queue tests): apt-get install redis-server (Debian), or set REDIS_SERVER to its path`);
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export interface TestRedis {
  readonly url: string;
  readonly dir: string;
  /** SIGTERM (Redis flushes its append-only file) and wait for the exit. */
  stop(): Promise<void>;
  /** Start again on the same port and folder. */
  start(): Promise<void>;
  /** stop() and remove the folder. */
  dispose(): Promise<void>;
}

export async function startTestRedis(extraArgs: string[] = ['--appendonly', 'yes', '--maxmemory-policy', 'noeviction']): Promise<TestRedis> {
  assertRedisInstalled();
  const dir = await mkdtemp(join(tmpdir(), 'nasnet-redis-'));
  const port = await freePort();
  const url = `redis://127.0.0.1:${port}`;
  let child: ChildProcess | undefined;
  let log = '';
  const start = async (): Promise<void> => {
    log = '';
    child = spawn(REDIS_SERVER, ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--daemonize', 'no', '--protected-mode', 'yes', ...extraArgs], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout!.on('data', (c: Buffer) => (log += c.toString()));
    child.stderr!.on('data', (c: Buffer) => (log += c.toString()));
    const deadline = Date.now() + 20_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`redis-server exited ${child.exitCode}: ${log}`);
      const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
      client.on('error', () => undefined);
      const ok = await client.connect().then(() => client.ping(), () => null).catch(() => null);
      client.disconnect();
      if (ok === 'PONG') return;
      if (Date.now() > deadline) throw new Error(`redis-server did not answer on ${url} within 20 s: ${log}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  };
  const stop = async (): Promise<void> => {
    const c = child;
    if (c === undefined || c.exitCode !== null || c.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      c.once('exit', () => resolve());
      c.kill('SIGTERM');
    });
  };
  await start();
  return { url, dir, stop, start, dispose: async () => { await stop(); await rm(dir, { recursive: true, force: true }); } };
}
