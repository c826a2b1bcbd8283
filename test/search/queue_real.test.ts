// Real children over the queue: a tiny search on digits (4 children of 1 cell @ F = 4, 1 epoch on 100 images)
// run by `nasnet search --queue` with 2 `nasnet search worker` processes gives the same trials and rewards as
// the embedded run of the same command; `status` then shows the workers seen and the queue.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeDigitsFolder } from '../../data/digits.js';
import { listResults } from '../../search/results.js';
import { main as searchMain } from '../../src/cli/search.js';
import { runCli } from '../helpers/cli.js';
import { startTestRedis } from './redis_server.js';
import { copyFolderSubset } from '../../data/folder_subset.js';

const NASNET = fileURLToPath(new URL('../../src/cli/nasnet.js', import.meta.url));

test('a tiny real search over the queue with 2 worker processes equals the embedded run', { timeout: 600_000 }, async () => {
  const root = await mkdtemp(join(tmpdir(), 'search-queue-real-'));
  const redis = await startTestRedis();
  const workers: ChildProcess[] = [];
  try {
    await writeDigitsFolder(join(root, 'digits'));
    const data = join(root, 'tiny');
    await copyFolderSubset(join(root, 'digits'), data, { train: 10, val: 5 });
    const flags = ['--data', data, '--strategy', 'random', '--trials', '4', '--batch', '2', '--epochs', '1', '--cells', '1', '--filters', '4', '--seed', '8', '--backend', 'wasm'];
    const embedded = await runCli(searchMain, ...flags, '--out', join(root, 'embedded'), '--workers', '2');
    assert.equal(embedded.code, 0, embedded.stderr);

    let logs = '';
    for (let i = 0; i < 2; i++) {
      const w = spawn(process.execPath, [NASNET, 'search', 'worker', '--queue', redis.url, '--concurrency', '1', '--backend', 'wasm', '--dir', join(root, `worker${i}`)], { stdio: ['ignore', 'ignore', 'pipe'] });
      w.stderr!.on('data', (c: Buffer) => (logs += c.toString()));
      workers.push(w);
    }
    const queued = await runCli(searchMain, ...flags, '--out', join(root, 'queued'), '--queue', redis.url);
    assert.equal(queued.code, 0, `${queued.stderr}\n${logs}`);
    assert.deepEqual(JSON.parse(queued.stdout).best, JSON.parse(embedded.stdout).best);
    const strip = (run: string) => listResults(run).then((rs) => rs.map((r) => ({ id: r.id, seed: r.seed, decisions: r.decisions, status: r.status, reward: r.reward })));
    const results = await strip(join(root, 'queued'));
    assert.equal(results.length, 4);
    assert.deepEqual(results, await strip(join(root, 'embedded')));
    assert.ok((logs.match(/ t0000\d of \w+: reward /g) ?? []).length >= 4, logs);

    const status = await runCli(searchMain, 'status', join(root, 'queued'));
    assert.equal(status.code, 0, status.stderr);
    assert.match(status.stdout, /4 done/);
    assert.match(status.stdout, /workers seen: 2\n/);
    assert.match(status.stdout, /4 outcomes stored/);
  } finally {
    await Promise.all(workers.map((w) => new Promise<void>((resolve) => {
      if (w.exitCode !== null) return resolve();
      w.once('exit', () => resolve());
      w.kill('SIGTERM');
    })));
    await redis.dispose();
    await rm(root, { recursive: true, force: true });
  }
});
