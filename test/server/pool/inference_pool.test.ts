// The worker pool on its own: bounded queue (QUEUE_FULL), deadlines that drop queued work, typed
// errors across the thread boundary, load failures, and close() finishing in-flight work.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { NasnetError } from '../../../core/errors.js';
import { silentLogger } from '../../../core/logger.js';
import { InferencePool, workerEnv, type InferencePoolOptions } from '../../../src/server/pool/inference_pool.js';
import { jpegCard, PLACEHOLDER, TEST_ENGINE } from '../helpers.js';

function poolOptions(overrides: Partial<InferencePoolOptions> = {}): InferencePoolOptions {
  return {
    workers: 1,
    tasksPerWorker: 1,
    queueSize: 1,
    engine: TEST_ENGINE,
    classifier: PLACEHOLDER,
    detector: PLACEHOLDER,
    modelsDir: '.',
    maxPixels: 4_000_000,
    threads: 1,
    logger: silentLogger,
    ...overrides,
  };
}

async function rejectsWith(promise: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(promise, (error: unknown) => error instanceof NasnetError && error.code === code);
}

describe('InferencePool', () => {
  let pool: InferencePool;
  let image: Buffer;

  before(async () => {
    pool = new InferencePool(poolOptions());
    image = await jpegCard(640, 480);
    await pool.ready;
  });

  after(async () => {
    await pool.close();
  });

  test('reports its models once ready', () => {
    assert.equal(pool.isReady, true);
    assert.deepEqual(pool.models.map((m) => `${m.task}:${m.name}`), ['classification:placeholder-tiny', 'detection:placeholder-tiny']);
  });

  test('a queued job whose signal aborts leaves the queue (CLIENT_CLOSED) and never runs; a running one finishes', async () => {
    const task = { kind: 'detect', image, minScore: 0.5, maxDetections: 10 } as const;
    const before = pool.counts;
    const running = new AbortController();
    const queued = new AbortController();
    const first = pool.run(task, 30_000, running.signal);
    const second = pool.run(task, 30_000, queued.signal);
    assert.deepEqual([pool.inFlight, pool.queueDepth], [1, 1]);
    queued.abort();
    running.abort();
    assert.equal(pool.queueDepth, 0, 'the aborted job left the queue at once');
    await rejectsWith(second, 'CLIENT_CLOSED');
    assert.equal((await first).output.kind, 'detect', 'the running job was not interrupted');
    const after = pool.counts;
    assert.deepEqual(
      [after.started - before.started, after.droppedClientClosed - before.droppedClientClosed, after.droppedDeadline - before.droppedDeadline],
      [1, 1, 0],
    );
    await rejectsWith(pool.run(task, 30_000, AbortSignal.abort()), 'CLIENT_CLOSED');
    assert.equal(pool.counts.started, after.started, 'an already-aborted signal is refused before queueing');
  });

  test('one running, one queued, the next is refused with QUEUE_FULL', async () => {
    const task = { kind: 'detect', image, minScore: 0.5, maxDetections: 10 } as const;
    const first = pool.run(task, 30_000);
    const second = pool.run(task, 30_000);
    assert.equal(pool.inFlight, 1);
    assert.equal(pool.queueDepth, 1);
    await rejectsWith(pool.run(task, 30_000), 'QUEUE_FULL');
    const results = await Promise.all([first, second]);
    for (const result of results) {
      assert.equal(result.output.kind, 'detect');
      assert.deepEqual([result.output.image.width, result.output.image.height], [640, 480]);
    }
    assert.ok(results[1]!.queuedMs > 0, 'the second task waited');
    assert.equal(pool.queueDepth, 0);
    assert.equal(pool.inFlight, 0);
  });

  test('a queued task past its deadline is dropped (504), the running one still completes', async () => {
    const running = pool.run({ kind: 'detect', image, minScore: 0.5, maxDetections: 10 }, 30_000);
    const late = pool.run({ kind: 'classify', image, topK: 5 }, 1);
    assert.equal(pool.queueDepth, 1);
    await rejectsWith(late, 'DEADLINE_EXCEEDED');
    assert.equal(pool.queueDepth, 0, 'the expired task left the queue without running');
    const result = await running;
    assert.equal(result.output.kind, 'detect');
    assert.equal(pool.inFlight, 0, 'the expired task was never handed to the worker');
  });

  test('a running task past its deadline answers 504 and frees its slot when the worker finishes', async () => {
    await rejectsWith(pool.run({ kind: 'detect', image, minScore: 0.5, maxDetections: 10 }, 1), 'DEADLINE_EXCEEDED');
    while (pool.inFlight > 0) await new Promise((resolve) => setTimeout(resolve, 5));
    const next = await pool.run({ kind: 'classify', image, topK: 1 }, 30_000);
    assert.equal(next.output.kind === 'classify' && next.output.predictions.length, 1);
  });

  test('worker errors keep their code across the thread boundary', async () => {
    await rejectsWith(pool.run({ kind: 'classify', image: Buffer.from('not an image'), topK: 5 }, 30_000), 'NOT_AN_IMAGE');
    await rejectsWith(pool.run({ kind: 'classify', image, topK: 5000 }, 30_000), 'INVALID_ARGUMENT');
  });

  test('workers hold only their weights between tasks', async () => {
    const before = (await pool.workerStats()).numTensors;
    for (let i = 0; i < 5; i++) await pool.run({ kind: 'detect', image, minScore: 0, maxDetections: 100 }, 30_000);
    assert.equal((await pool.workerStats()).numTensors, before);
    assert.equal(pool.tensorsHeld, before);
  });
});

test('a pool whose models cannot load rejects `ready` with the typed error', async () => {
  const pool = new InferencePool(poolOptions({ classifier: { kind: 'placeholder-tiny', weights: '/models/none.h5' } }));
  await rejectsWith(pool.ready, 'INVALID_CONFIG');
  assert.equal(pool.isReady, false);
  await rejectsWith(pool.run({ kind: 'classify', image: Buffer.alloc(1), topK: 1 }, 1000), 'NOT_READY');
  await pool.close();
});

test('close() reports not ready, finishes in-flight and queued work, then refuses new work', async () => {
  const pool = new InferencePool(poolOptions({ workers: 2, queueSize: 4 }));
  await pool.ready;
  const image = await jpegCard(320, 240);
  const tasks = Array.from({ length: 4 }, () => pool.run({ kind: 'classify', image, topK: 1 }, 30_000));
  const closing = pool.close();
  assert.equal(pool.isReady, false);
  // A request the server received before closing still gets its answer.
  tasks.push(pool.run({ kind: 'classify', image, topK: 1 }, 30_000));
  const results = await Promise.all(tasks);
  assert.deepEqual(results.map((r) => r.output.kind), ['classify', 'classify', 'classify', 'classify', 'classify']);
  await closing;
  await rejectsWith(pool.run({ kind: 'classify', image, topK: 1 }, 30_000), 'NOT_READY');
});

test('workers spin their onnxruntime threads only while each thread has a core, unless the operator chose', () => {
  const env = { PATH: '/bin' };
  assert.equal(workerEnv(2, 1, 2, env), env);
  assert.equal(workerEnv(1, 2, 2, env), env);
  assert.deepEqual(workerEnv(2, 2, 2, env), { PATH: '/bin', NASNET_ORT_SPINNING: '0' });
  assert.deepEqual(workerEnv(4, 1, 2, { NASNET_ORT_SPINNING: '1' }), { NASNET_ORT_SPINNING: '1' });
});
