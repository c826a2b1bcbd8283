// Issue 17, item 1: inputs that cost gigabytes or seconds inside a decoder must be refused before one
// runs. Each is posted to /detect and /classify under a content type that lies; the test asserts the
// status, that no libvips text reaches the client, and the peak RSS growth of the process (server and
// its worker live in this process) while the request runs; afterwards a normal request still succeeds.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import sharp from 'sharp';
import { DEFAULT_MAX_PAGES } from '../../core/image_io.js';
import { DEFAULT_SERVER_CONFIG } from '../../src/server/config.js';
import { manyPageTiff, polyglots, svgzOfGroups, svgzOfSpaces, xmlVariants } from '../helpers/hostile_images.js';
import { jpegCard, multipart, imagePart, pngCard, readyApp, type ErrorJson } from './helpers.js';

/** The goal for any single request, with the defaults. */
const RSS_GROWTH_BOUND = 100 * 2 ** 20;
const DECODER_TEXT = /vips|glib|gifload|tiff2vips|spng|libpng|jpeglib|heif_|webp:|rsvg|premature|scanline/i;

interface Hostile {
  readonly name: string;
  readonly bytes: Buffer;
  readonly status: number;
  readonly code: string;
}

let app: FastifyInstance;
let hostile: Hostile[];

