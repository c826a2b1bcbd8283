// The run with an in-process transport (the interface a queue transport implements) and the fake trainer:
// every strategy completes, failures are retried then recorded with their error, results are first-write-wins,
// status/export read the results store.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initEngine } from '../../core/engine.js';
import { exportTop, runStatus } from '../../search/report.js';
import { listResults, readResult, writeResult, type TrialResult } from '../../search/results.js';
import { createRun, resolveSearchConfig, runSearch, trialId } from '../../search/run.js';
import type { TrialTransport } from '../../search/transport.js';
import { fakeTrainer } from './fake_trainer.js';

let root = '';
before(async () => {
  await initEngine({ backend: 'cpu' });
  root = await mkdtemp(join(tmpdir(), 'search-run-'));
});

after(() => rm(root, { recursive: true, force: true }));

/** Runs attempts in this thread, counting them. */
function inProcess(): TrialTransport & { attempts: number } {
  return {
    attempts: 0,
    attempt(spec) {
      this.attempts += 1;
      return fakeTrainer(spec);
    },
    close: async () => undefined,
  };
}

for (const strategy of ['ppo', 'random', 'evolution'] as const) {
  test(`${strategy}: 24 trials in batches of 5 complete; failing trials are retried, then recorded as failed with their error`, async () => {
    const run = join(root, strategy);
    await createRun(run, resolveSearchConfig({ strategy, trials: 24, batchSize: 5, seed: 1, maxAttempts: 3, controller: { units: 16 }, evolution: { population: 6, sample: 3 }, proxy: { data: 'fake' } }));
    const transport = inProcess();
    const lines: string[] = [];
    const summary = await runSearch(run, { transport, stream: { write: (s: string) => lines.push(s) } as unknown as NodeJS.WritableStream });
    assert.equal(summary.batches, 5);
    assert.equal(lines.length, 5);
    const results = await listResults(run);
    assert.deepEqual(results.map((r) => r.id), Array.from({ length: 24 }, (_, i) => trialId(i)));
    const failed = results.filter((r) => r.status === 'failed');
    assert.deepEqual(failed.map((r) => r.index), [7, 18]); // index = 7 mod 11 always fails
    for (const r of failed) {
      assert.equal(r.reward, null);
      assert.equal(r.attempts, 3);
      assert.match(r.error!.message, /always fails/);
    }
    const retried = results.find((r) => r.index === 1)!;
    assert.equal(retried.status, 'done');
    assert.equal(retried.attempts, 2); // index = 1 mod 6 fails its first attempt
    // 22 successes, one retry each for indices 1, 13, 19 (= 1 mod 6), and 3 attempts each for 7 and 18.
    assert.equal(transport.attempts, 22 + 6 + 3);
    const status = await runStatus(run);
    assert.deepEqual([status.done, status.failed, status.running, status.waiting, status.finished], [22, 2, 0, 0, true]);
    const best = results.filter((r) => r.reward !== null).sort((a, b) => b.reward! - a.reward!)[0]!;
    assert.deepEqual(status.best, { trial: best.id, seed: best.seed, reward: best.reward });
    const exported = await exportTop(run, 3);
    assert.deepEqual(exported.cells.map((c) => c.trial), results.filter((r) => r.reward !== null).sort((a, b) => b.reward! - a.reward! || a.index - b.index).slice(0, 3).map((r) => r.id));
    // A finished run resumed does nothing more.
    const again = inProcess();
    assert.deepEqual(await runSearch(run, { transport: again }), summary);
    assert.equal(again.attempts, 0);
  });
}

test('results are first-write-wins: of concurrent writers of one trial exactly one is stored, and no temp file stays', async () => {
  const run = join(root, 'race');
  const base: TrialResult = { id: 't00000', index: 0, seed: 1, decisions: [], status: 'done', reward: 0, attempts: 1 };
  const wins = await Promise.all(Array.from({ length: 8 }, (_, i) => writeResult(run, { ...base, reward: i / 10 })));
  assert.equal(wins.filter(Boolean).length, 1);
  assert.equal((await readResult(run, 't00000'))!.reward, wins.indexOf(true) / 10);
  assert.deepEqual(await readdir(join(run, 'results')), ['t00000.json']);
});

test('a stopped run (signal) abandons its attempts in flight without recording them, and resumes to the same results', async () => {
  const config = resolveSearchConfig({ strategy: 'evolution', trials: 12, batchSize: 4, seed: 2, evolution: { population: 4, sample: 2 }, proxy: { data: 'fake' } });
  const [reference, stopped] = [join(root, 'stop-ref'), join(root, 'stop')];
  for (const run of [reference, stopped]) await createRun(run, config);
  await runSearch(reference, { transport: inProcess() });
  const controller = new AbortController();
  const stopping: TrialTransport = {
    async attempt(spec) {
      if (spec.index === 6) {
        controller.abort();
        throw new Error('transport closed');
      }
      return fakeTrainer(spec);
    },
    close: async () => undefined,
  };
  const first = await runSearch(stopped, { transport: stopping, signal: controller.signal });
  assert.equal(first.stopped, true);
  assert.equal(first.batches, 1);
  assert.equal(await readResult(stopped, 't00006'), undefined, 'the abandoned attempt is not a failure');
  const second = await runSearch(stopped, { transport: inProcess() });
  assert.equal(second.stopped, false);
  const strip = (rs: TrialResult[]) => rs.map((r) => ({ id: r.id, status: r.status, reward: r.reward }));
  assert.deepEqual(strip(await listResults(stopped)), strip(await listResults(reference)));
});
