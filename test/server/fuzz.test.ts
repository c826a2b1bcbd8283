// Bad input never hurts the server: 1,280 seeded payloads (truncated, corrupted, random, mislabelled,
// wrapped in broken multipart bodies, decompression bombs, SVG entity bombs, gzip-compressed SVG,
// polyglots, many-page TIFFs) through app.inject.
// Every payload built to be invalid must get a 4xx JSON error; byte-flipped images that still decode
// may get a 200 with a well-formed answer; nothing may get a 5xx. Afterwards the worker's tensor count
// is unchanged, the heap (after GC) and RSS have not grown beyond small bounds, and the app still answers.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { deflateSync } from 'node:zlib';
import sharp from 'sharp';
import type { FastifyInstance } from 'fastify';
import { createPrng, type Prng } from '../../core/prng.js';
import { manyPageTiff, polyglots, svgzOfGroups, svgzOfSpaces, xmlVariants } from '../helpers/hostile_images.js';
import { imagePart, jpegCard, multipart, pngCard, readyApp, testCard, type ErrorJson } from './helpers.js';

const PAYLOADS = 1280;
/** The first payloads warm up allocator pools before the memory reference is taken. */
const WARM_UP = 256;
const CONCURRENCY = 16;
/** After a full GC, the JS heap may differ by this much (0.7 KB a request would be a leak). */
const HEAP_BOUND_BYTES = 8 * 1024 * 1024;
/**
 * RSS moves by tens of MiB run to run (glibc arenas of the libvips threads, the worker's wasm heap, which
 * never shrinks); this bound catches gross native leaks: one decoded 25 MP bomb per request would be GiBs.
 */
const RSS_BOUND_BYTES = 128 * 1024 * 1024;

// The test runner does not pass --expose-gc; this makes gc() reachable so heap numbers are not GC lag.
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

async function memoryAfterGc(): Promise<{ rss: number; heap: number }> {
  gc();
  await new Promise((resolve) => setTimeout(resolve, 50));
  gc();
  return { rss: process.memoryUsage.rss(), heap: process.memoryUsage().heapUsed };
}

interface Payload {
  readonly kind: string;
  /** false for byte flips, which can leave a decodable image. */
  readonly mustFail: boolean;
  readonly url: string;
  readonly headers: Record<string, string>;
  readonly body: Buffer;
}

/** PNG chunk with its CRC (ISO/IEC 15948 5.3). */
function pngChunk(type: string, data: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const typed = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(typed));
  return Buffer.concat([length, typed, crc]);
}

function crc32(bytes: Buffer): number {
  let crc = 0xffffffff;
  for (const byte of bytes) {
    crc ^= byte;
    for (let k = 0; k < 8; k++) crc = (crc >>> 1) ^ (0xedb88320 & -(crc & 1));
  }
  return (crc ^ 0xffffffff) >>> 0;
}

/** A valid 8-bit grayscale PNG of zeros: width*height pixels in a few hundred KB (a decompression bomb). */
function zeroPng(width: number, height: number): Buffer {
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header.set([8, 0, 0, 0, 0], 8); // bit depth 8, grayscale, deflate, no filter, no interlace
  const scanlines = Buffer.alloc((width + 1) * height); // filter byte 0 + zeros per row
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk('IHDR', header),
    pngChunk('IDAT', deflateSync(scanlines, { level: 9 })),
    pngChunk('IEND', Buffer.alloc(0)),
  ]);
}

const ENTITY_BOMB = Buffer.from(
  `<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">` +
    `<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">]>` +
    `<svg xmlns="http://www.w3.org/2000/svg" width="100000" height="100000"><text>&d;&d;&d;&d;</text></svg>`,
);

const ROUTES = ['/classify', '/detect?minScore=0.3', '/v1/vision/detection'];
const TYPES = ['image/png', 'image/jpeg', 'image/webp', 'image/gif', 'application/octet-stream', 'image/svg+xml'];

function pick<T>(prng: Prng, items: readonly T[]): T {
  return items[prng.int(items.length)] as T;
}

function randomBytes(prng: Prng, length: number): Buffer {
  const bytes = Buffer.alloc(length);
  for (let i = 0; i < length; i++) bytes[i] = prng.int(256);
  return bytes;
}