before(async () => {
  app = await readyApp();
  const tinyPng = await pngCard(1, 1);
  const truncatedTiff = (await manyPageTiff(1)).subarray(0, 200);
  hostile = [
    // 256 MiB of whitespace in ~260 KB: librsvg inflated and parsed all of it in the header probe.
    { name: 'svgz of whitespace', bytes: await svgzOfSpaces(256), status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' },
    { name: 'svgz of 2M <g/>', bytes: await svgzOfGroups(2_000_000), status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' },
    { name: 'pdf', bytes: Buffer.from('%PDF-1.7\n1 0 obj << >> endobj\n'), status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' },
    ...xmlVariants().map((v) => ({ ...v, status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' })),
    ...polyglots().map((v) => ({ ...v, status: 400, code: 'NOT_AN_IMAGE' })),
    { name: `tiff of ${DEFAULT_MAX_PAGES + 1} pages`, bytes: await manyPageTiff(DEFAULT_MAX_PAGES + 1), status: 413, code: 'IMAGE_TOO_LARGE' },
    { name: 'truncated tiff', bytes: truncatedTiff, status: 400, code: 'NOT_AN_IMAGE' },
    { name: '1x1 png', bytes: tinyPng, status: 400, code: 'IMAGE_TOO_SMALL' },
  ];
});

after(async () => {
  await app.close();
});

/** Runs `work` while sampling RSS every 5 ms; returns its result and the peak growth over the start. */
async function peakRssGrowth<T>(work: () => Promise<T>): Promise<{ result: T; growth: number }> {
  const start = process.memoryUsage.rss();
  let peak = start;
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage.rss());
  }, 5);
  try {
    const result = await work();
    peak = Math.max(peak, process.memoryUsage.rss());
    return { result, growth: peak - start };
  } finally {
    clearInterval(timer);
  }
}

test('hostile images get their 4xx at once on /detect and /classify, with < 100 MB RSS growth, and the server still serves', async () => {
  const growths: string[] = [];
  for (const h of hostile) {
    for (const [url, how] of [['/detect', 'raw'], ['/classify', 'multipart']] as const) {
      // The content type lies on purpose: the bytes decide.
      const request = how === 'raw'
        ? { headers: { 'content-type': 'image/jpeg' }, payload: h.bytes }
        : (({ payload, headers }) => ({ payload, headers }))(multipart([imagePart(h.bytes, 'image/png')]));
      const { result: response, growth } = await peakRssGrowth(() => app.inject({ method: 'POST', url, ...request }));
      const where = `${h.name} -> ${url}`;
      assert.equal(response.statusCode, h.status, `${where}: ${response.body}`);
      const body = response.json() as ErrorJson;
      assert.equal(body.error.code, h.code, where);
      assert.doesNotMatch(body.error.message, DECODER_TEXT, `${where}: decoder text reached the client`);
      assert.ok(growth < RSS_GROWTH_BOUND, `${where}: RSS grew by ${(growth / 2 ** 20).toFixed(0)} MB`);
      growths.push(`${h.name} ${url} ${(growth / 2 ** 20).toFixed(1)}`);
    }
  }
  const ok = await app.inject({ method: 'POST', url: '/detect', headers: { 'content-type': 'image/jpeg' }, payload: await jpegCard() });
  assert.equal(ok.statusCode, 200, ok.body);
  process.stdout.write(`# peak RSS growth (MiB) per request: ${growths.join('; ')}\n`);
});

test('the 1x1 message says what the minimum is', async () => {
  const response = await app.inject({ method: 'POST', url: '/classify', headers: { 'content-type': 'image/png' }, payload: await pngCard(1, 1) });
  assert.equal((response.json() as ErrorJson).error.message, 'fitRgb: image is 1x1; both sides must be at least 8 pixels');
  const eight = await app.inject({ method: 'POST', url: '/classify', headers: { 'content-type': 'image/png' }, payload: await pngCard(8, 8) });
  assert.equal(eight.statusCode, 200, eight.body);
});

test('8 gzip-compressed SVGs in parallel next to a normal request: all refused, the normal one served, RSS bounded', async () => {
  const svgz = hostile[0]!.bytes;
  const { result, growth } = await peakRssGrowth(async () => {
    const normal = app.inject({ method: 'POST', url: '/detect', headers: { 'content-type': 'image/jpeg' }, payload: await jpegCard() });
    const bad = Array.from({ length: 8 }, () => app.inject({ method: 'POST', url: '/detect', headers: { 'content-type': 'image/png' }, payload: svgz }));
    return Promise.all([normal, ...bad]);
  });
  const [normal, ...refused] = result;
  assert.equal(normal!.statusCode, 200, normal!.body);
  assert.deepEqual(refused.map((r) => r.statusCode), Array(8).fill(415));
  assert.ok(growth < RSS_GROWTH_BOUND, `RSS grew by ${(growth / 2 ** 20).toFixed(0)} MB`);
});

test('with the default limits (40 MP) and the default classifier: whole-image decodes above 64 MiB are refused from the header, the rest served, each under 100 MB', async () => {
  const defaults = await readyApp({
    maxPixels: DEFAULT_SERVER_CONFIG.maxPixels, maxBodyBytes: DEFAULT_SERVER_CONFIG.maxBodyBytes, classifier: { kind: 'default' },
  });
  try {
    const side = 6000;
    const flat = (width = side, height = side) => sharp({ create: { width, height, channels: 3, background: { r: 10, g: 200, b: 30 } } });
    const cases = [
      { name: '36 MP gif', url: '/detect', bytes: await flat().gif().toBuffer(), status: 413 },
      { name: '36 MP interlaced png', url: '/detect', bytes: await flat().png({ progressive: true }).toBuffer(), status: 413 },
      { name: '36 MP plain png', url: '/detect', bytes: await flat().png().toBuffer(), status: 200 },
      { name: '36 MP plain png', url: '/classify', bytes: await flat().png().toBuffer(), status: 200 },
      { name: '12 MP interlaced png', url: '/classify', bytes: await flat(4000, 3000).png({ progressive: true }).toBuffer(), status: 200 },
    ];
    for (const c of cases) {
      const { result, growth } = await peakRssGrowth(() =>
        defaults.inject({ method: 'POST', url: c.url, headers: { 'content-type': 'image/png' }, payload: c.bytes }));
      assert.equal(result.statusCode, c.status, `${c.name}: ${result.body}`);
      assert.ok(growth < RSS_GROWTH_BOUND, `${c.name}: RSS grew by ${(growth / 2 ** 20).toFixed(0)} MB`);
      process.stdout.write(`# defaults, ${c.name} ${c.url}: ${result.statusCode}, peak RSS growth ${(growth / 2 ** 20).toFixed(1)} MiB\n`);
    }
  } finally {
    await defaults.close();
  }
});
