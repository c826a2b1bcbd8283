// Graceful shutdown of the real process (`nasnet serve` as a child process): on SIGTERM it stops
// accepting connections, answers the requests whose uploads are still in flight (closing their kept-alive
// connections after the answer), refuses a request pipelined behind them as NOT_READY, and exits 0.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { jpegCard } from './helpers.js';

const EXTENSION = import.meta.url.endsWith('.ts') ? '.ts' : '.js';
const SERVE_MODULE = new URL(`../../src/cli/serve${EXTENSION}`, import.meta.url).href;

interface LogLine {
  msg?: string;
  url?: string;
  code?: string;
  engine?: { backend?: string; package?: string; reason?: string; requested?: string; inference?: Record<string, string> };
}

/** Starts `nasnet serve` with `args` in a child process (same loader flags as this process). */
function startServe(args: string[]): { child: ChildProcess; lines: LogLine[]; waitFor: (msg: RegExp) => Promise<LogLine> } {
  const code = `import { main } from ${JSON.stringify(SERVE_MODULE)}; process.exitCode = await main(${JSON.stringify(args)});`;
  const execArgv = process.execArgv.filter((arg) => !arg.startsWith('--test'));
  const child = spawn(process.execPath, [...execArgv, '--input-type=module', '-e', code], { stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: LogLine[] = [];
  const waiters: { msg: RegExp; resolve: (line: LogLine) => void }[] = [];
  let buffered = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    buffered += chunk;
    const parts = buffered.split('\n');
    buffered = parts.pop() ?? '';
    for (const text of parts) {
      if (!text.startsWith('{')) continue;
      const line = JSON.parse(text) as LogLine;
      lines.push(line);
      for (const waiter of waiters.filter((w) => w.msg.test(line.msg ?? ''))) waiter.resolve(line);
    }
  });
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const waitFor = (msg: RegExp): Promise<LogLine> => {
    const seen = lines.find((line) => msg.test(line.msg ?? ''));
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      waiters.push({ msg, resolve });
      child.once('exit', (exitCode) => reject(new Error(`serve exited (${exitCode}) before logging ${msg}; stderr: ${stderr}`)));
    });
  };
  return { child, lines, waitFor };
}

/** Everything the server sends on `socket` until it closes the connection. */
function readAll(socket: Socket): Promise<string> {
  let data = '';
  socket.setEncoding('latin1').on('data', (chunk: string) => (data += chunk));
  return new Promise((resolve) => socket.once('close', () => resolve(data)));
}

/** A POST /classify whose body is half sent: the request is in flight until `finish` sends the rest. */
async function startUpload(port: number, image: Buffer): Promise<{ finish: (pipelined?: string) => void; response: Promise<string> }> {
  const socket = connect(port, '127.0.0.1');
  await once(socket, 'connect');
  const response = readAll(socket);
  const half = Math.floor(image.length / 2);
  // HTTP/1.1 without "Connection: close": a kept-alive connection, busy when shutdown starts.
  socket.write(`POST /classify?topK=2 HTTP/1.1\r\nHost: localhost\r\nContent-Type: image/jpeg\r\nContent-Length: ${image.length}\r\n\r\n`);
  socket.write(image.subarray(0, half));
  return { finish: (pipelined = '') => socket.write(Buffer.concat([image.subarray(half), Buffer.from(pipelined)])), response };
}

function firstResponseBody(raw: string): { predictions: unknown[] } {
  assert.match(raw, /^HTTP\/1\.1 200 /, raw);
  const first = raw.split(/(?=HTTP\/1\.1 )/)[0] as string;
  return JSON.parse(first.slice(first.indexOf('\r\n\r\n') + 4)) as { predictions: unknown[] };
}

async function connectionRefused(port: number): Promise<boolean> {
  const socket = connect(port, '127.0.0.1');
  try {
    await once(socket, 'connect');
    socket.destroy();
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ECONNREFUSED';
  }
}

test('SIGTERM: stop accepting, finish in-flight requests, close kept-alive connections, refuse pipelined work, exit 0', { timeout: 60_000 }, async (t) => {
  const { child, lines, waitFor } = startServe(['--port', '0', '--workers', '1', '--engine', 'wasm', '--log-level', 'info', '--shutdown-grace-ms', '20000']);
  // Runs even when the test times out, so a stuck server never outlives the suite.
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  const { url, engine } = await waitFor(/^listening$/);
  // The log names what runs and why, not the request ("auto" before issue 17).
  assert.equal(engine?.backend, 'wasm');
  assert.equal(engine?.package, '@tensorflow/tfjs-backend-wasm');
  assert.ok((engine?.reason ?? '').length > 0, 'the reason is logged');
  assert.match(engine?.inference?.detection ?? '', /^(onnxruntime-node \(cpu\)|tfjs-wasm)$/);
  await waitFor(/^models loaded/);
  const port = Number(new URL(url as string).port);
  const image = await jpegCard(200, 150);

  // Two requests in flight on kept-alive connections; the second will have a request pipelined behind it.
  const plain = await startUpload(port, image);
  const pipelining = await startUpload(port, image);
  await new Promise((resolve) => setTimeout(resolve, 200));

  const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  child.kill('SIGTERM');
  await waitFor(/^shutting down/);
  let refused = false;
  for (let i = 0; i < 50 && !refused; i++) {
    refused = await connectionRefused(port);
    if (!refused) await new Promise((resolve) => setTimeout(resolve, 20));
  }
  assert.ok(refused, 'new connections are refused once shutdown starts');
  assert.equal(child.exitCode, null, 'still running while a request is in flight');

  plain.finish();
  pipelining.finish('GET /readyz HTTP/1.1\r\nHost: localhost\r\n\r\n');
  for (const upload of [plain, pipelining]) {
    const raw = await upload.response;
    assert.equal(firstResponseBody(raw).predictions.length, 2);
    // The answer closes the kept-alive connection, so nothing pipelined behind it is answered ...
    assert.match(raw, /\r\nconnection: close\r\n/i);
    assert.equal(raw.split(/(?=HTTP\/1\.1 )/).length, 1, raw);
  }
  // ... but the server saw the pipelined request and refused it as shutting down.
  const rejected = lines.find((line) => line.msg === 'request rejected' && line.code === 'NOT_READY');
  assert.ok(rejected, 'the request pipelined during shutdown was refused with NOT_READY');

  // Exit 0 (not 1 from the grace timeout): the kept-alive connections were closed after their answers.
  const [exitCode, signal] = await exited;
  assert.equal(signal, null);
  assert.equal(exitCode, 0);
  assert.ok(lines.some((line) => line.msg === 'server closed'));
});
