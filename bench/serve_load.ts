// Load test of `nasnet serve` (autocannon on loopback): POST /classify and /detect at concurrency
// 1, 8 and 32 with 1 and 2 inference workers; throughput and p50/p99 latency; the ratio of the
// server's throughput (1 worker) to the same model called in-process, one call after another, with the
// same onnxruntime threads; the speed-up from 1 to 2 workers; the cores the server and the load generator
// used during each run (Linux /proc), which shows when the machine rather than the pool is the limit.
// The server runs in a child process so the
// load generator does not share its event loop. `--threads-per-worker 1` holds each worker's intra-op
// threads at one, so that 1 -> 2 workers measures the pool alone (by default one worker already runs its
// networks on every core).
//
//   npx tsx bench/serve_load.ts [--duration 5] [--engine wasm] [--width 640 --height 480] [--threads-per-worker N]
//   node dist/bench/serve_load.js ...
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { once } from 'node:events';
import { parseArgs } from 'node:util';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { initEngine, type EngineName } from '../core/engine.js';
import { encodeJpeg } from '../core/image_io.js';
import { isDirectRun } from '../src/cli/run.js';
import { loadClassifier, loadDetector } from '../src/models/builtin.js';

/** The part of autocannon's API used here (the package ships no types; @types/autocannon is not installed). */
interface AutocannonRun {
  (options: { url: string; method: 'POST'; headers: Record<string, string>; body: Buffer; connections: number; duration: number }): Promise<{
    requests: { average: number };
    latency: { p50: number; p99: number };
    non2xx: number;
    errors: number;
  }>;
}
const autocannon = createRequire(import.meta.url)('autocannon') as AutocannonRun;

const EXTENSION = import.meta.url.endsWith('.ts') ? '.ts' : '.js';
const SERVE_MODULE = new URL(`../src/cli/serve${EXTENSION}`, import.meta.url).href;
const CONCURRENCIES = [1, 8, 32] as const;
const ROUTES = ['/classify', '/detect'] as const;

interface LoadResult {
  readonly route: string;
  readonly workers: number;
  readonly connections: number;
  readonly rps: number;
  readonly p50: number;
  readonly p99: number;
  readonly non2xx: number;
}

/** A photo-sized JPEG with some structure (ramps and a square), so decode and resize do real work. */
export async function benchImage(width: number, height: number): Promise<Buffer> {
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const o = (y * width + x) * 3;
      data[o] = (x * 255) / width;
      data[o + 1] = (y * 255) / height;
      data[o + 2] = x > width / 3 && x < (2 * width) / 3 && y > height / 3 && y < (2 * height) / 3 ? 255 : (x ^ y) & 255;
    }
  }
  return encodeJpeg({ data, width, height }, { quality: 85 });
}

/**
 * Starts `nasnet serve` on a free port; resolves with its URL once its models are loaded. It logs at
 * the production default (info, one line per request), which the bench reads and discards.
 */
export async function startServe(args: string[]): Promise<{ child: ChildProcess; url: string }> {
  const code = `import { main } from ${JSON.stringify(SERVE_MODULE)}; process.exitCode = await main(${JSON.stringify(args)});`;
  const child = spawn(process.execPath, [...process.execArgv, '--input-type=module', '-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
  let url: string | undefined;
  let buffered = '';
  return new Promise((resolve, reject) => {
    child.once('exit', (exitCode) => reject(new Error(`nasnet serve exited with ${exitCode} before it was ready`)));
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      buffered += chunk;
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      for (const line of lines) {
        if (!line.startsWith('{')) continue;
        const entry = JSON.parse(line) as { msg?: string; url?: string };
        // The server loads its models before it listens (src/server/start.ts): "listening" means ready.
        if (entry.msg === 'listening') url = entry.url;
        if (url !== undefined) resolve({ child, url });
      }
    });
  });
}

/** CPU seconds (user + system) a process has used, from /proc (Linux; undefined elsewhere). */
export function processCpuSeconds(pid: number | undefined): number | undefined {
  try {
    // Fields after the command name (which may hold spaces): utime and stime are the 12th and 13th.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // USER_HZ is 100 on Linux
  } catch {
    return undefined;
  }
}

/** Cores used over a run: the server process, and this process (the load generator). */
function coresUsed(server: number | undefined, generator: NodeJS.CpuUsage, seconds: number): string {
  const generatorCores = (generator.user + generator.system) / 1e6 / seconds;
  return `server ${server === undefined ? 'n/a' : (server / seconds).toFixed(2)} cores, load generator ${generatorCores.toFixed(2)} cores`;
}

