// Demo models say they are demos (issue #15) and the OpenAPI document lets Swagger UI upload (#17 item 10):
// the start-up log, the OpenAPI description and route texts, requestBody for the upload routes, one
// error example per status, /favicon.ico; a start with an empty cache serves the embedded models.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import type { FastifyInstance } from 'fastify';
import { startServer } from '../../src/server/start.js';
import { ERROR_EXAMPLES } from '../../src/server/schemas.js';
import { readyApp, testConfig } from './helpers.js';

interface Operation {
  description?: string;
  requestBody?: { required: boolean; content: Record<string, { schema: { type: string; format?: string; properties?: Record<string, { format?: string }> } }> };
  responses: Record<string, { content?: Record<string, { example?: { error: { code: string } } }> }>;
}

let app: FastifyInstance;
before(async () => {
  app = await readyApp();
});
after(() => app.close());

test('OpenAPI: /classify and /detect take a multipart file or a raw image body; every error status has its own example', async () => {
  const doc = (await app.inject({ method: 'GET', url: '/docs/json' })).json() as { info: { description: string }; paths: Record<string, Record<string, Operation>> };
  for (const path of ['/classify', '/detect']) {
    const body = doc.paths[path]?.post?.requestBody;
    assert.equal(body?.required, true, path);
    assert.deepEqual(Object.keys(body?.content ?? {}), [
      'multipart/form-data', 'image/jpeg', 'image/png', 'image/webp', 'image/avif', 'image/tiff', 'image/gif', 'application/octet-stream',
    ]);
    assert.equal(body?.content['multipart/form-data']?.schema.properties?.image?.format, 'binary');
    assert.deepEqual(body?.content['image/png']?.schema, { type: 'string', format: 'binary' });
    const codes = Object.fromEntries(
      Object.entries(doc.paths[path]?.post?.responses ?? {})
        .filter(([status]) => status !== '200')
        .map(([status, r]) => [status, r.content?.['application/json']?.example?.error.code]),
    );
    assert.deepEqual(codes, { 400: 'NOT_AN_IMAGE', 413: 'PAYLOAD_TOO_LARGE', 415: 'UNSUPPORTED_MEDIA_TYPE', 503: 'QUEUE_FULL', 504: 'DEADLINE_EXCEEDED' });
  }
  assert.deepEqual(Object.keys(doc.paths['/v1/vision/detection']?.post?.requestBody?.content ?? {}), ['multipart/form-data']);
  assert.deepEqual(doc.paths['/readyz']?.get?.responses['503']?.content?.['application/json']?.example, ERROR_EXAMPLES[503]);
  // The texts no longer promise ImageNet classes, and the document says the models are demos.
  assert.doesNotMatch(doc.paths['/classify']?.post?.description ?? '', /^Top-k ImageNet classes/);
  assert.match(doc.paths['/classify']?.post?.description ?? '', /only 10 synthetic classes .* with the embedded demo model/);
  assert.match(doc.info.description, /\*\*This server runs DEMO models\*\*: placeholder-tiny \(trained on nothing: .*`nasnet weights fetch nasnet-mobile`/);
});

test('GET /favicon.ico answers 204, not 404; the demo page has the demo banner', async () => {
  const icon = await app.inject({ method: 'GET', url: '/favicon.ico' });
  assert.equal(icon.statusCode, 204);
  const page = await app.inject({ method: 'GET', url: '/' });
  assert.match(page.body, /<div id="demoBanner" hidden><strong>Demo models\.<\/strong>/);
});

test('start with an empty cache and no network: the embedded demo models are served and the log says so', async () => {
  const home = mkdtempSync(join(tmpdir(), 'nasnet-empty-home-'));
  const saved = { home: process.env.NASNET_HOME, proxy: process.env.HTTP_PROXY, https: process.env.HTTPS_PROXY };
  process.env.NASNET_HOME = home;
  // Any download attempt would fail through this proxy; none must happen.
  process.env.HTTP_PROXY = 'http://127.0.0.1:9';
  process.env.HTTPS_PROXY = 'http://127.0.0.1:9';
  const lines: { level: number; msg: string; demo?: string[] }[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(line) as (typeof lines)[number]);
      done();
    },
  });
  try {
    const server = await startServer(testConfig({ classifier: { kind: 'default' }, detector: { kind: 'default' }, port: 0 }), pino({ level: 'info' }, sink));
    try {
      await server.app.inference.ready;
      const models = (await server.app.inject({ method: 'GET', url: '/models' })).json() as { demo: boolean; classifier: { kind: string } };
      assert.equal(models.demo, true);
      assert.equal(models.classifier.kind, 'nasnet-synthetic-classes');
      const warning = lines.find((l) => l.level === 40 && /DEMO/.test(l.msg));
      assert.ok(warning, JSON.stringify(lines.map((l) => l.msg)));
      assert.equal(warning.msg, 'serving DEMO models (nasnet-synthetic-classes, nasnet-frcnn-shapes), not ImageNet/COCO models; for real weights: nasnet weights fetch nasnet-mobile');
      assert.match(warning.demo?.[0] ?? '', /^classification: nasnet-synthetic-classes, trained on 10 synthetic classes/);
    } finally {
      await server.app.close();
    }
  } finally {
    for (const [key, value] of [['NASNET_HOME', saved.home], ['HTTP_PROXY', saved.proxy], ['HTTPS_PROXY', saved.https]] as const) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
    rmSync(home, { recursive: true, force: true });
  }
});
