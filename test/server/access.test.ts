// Issue 17, items 6 and 14 (serve parts): strict numeric query values, the echoed request id, the API
// key, CORS, switches for /metrics and /docs (and metrics on a port of their own), and /models naming
// the TensorFlow.js engine with its reason next to each model's inference engine.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { silentLogger } from '../../core/logger.js';
import { startServer } from '../../src/server/start.js';
import { jpegCard, readyApp, testConfig, type ErrorJson } from './helpers.js';

const KEY = 'k3y-0f-the-test';
let image: Buffer;

before(async () => {
  image = await jpegCard();
});

describe('defaults', () => {
  let app: FastifyInstance;
  before(async () => {
    app = await readyApp();
  });
  after(async () => {
    await app.close();
  });
  const post = (url: string, headers: Record<string, string> = {}) =>
    app.inject({ method: 'POST', url, headers: { 'content-type': 'image/jpeg', ...headers }, payload: image });

  test('numeric query values must be finite decimals: hex, binary, Infinity, 1e999 and padded values are 400', async () => {
    for (const query of ['/classify?topK=0x10', '/classify?topK=0b101', '/classify?topK=Infinity', '/classify?topK=-Infinity', '/classify?topK=%205',
      '/detect?minScore=Infinity', '/detect?minScore=-Infinity', '/detect?maxDetections=1e999', '/detect?minScore=0x0']) {
      const response = await post(query);
      assert.equal(response.statusCode, 400, `${query}: ${response.body}`);
      const body = response.json() as ErrorJson;
      assert.equal(body.error.code, 'INVALID_ARGUMENT');
      assert.match(body.error.message, /^query parameter "(topK|minScore|maxDetections)" must be a finite decimal number; received "/, query);
    }
    assert.equal((await post('/classify?topK=0x10')).json().error.message, 'query parameter "topK" must be a finite decimal number; received "0x10"');
    for (const query of ['/classify?topK=7', '/classify?topK=%2B7', '/detect?minScore=.25', '/detect?minScore=1e-1&maxDetections=10']) {
      assert.equal((await post(query)).statusCode, 200, query);
    }
  });

  test('x-request-id is echoed only when 1..128 plain characters; otherwise a new UUID', async () => {
    const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
    const echoed = async (id: string): Promise<string> =>
      String((await app.inject({ method: 'GET', url: '/healthz', headers: { 'x-request-id': id } })).headers['x-request-id']);
    assert.equal(await echoed('trace-42.abc:def/1'), 'trace-42.abc:def/1');
    assert.equal(await echoed('a'.repeat(128)), 'a'.repeat(128));
    assert.match(await echoed('a'.repeat(129)), uuid);
    assert.match(await echoed('x'.repeat(5000)), uuid);
    assert.match(await echoed('<script>alert(1)</script>'), uuid);
    assert.match(await echoed('two words'), uuid);
  });

  test('no API key and no CORS by default; /metrics and /docs on', async () => {
    assert.equal((await post('/classify')).statusCode, 200);
    const cors = await app.inject({ method: 'GET', url: '/models', headers: { origin: 'https://elsewhere.example' } });
    assert.equal(cors.headers['access-control-allow-origin'], undefined);
    assert.equal((await app.inject({ method: 'GET', url: '/metrics' })).statusCode, 200);
    assert.equal((await app.inject({ method: 'GET', url: '/docs/json' })).statusCode, 200);
  });

  test('/models shows the TensorFlow.js engine with its reason and each model\'s inference engine', async () => {
    const models = (await app.inject({ method: 'GET', url: '/models' })).json() as {
      tfjsEngine: { backend: string; package: string; reason: string };
      classifier: { engine: string };
    };
    assert.equal(models.tfjsEngine.backend, 'wasm');
    assert.equal(models.tfjsEngine.package, '@tensorflow/tfjs-backend-wasm');
    assert.ok(models.tfjsEngine.reason.length > 0, 'a reason is given');
    assert.equal(typeof models.classifier.engine, 'string');
  });
});

describe('apiKey, corsOrigins, metrics and docs switches', () => {
  let app: FastifyInstance;
  before(async () => {
    app = await readyApp({ apiKey: KEY, corsOrigins: 'https://app.example, https://other.example/', metrics: false, docs: false });
  });
  after(async () => {
    await app.close();
  });

  test('with apiKey, inference and /models need x-api-key (401 UNAUTHORIZED otherwise); health checks and / do not', async () => {
    for (const headers of [{}, { 'x-api-key': 'wrong' }, { 'x-api-key': `${KEY}x` }, { 'x-api-key': KEY.slice(0, -1) }]) {
      const response = await app.inject({ method: 'POST', url: '/classify', headers: { 'content-type': 'image/jpeg', ...headers }, payload: image });
      assert.equal(response.statusCode, 401, JSON.stringify(headers));
      assert.deepEqual(response.json(), { error: { code: 'UNAUTHORIZED', message: 'send the API key in header x-api-key' } });
    }
    assert.equal((await app.inject({ method: 'GET', url: '/models' })).statusCode, 401);
    const ok = await app.inject({ method: 'POST', url: '/classify', headers: { 'content-type': 'image/jpeg', 'x-api-key': KEY }, payload: image });
    assert.equal(ok.statusCode, 200, ok.body);
    for (const url of ['/healthz', '/readyz', '/']) assert.equal((await app.inject({ method: 'GET', url })).statusCode, 200, url);
  });

  test('CORS: an allowed origin gets the headers and its preflight a 204; another origin gets none', async () => {
    const preflight = await app.inject({
      method: 'OPTIONS', url: '/detect',
      headers: { origin: 'https://app.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'x-api-key' },
    });
    assert.equal(preflight.statusCode, 204);
    assert.equal(preflight.headers['access-control-allow-origin'], 'https://app.example');
    assert.equal(preflight.headers['access-control-allow-methods'], 'GET, POST');
    assert.match(String(preflight.headers['access-control-allow-headers']), /x-api-key/);
    const other = await app.inject({ method: 'GET', url: '/healthz', headers: { origin: 'https://other.example' } });
    assert.equal(other.headers['access-control-allow-origin'], 'https://other.example', 'a trailing slash in the setting is ignored');
    assert.equal(other.headers.vary, 'Origin');
    const refused = await app.inject({ method: 'GET', url: '/healthz', headers: { origin: 'https://evil.example' } });
    assert.equal(refused.headers['access-control-allow-origin'], undefined);
  });

  test('metrics: false and docs: false remove /metrics and /docs', async () => {
    for (const url of ['/metrics', '/docs', '/docs/json']) {
      assert.equal((await app.inject({ method: 'GET', url, headers: { 'x-api-key': KEY } })).statusCode, 404, url);
    }
  });
});

async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

test('metricsPort serves /metrics on its own listener and not on the main port; both close with the app', async () => {
  const metricsPort = await freePort();
  const server = await startServer(testConfig({ port: 0, metricsPort }), silentLogger);
  try {
    const main = await fetch(`${server.url}/metrics`);
    assert.equal(main.status, 404);
    const metrics = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
    assert.equal(metrics.status, 200);
    assert.match(await metrics.text(), /nasnet_inference_started_total 0/);
    assert.equal((await fetch(`http://127.0.0.1:${metricsPort}/healthz`)).status, 404);
  } finally {
    await server.app.close();
  }
  await assert.rejects(fetch(`http://127.0.0.1:${metricsPort}/metrics`), 'the metrics listener closed with the app');
});
