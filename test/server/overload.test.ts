// Statuses that depend on the pool's state: 503 + Retry-After while loading and when the queue is
// full, 504 past the deadline, 503 while closing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildApp } from '../../src/server/app.js';
import { jpegCard, readyApp, testConfig, type ErrorJson } from './helpers.js';

test('before the models are loaded: /healthz 200, /readyz, /models and inference 503 with Retry-After', async () => {
  const app = await buildApp({ config: testConfig({ retryAfterSeconds: 3 }) });
  try {
    assert.equal(app.inference.isReady, false, 'the worker is still loading');
    assert.equal((await app.inject({ method: 'GET', url: '/healthz' })).statusCode, 200);
    const image = await jpegCard();
    for (const [method, url] of [['GET', '/readyz'], ['GET', '/models'], ['POST', '/classify']] as const) {
      const response = await app.inject({ method, url, headers: { 'content-type': 'image/jpeg' }, ...(method === 'POST' ? { payload: image } : {}) });
      assert.equal(response.statusCode, 503, url);
      assert.equal((response.json() as ErrorJson).error.code, 'NOT_READY');
      assert.equal(response.headers['retry-after'], '3');
    }
    await app.inference.ready;
    assert.equal((await app.inject({ method: 'GET', url: '/readyz' })).statusCode, 200);
  } finally {
    await app.close();
  }
});

test('a full queue answers 503 QUEUE_FULL with Retry-After; the admitted request succeeds', async () => {
  const app = await readyApp({ queueSize: 0, retryAfterSeconds: 2 });
  try {
    const image = await jpegCard(800, 600);
    const send = () => app.inject({ method: 'POST', url: '/detect', headers: { 'content-type': 'image/jpeg' }, payload: image });
    const responses = await Promise.all([send(), send(), send(), send()]);
    const statuses = responses.map((r) => r.statusCode).sort();
    assert.ok(statuses.includes(200), `one request ran: ${statuses}`);
    const refused = responses.filter((r) => r.statusCode === 503);
    assert.ok(refused.length >= 1, `at least one was refused: ${statuses}`);
    for (const r of refused) {
      assert.equal((r.json() as ErrorJson).error.code, 'QUEUE_FULL');
      assert.equal(r.headers['retry-after'], '2');
    }
    const metrics = (await app.inject({ method: 'GET', url: '/metrics' })).body;
    assert.match(metrics, new RegExp(`nasnet_rejected_requests_total\\{code="QUEUE_FULL"\\} ${refused.length}`));
  } finally {
    await app.close();
  }
});

test('a request past its deadline answers 504 DEADLINE_EXCEEDED', async () => {
  const app = await readyApp({ deadlineMs: 1 });
  try {
    const response = await app.inject({ method: 'POST', url: '/classify', headers: { 'content-type': 'image/jpeg' }, payload: await jpegCard(800, 600) });
    assert.equal(response.statusCode, 504);
    assert.equal((response.json() as ErrorJson).error.code, 'DEADLINE_EXCEEDED');
  } finally {
    await app.close();
  }
});

test('close() waits for the in-flight request', async () => {
  const app = await readyApp();
  const image = await jpegCard(800, 600);
  const inFlight = app.inject({ method: 'POST', url: '/detect', headers: { 'content-type': 'image/jpeg' }, payload: image });
  while (app.inference.inFlight === 0) await new Promise((resolve) => setTimeout(resolve, 1));
  await app.close();
  assert.equal((await inFlight).statusCode, 200, 'the in-flight request finished');
});