function flipBytes(prng: Prng, source: Buffer, flips: number): Buffer {
  const copy = Buffer.from(source);
  for (let i = 0; i < flips; i++) copy[prng.int(copy.length)] = prng.int(256);
  return copy;
}

/** One payload; the generator chooses by index so each class is well represented. */
function makePayload(prng: Prng, index: number, seeds: readonly Buffer[]): Payload {
  const seed = pick(prng, seeds);
  const url = pick(prng, ROUTES);
  const wrap = (kind: string, body: Buffer, mustFail: boolean): Payload =>
    url.startsWith('/v1/') || prng.next() < 0.4
      ? { kind, mustFail, url, ...multipartPayload(body) }
      : { kind, mustFail, url, headers: { 'content-type': pick(prng, TYPES) }, body };
  switch (index % 11) {
    case 0: // truncated: libvips runs with failOn 'error', so a cut file is an error
      return wrap('truncated', seed.subarray(0, prng.int(seed.length - 1)), true);
    case 1: // random bytes
      return wrap('random', randomBytes(prng, prng.int(4096)), true);
    case 2: // a real magic number with a random tail
      return wrap('magic+random', Buffer.concat([seed.subarray(0, 8), randomBytes(prng, 1 + prng.int(2048))]), true);
    case 3: // flipped bytes: may still decode
      return wrap('flipped', flipBytes(prng, seed, 1 + prng.int(8)), false);
    case 4: // a valid image under a body type the server does not accept
      return { kind: 'wrong-type', mustFail: true, url, headers: { 'content-type': pick(prng, ['application/json', 'text/plain', 'application/x-www-form-urlencoded']) }, body: seed };
    case 5: // a broken multipart body: cut inside the file part, or a boundary that never occurs
      return { kind: 'broken-multipart', mustFail: true, url, ...brokenMultipart(prng, seed) };
    case 6: // decompression bomb: 5000 x 5000 = 25 MP > the 4 MP limit, about 25 KB on the wire
      return wrap('bomb', index % 16 === 6 ? BOMB : LYING_HEADER, true);
    case 7: // SVG, including an entity-expansion bomb
      return wrap('svg', prng.next() < 0.5 ? ENTITY_BOMB : Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"/>'), true);
    case 8: // gzip-compressed SVG (.svgz): must be refused by its signature, never inflated
      return wrap('compressed', pick(prng, COMPRESSED), true);
    case 9: // an accepted signature followed by SVG or garbage, or XML behind a byte order mark
      return wrap('polyglot', pick(prng, POLYGLOTS), true);
    default: // more pages than the limit
      return wrap('many-page', MANY_PAGES, true);
  }
}

function multipartPayload(body: Buffer): { headers: Record<string, string>; body: Buffer } {
  const form = multipart([imagePart(body)]);
  return { headers: form.headers, body: form.payload };
}

function brokenMultipart(prng: Prng, seed: Buffer): { headers: Record<string, string>; body: Buffer } {
  const form = multipart([imagePart(seed)]);
  if (prng.next() < 0.5) return { headers: { 'content-type': 'multipart/form-data; boundary=not-the-one' }, body: form.payload };
  // The file data ends where the closing delimiter starts; cut anywhere before that.
  const fileEnd = form.payload.lastIndexOf('\r\n--');
  return { headers: form.headers, body: form.payload.subarray(0, 1 + prng.int(fileEnd - 1)) };
}

let BOMB: Buffer;
let COMPRESSED: Buffer[];
let POLYGLOTS: Buffer[];
let MANY_PAGES: Buffer;
/** An IHDR claiming 100000 x 100000 with no real data behind it. */
let LYING_HEADER: Buffer;
let app: FastifyInstance;
let seeds: Buffer[];

before(async () => {
  app = await readyApp({ queueSize: 256 });
  BOMB = zeroPng(5000, 5000);
  COMPRESSED = [await svgzOfSpaces(4), await svgzOfGroups(50_000)];
  POLYGLOTS = [...polyglots(), ...xmlVariants()].map((p) => p.bytes);
  MANY_PAGES = await manyPageTiff(300);
  LYING_HEADER = zeroPng(1, 1);
  LYING_HEADER.writeUInt32BE(100_000, 16);
  LYING_HEADER.writeUInt32BE(100_000, 20);
  const card = testCard(48, 32);
  const raw = sharp(Buffer.from(card.data), { raw: { width: 48, height: 32, channels: 3 } });
  seeds = [await pngCard(48, 32), await jpegCard(48, 32), await raw.clone().webp().toBuffer(), await raw.clone().gif().toBuffer()];
});

after(async () => {
  await app.close();
});

test(`${PAYLOADS} fuzzed payloads: 4xx JSON errors (or a valid answer for still-decodable flips), never 5xx`, async () => {
  const prng = createPrng(20261122);
  const payloads = Array.from({ length: PAYLOADS }, (_, i) => makePayload(prng, i, seeds));
  assert.ok(BOMB.length < 64 * 1024, `the bomb is small on the wire (${BOMB.length} bytes)`);

  const statuses = new Map<string, number>();
  const sendAll = async (first: number, last: number): Promise<void> => {
    for (let start = first; start < last; start += CONCURRENCY) {
      const batch = payloads.slice(start, Math.min(start + CONCURRENCY, last));
      const responses = await Promise.all(batch.map((p) => app.inject({ method: 'POST', url: p.url, headers: p.headers, payload: p.body })));
      responses.forEach((response, i) => {
        const p = batch[i] as Payload;
        const key = `${p.kind} ${response.statusCode}`;
        statuses.set(key, (statuses.get(key) ?? 0) + 1);
        assert.ok(response.statusCode < 500, `${p.kind} payload #${start + i} got ${response.statusCode}: ${response.body}`);
        if (response.statusCode >= 400) {
          const body = response.json() as ErrorJson;
          assert.equal(typeof body.error.code, 'string', response.body);
          assert.equal(typeof body.error.message, 'string', response.body);
        } else {
          assert.equal(p.mustFail, false, `${p.kind} payload #${start + i} was accepted: ${response.body}`);
          assert.equal(response.statusCode, 200);
          assert.ok(typeof response.json() === 'object');
        }
      });
    }
  };

  await sendAll(0, WARM_UP);
  const tensorsBefore = (await app.inference.workerStats()).numTensors;
  const memoryBefore = await memoryAfterGc();
  await sendAll(WARM_UP, PAYLOADS);
  const memoryAfter = await memoryAfterGc();
  const tensorsAfter = (await app.inference.workerStats()).numTensors;
  const mib = (bytes: number): string => `${(bytes / 2 ** 20).toFixed(1)} MiB`;

  assert.equal(tensorsAfter, tensorsBefore, 'the worker holds no tensor from any request');
  assert.ok(memoryAfter.heap - memoryBefore.heap < HEAP_BOUND_BYTES, `heap grew by ${mib(memoryAfter.heap - memoryBefore.heap)}`);
  assert.ok(memoryAfter.rss - memoryBefore.rss < RSS_BOUND_BYTES, `RSS grew by ${mib(memoryAfter.rss - memoryBefore.rss)}`);
  const health = await app.inject({ method: 'GET', url: '/readyz' });
  assert.equal(health.statusCode, 200, 'still ready after the fuzzing');
  const ok = await app.inject({ method: 'POST', url: '/classify', headers: { 'content-type': 'image/png' }, payload: seeds[0] });
  assert.equal(ok.statusCode, 200, 'still classifies after the fuzzing');
  for (const kind of ['truncated', 'random', 'magic+random', 'flipped', 'wrong-type', 'broken-multipart', 'bomb', 'svg', 'compressed', 'polyglot', 'many-page']) {
    assert.ok([...statuses.keys()].some((key) => key.startsWith(`${kind} `)), `payload class ${kind} was sent`);
  }
  process.stdout.write(`# fuzz statuses: ${JSON.stringify(Object.fromEntries([...statuses].sort()))}\n`);
  const deltas = `heap ${mib(memoryAfter.heap - memoryBefore.heap)}, RSS ${mib(memoryAfter.rss - memoryBefore.rss)}`;
  process.stdout.write(`# fuzz memory delta after GC: ${deltas}; tensors ${tensorsBefore} -> ${tensorsAfter}\n`);
});
