// Prometheus metrics: one registry per app (so tests can build several), request counts and latency
// histograms per route, inference time per task, queue depth, in-flight requests, jobs started and
// dropped, tensors held by the workers and the process RSS, plus prom-client's default process metrics.
// Served at GET /metrics.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { InferencePool } from './pool/inference_pool.js';

const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

export interface ServerMetrics {
  readonly registry: Registry;
  readonly requests: Counter<'route' | 'method' | 'status'>;
  readonly latency: Histogram<'route' | 'method'>;
  readonly inferenceSeconds: Histogram<'task'>;
  readonly rejected: Counter<'code'>;
}

export function createMetrics(pool: InferencePool): ServerMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'nasnet_' });
  const requests = new Counter({
    name: 'nasnet_http_requests_total',
    help: 'HTTP requests by route, method and status code',
    labelNames: ['route', 'method', 'status'] as const,
    registers: [registry],
  });
  const latency = new Histogram({
    name: 'nasnet_http_request_duration_seconds',
    help: 'HTTP request latency by route (receive to reply)',
    labelNames: ['route', 'method'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [registry],
  });
  const inferenceSeconds = new Histogram({
    name: 'nasnet_inference_duration_seconds',
    help: 'Time a worker spent on one image (decode, network, post-processing)',
    labelNames: ['task'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [registry],
  });
  const rejected = new Counter({
    name: 'nasnet_rejected_requests_total',
    help: 'Requests answered with an error, by error code',
    labelNames: ['code'] as const,
    registers: [registry],
  });
  new Gauge({
    name: 'nasnet_queue_depth',
    help: 'Requests waiting for an inference worker',
    registers: [registry],
    collect() {
      this.set(pool.queueDepth);
    },
  });
  new Gauge({
    name: 'nasnet_inference_in_flight',
    help: 'Requests an inference worker is running',
    registers: [registry],
    collect() {
      this.set(pool.inFlight);
    },
  });
  new Gauge({
    name: 'nasnet_tensors_held',
    help: 'tf.memory().numTensors summed over the workers (as last reported by each)',
    registers: [registry],
    collect() {
      this.set(pool.tensorsHeld);
    },
  });
  new Gauge({
    name: 'nasnet_process_rss_bytes',
    help: 'Resident set size of the whole process (main thread and workers)',
    registers: [registry],
    collect() {
      this.set(process.memoryUsage.rss());
    },
  });
  // Counters owned by the pool, read at scrape time.
  new Counter({
    name: 'nasnet_inference_started_total',
    help: 'Jobs handed to an inference worker',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(pool.counts.started);
    },
  });
  new Counter({
    name: 'nasnet_inference_dropped_total',
    help: 'Queued jobs never run: client_closed (the client disconnected) or deadline (expired while queued)',
    labelNames: ['reason'] as const,
    registers: [registry],
    collect() {
      this.reset();
      const { droppedClientClosed, droppedDeadline } = pool.counts;
      this.inc({ reason: 'client_closed' }, droppedClientClosed);
      this.inc({ reason: 'deadline' }, droppedDeadline);
    },
  });
  new Gauge({
    name: 'nasnet_ready',
    help: '1 when every worker has loaded its models, else 0',
    registers: [registry],
    collect() {
      this.set(pool.isReady ? 1 : 0);
    },
  });
  return { registry, requests, latency, inferenceSeconds, rejected };
}

/**
 * Counts every response and times it (the route label is the route pattern, never the raw URL); serves
 * GET /metrics on `app` when `route` is true (false: metrics off, or served on their own port).
 */
export function installMetrics(app: FastifyInstance, metrics: ServerMetrics, route = true): void {
  const { requests, latency } = metrics;
  app.addHook('onResponse', async (request, reply) => {
    const url = request.routeOptions.url ?? 'unmatched';
    const labels = { route: url, method: request.method };
    requests.inc({ ...labels, status: String(reply.statusCode) });
    latency.observe(labels, reply.elapsedTime / 1000);
  });
  if (route) {
    app.get('/metrics', { schema: { hide: true } }, async (_request, reply) => {
      return reply.type(metrics.registry.contentType).send(await metrics.registry.metrics());
    });
  }
}

/** A listener of its own for GET /metrics (config metricsPort), so the public port need not expose them. */
export async function listenMetrics(registry: Registry, host: string, port: number): Promise<{ url: string; close: () => Promise<void> }> {
  const server = createServer((request, response) => {
    if (request.method !== 'GET' || request.url?.split('?')[0] !== '/metrics') {
      response.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { code: 'NOT_FOUND', message: 'only GET /metrics here' } }));
      return;
    }
    registry.metrics().then(
      (text) => response.writeHead(200, { 'content-type': registry.contentType }).end(text),
      () => response.writeHead(500).end(),
    );
  });
  server.listen(port, host);
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  const address = server.address() as AddressInfo;
  return {
    url: `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}/metrics`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
