// Not a test: the child of model_cache.test.ts. It runs cachedOnnx as an unprivileged user (root ignores
// directory permissions), so a weights directory it does not own is truly read-only, and prints one JSON
// line. Without $NASNET_CACHE_CHILD_WEIGHTS (e.g. when a test runner picks this file up) it does nothing.
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { cachedOnnx } from '../../src/onnx/model_cache.js';

const weights = process.env.NASNET_CACHE_CHILD_WEIGHTS;
if (weights !== undefined) {
  const lines: string[] = [];
  const logger = pino({ level: 'info' }, new Writable({ write: (chunk: Buffer, _enc, done) => { lines.push(chunk.toString()); done(); } }));
  let builds = 0;
  const result = await cachedOnnx(weights, { graph: 'classifier', spec: { n: 1 }, logger }, () => { builds += 1; return Uint8Array.from([8, 1]); }, async (bytes) => bytes.length);
  process.stdout.write(`${JSON.stringify({ source: result.source, value: result.value, path: result.path ?? null, builds, logs: lines.map((l) => JSON.parse(l) as unknown) })}\n`);
}
