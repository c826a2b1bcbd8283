// A search run SIGKILLed at chosen and at random moments, resumed each time, ends identical to an
// uninterrupted run with the same seed: the same trials, statuses and rewards, and byte-identical
// controller checkpoint files. Kills: inside a child's training, right after a result is stored, between
// the last result and the update, inside the checkpoint write (a few event-loop turns into it), and at
// seeded random times.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createPrng } from '../../core/prng.js';
import { runSnapshot } from './run_snapshot.js';

const CHILD = fileURLToPath(new URL('./fault_child.js', import.meta.url));

function runChild(run: string, env: Record<string, string>, killAfterMs?: number): Promise<{ code: number | null; signal: string | null; stdout: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CHILD, run], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const timer = killAfterMs === undefined ? undefined : setTimeout(() => child.kill('SIGKILL'), killAfterMs);
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (code !== 0 && signal === null) reject(new Error(`child exited ${code}: ${stderr}`));
      else resolve({ code, signal, stdout });
    });
  });
}

test('a run killed (SIGKILL) at chosen and random moments and resumed ends identical to an uninterrupted run', { timeout: 600_000 }, async () => {
  const root = await mkdtemp(join(tmpdir(), 'search-faults-'));
  try {
    const reference = join(root, 'reference');
    const done = await runChild(reference, {});
    assert.equal(done.code, 0);
    const summary = JSON.parse(done.stdout) as { done: number; failed: number; batches: number };
    assert.equal(summary.batches, 5);
    assert.equal(summary.done + summary.failed, 40);
    assert.ok(summary.failed >= 3, 'indices 7, 18, 29 always fail and are recorded as failed');

    const faulty = join(root, 'faulty');
    const chosen: Record<string, string>[] = [
      { NASNET_TEST_KILL_TRIAL: '3' },
      { NASNET_TEST_FAULT: 'after-result:5' },
      { NASNET_TEST_FAULT: 'before-update:1' },
      { NASNET_TEST_FAULT: 'checkpoint-write:1:3' },
      { NASNET_TEST_FAULT: 'checkpoint-write:2:8' },
      { NASNET_TEST_KILL_TRIAL: '30' },
      { NASNET_TEST_FAULT: 'after-result:2' },
    ];
    let kills = 0;
    for (const env of chosen) {
      const r = await runChild(faulty, env);
      if (r.signal === 'SIGKILL') kills += 1;
    }
    assert.ok(kills >= 5, `the chosen faults killed the run ${kills} times`);
    const prng = createPrng(19);
    for (let i = 0; i < 4; i++) await runChild(faulty, {}, 300 + prng.int(900));
    const last = await runChild(faulty, {});
    assert.equal(last.code, 0);
    assert.deepEqual(JSON.parse(last.stdout), summary);

    const [a, b] = [await runSnapshot(reference), await runSnapshot(faulty)];
    assert.deepEqual(b.results, a.results);
    assert.deepEqual(Object.keys(b.files), Object.keys(a.files));
    for (const name of Object.keys(a.files)) assert.ok(a.files[name] === b.files[name], `controller/${name} differs`);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});