async function load(url: string, route: string, connections: number, durationS: number, body: Buffer): Promise<Omit<LoadResult, 'route' | 'workers'>> {
  const result = await autocannon({
    url: `${url}${route}`,
    method: 'POST',
    headers: { 'content-type': 'image/jpeg' },
    body,
    connections,
    duration: durationS,
  });
  return { connections, rps: result.requests.average, p50: result.latency.p50, p99: result.latency.p99, non2xx: result.non2xx + result.errors };
}

/** Images per second of the models called directly, one after another, on this thread. */
async function inProcess(engine: EngineName, body: Buffer, durationS: number, threads: number): Promise<Record<(typeof ROUTES)[number], number>> {
  await initEngine({ backend: engine });
  const context = { modelsDir: '.', maxPixels: 40_000_000, engine, threads };
  const classifier = await loadClassifier({ kind: 'default' }, context);
  const detector = await loadDetector({ kind: 'default' }, context);
  const rate = async (call: () => Promise<unknown>): Promise<number> => {
    for (let i = 0; i < 5; i++) await call();
    const start = performance.now();
    let n = 0;
    while (performance.now() - start < durationS * 1000) {
      await call();
      n += 1;
    }
    return n / ((performance.now() - start) / 1000);
  };
  const rates = {
    '/classify': await rate(() => classifier.classify(body, { topK: 5 })),
    '/detect': await rate(() => detector.detect(body, { minScore: 0.5, maxDetections: 100 })),
  };
  classifier.dispose();
  detector.dispose();
  return rates;
}

export async function main(argv: string[] = process.argv.slice(2)): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      duration: { type: 'string', default: '5' },
      engine: { type: 'string', default: 'wasm' },
      width: { type: 'string', default: '640' },
      height: { type: 'string', default: '480' },
      'threads-per-worker': { type: 'string', default: '0' },
    },
  });
  const durationS = Number(values.duration);
  const engine = values.engine as EngineName;
  const threadsPerWorker = Number(values['threads-per-worker']);
  const body = await benchImage(Number(values.width), Number(values.height));
  const threadsNote = threadsPerWorker > 0 ? `${threadsPerWorker} onnxruntime thread(s) per worker` : 'onnxruntime threads = cores / workers';
  console.log(`# serve_load: ${values.width}x${values.height} JPEG (${body.length} bytes), engine ${engine}, ${durationS} s a run, ${threadsNote}`);

  // The server's single worker gets the same threads as this reference.
  const referenceThreads = threadsPerWorker > 0 ? threadsPerWorker : availableParallelism();
  const direct = await inProcess(engine, body, durationS, referenceThreads);
  console.log(`in-process (sequential calls, ${referenceThreads} onnxruntime threads): classify ${direct['/classify'].toFixed(1)} img/s, detect ${direct['/detect'].toFixed(1)} img/s`);

  const results: LoadResult[] = [];
  for (const workers of [1, 2]) {
    const { child, url } = await startServe([
      '--port', '0', '--workers', String(workers), '--threads-per-worker', String(threadsPerWorker),
      '--engine', engine, '--log-level', 'info', '--queue-size', '1024',
    ]);
    try {
      for (const route of ROUTES) {
        for (const connections of CONCURRENCIES) {
          const serverCpu = processCpuSeconds(child.pid);
          const generatorCpu = process.cpuUsage();
          const started = performance.now();
          const r = { route, workers, ...(await load(url, route, connections, durationS, body)) };
          const seconds = (performance.now() - started) / 1000;
          const serverCpuAfter = processCpuSeconds(child.pid);
          const cores = coresUsed(serverCpu === undefined || serverCpuAfter === undefined ? undefined : serverCpuAfter - serverCpu, process.cpuUsage(generatorCpu), seconds);
          results.push(r);
          console.log(
            `${route.padEnd(10)} workers ${workers} c=${String(connections).padStart(2)}: ${r.rps.toFixed(1).padStart(6)} req/s  p50 ${String(r.p50).padStart(4)} ms  p99 ${String(r.p99).padStart(4)} ms  non-2xx ${r.non2xx}  (${cores})`,
          );
        }
      }
    } finally {
      child.kill('SIGTERM');
      await once(child, 'exit');
    }
  }

  const best = (route: string, workers: number): number => Math.max(...results.filter((r) => r.route === route && r.workers === workers).map((r) => r.rps));
  for (const route of ROUTES) {
    const ratio = best(route, 1) / direct[route];
    const speedup = best(route, 2) / best(route, 1);
    console.log(`${route}: server (1 worker) / in-process = ${ratio.toFixed(2)} (goal >= 0.9); 2 workers / 1 worker = ${speedup.toFixed(2)}x (goal >= 1.8x)`);
  }
}

if (isDirectRun(import.meta.url)) await main();
