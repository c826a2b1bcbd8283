// Soak and overload recovery of `nasnet serve` (issue #17): POST /detect at a fixed concurrency for a long
// run (default 10 min at c=16), printing every 30 s the window's throughput, p50/p99 latency, non-2xx count
// and the server's RSS; then an overload burst (c=256 with a 1 s client timeout, autocannon's smallest, the
// clients a hostile or impatient caller would send) and the time until a normal request is answered 200 at normal speed again.
// The server runs in a child process (the embedded default models, one worker), the load from this one.
//
//   node dist/bench/serve_soak.js [--duration 600] [--connections 16] [--window 30] [--burst 20]   (--duration 0: the burst only)
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { isDirectRun } from '../src/cli/run.js';
import { benchImage, processCpuSeconds, startServe } from './serve_load.js';

interface Tracker {
  on(event: 'response', listener: (client: unknown, status: number, bytes: number, ms: number) => void): void;
  stop(): void;
}
type AutocannonStart = (options: Record<string, unknown>, done: (error: unknown, result: unknown) => void) => Tracker;
const autocannon = createRequire(import.meta.url)('autocannon') as AutocannonStart;

function rssMb(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith('VmRSS:'));
  return Number(line?.split(/\s+/)[1] ?? NaN) / 1024;
}

function percentile(sorted: number[], p: number): number {
  return sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
}

/** Runs autocannon for `seconds`; calls `onResponse` for every response; resolves when it ends. */
function drive(url: string, body: Buffer, connections: number, seconds: number, timeoutS: number, onResponse: (status: number, ms: number) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const tracker = autocannon(
      { url: `${url}/detect`, method: 'POST', headers: { 'content-type': 'image/jpeg' }, body, connections, duration: seconds, timeout: timeoutS },
      (error) => (error ? reject(error) : resolve()),
    );
    tracker.on('response', (_client, status, _bytes, ms) => onResponse(status, ms));
  });
}

async function timedRequest(url: string, body: Buffer): Promise<{ status: number; ms: number }> {
  const start = performance.now();
  const response = await fetch(`${url}/detect`, { method: 'POST', headers: { 'content-type': 'image/jpeg' }, body: new Uint8Array(body) });
  await response.arrayBuffer();
  return { status: response.status, ms: performance.now() - start };
}

export async function main(argv: string[] = process.argv.slice(2)): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      duration: { type: 'string', default: '600' },
      connections: { type: 'string', default: '16' },
      window: { type: 'string', default: '30' },
      burst: { type: 'string', default: '20' },
    },
  });
  const [duration, connections, windowS, burstS] = [values.duration, values.connections, values.window, values.burst].map(Number) as [number, number, number, number];
  const body = await benchImage(640, 480);
  const { child, url } = await startServe(['--port', '0', '--workers', '1', '--queue-size', '64', '--log-level', 'info']);
  const pid = child.pid!;
  console.log(`# serve_soak: /detect, 640x480 JPEG, c=${connections}, ${duration} s, windows of ${windowS} s; load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  console.log(`# start RSS ${rssMb(pid).toFixed(0)} MB`);
  try {
    let latencies: number[] = [];
    let non2xx = 0;
    let all: number[] = [];
    let windowStart = performance.now();
    const report = (): void => {
      const seconds = (performance.now() - windowStart) / 1000;
      const sorted = latencies.sort((a, b) => a - b);
      console.log(`t=${Math.round(performance.now() / 1000)}s  ${(latencies.length / seconds).toFixed(1)} req/s  p50 ${percentile(sorted, 0.5).toFixed(0)} ms  p99 ${percentile(sorted, 0.99).toFixed(0)} ms  non-2xx ${non2xx}  RSS ${rssMb(pid).toFixed(0)} MB  load ${loadavg()[0]!.toFixed(2)}`);
      all = all.concat(latencies);
      latencies = [];
      non2xx = 0;
      windowStart = performance.now();
    };
    if (duration > 0) {
      const timer = setInterval(report, windowS * 1000);
      const cpuBefore = processCpuSeconds(pid);
      await drive(url, body, connections, duration, 10, (status, ms) => {
        if (status >= 200 && status < 300) latencies.push(ms);
        else non2xx += 1;
      });
      clearInterval(timer);
      report();
      const total = all.sort((a, b) => a - b);
      const cpu = (processCpuSeconds(pid) ?? NaN) - (cpuBefore ?? NaN);
      console.log(`soak: ${(total.length / duration).toFixed(1)} req/s overall, p50 ${percentile(total, 0.5).toFixed(0)} ms, p99 ${percentile(total, 0.99).toFixed(0)} ms, server ${(cpu / duration).toFixed(2)} cores, end RSS ${rssMb(pid).toFixed(0)} MB`);
    }

    const normal = (await timedRequest(url, body)).ms;
    let burstCount = 0;
    await drive(url, body, 256, burstS, 1, () => { burstCount += 1; });
    const stopped = performance.now();
    let recovered: { status: number; ms: number } | undefined;
    while (performance.now() - stopped < 60_000) {
      const attempt = await timedRequest(url, body);
      if (attempt.status === 200 && attempt.ms < 3 * normal + 100) { recovered = attempt; break; }
    }
    const after = recovered === undefined ? 'did not recover within 60 s' : `${(performance.now() - stopped).toFixed(0)} ms until a 200 at normal speed (${recovered.ms.toFixed(0)} ms; normal ${normal.toFixed(0)} ms)`;
    console.log(`overload: c=256 for ${burstS} s with a 1 s client timeout (${burstCount} responses before timeouts); recovery: ${after}; RSS ${rssMb(pid).toFixed(0)} MB`);
  } finally {
    child.kill('SIGTERM');
  }
}

if (isDirectRun(import.meta.url)) await main();
