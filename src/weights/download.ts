// One HTTP(S) download into a partial file that survives a cut connection: a later request asks for
// the rest (Range: bytes=N-) and appends; a server that ignores the range (200) restarts the file.
// Proxies come from the environment (HTTPS_PROXY / HTTP_PROXY / NO_PROXY, lower case first) through
// undici's ProxyAgent (CONNECT tunnels); connect, response-headers and idle-body timeouts are `timeoutMs`.
import { createReadStream, createWriteStream } from 'node:fs';
import { rm, stat } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Agent, ProxyAgent, request, type Dispatcher } from 'undici';

export interface DownloadOptions {
  /** Connect, headers and idle-body timeout in ms (default 30 s). */
  readonly timeoutMs?: number;
  /** Requests tried when the connection is cut mid-body, each resuming where the last stopped (default 3). */
  readonly attempts?: number;
  /** Where proxy variables are read (default process.env). */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Called as bytes arrive: bytes in the partial file so far, and the full size when the server said. */
  readonly onProgress?: (bytes: number, total: number | undefined) => void;
}

export interface DownloadResult {
  readonly bytes: number;
  /** Requests made (1 without a cut). */
  readonly requests: number;
  /** Bytes already in the partial file when the first request was made (0: a fresh download). */
  readonly resumedFrom: number;
}

/** A failed download; `message` is the cause only (the caller adds the URL and what to do). */
export class DownloadError extends Error {
  constructor(message: string, readonly status?: number) {
    super(message);
    this.name = 'DownloadError';
  }
}

export const DEFAULT_DOWNLOAD_TIMEOUT_MS = 30_000;
const MAX_REDIRECTIONS = 5;

function envValue(env: Readonly<Record<string, string | undefined>>, name: string): string {
  return env[name.toLowerCase()] ?? env[name] ?? '';
}

/** True when NO_PROXY (comma list of hosts, .domains, host:port, or "*") exempts `url`. */
export function bypassesProxy(url: URL, noProxy: string): boolean {
  const host = url.hostname.replace(/^\[|\]$/g, '').toLowerCase();
  const port = url.port || (url.protocol === 'https:' ? '443' : '80');
  return noProxy
    .split(/[,\s]+/)
    .filter((item) => item !== '')
    .some((item) => {
      if (item === '*') return true;
      const [pattern = '', onlyPort] = item.toLowerCase().split(/:(?=\d+$)/);
      if (onlyPort !== undefined && onlyPort !== port) return false;
      const bare = pattern.replace(/^\*?\./, '');
      return host === bare || host.endsWith(`.${bare}`);
    });
}

/**
 * The dispatcher for `url` under `env`: undici's ProxyAgent when HTTPS_PROXY (https URLs) or
 * HTTP_PROXY (http URLs) is set and NO_PROXY does not exempt the host, a plain Agent otherwise.
 */
export function proxyDispatcher(url: string, env: Readonly<Record<string, string | undefined>>, timeoutMs: number): Dispatcher {
  const timeouts = { headersTimeout: timeoutMs, bodyTimeout: timeoutMs, connect: { timeout: timeoutMs } };
  const target = new URL(url);
  const proxy = target.protocol === 'https:' ? envValue(env, 'HTTPS_PROXY') || envValue(env, 'HTTP_PROXY') : envValue(env, 'HTTP_PROXY');
  if (proxy === '' || bypassesProxy(target, envValue(env, 'NO_PROXY'))) return new Agent(timeouts);
  return new ProxyAgent({ ...timeouts, uri: proxy });
}

async function sizeOf(path: string): Promise<number> {
  try {
    return (await stat(path)).size;
  } catch {
    return 0;
  }
}

/** "bytes 100-199/200" -> {start: 100, total: 200}. */
function parseContentRange(value: string | undefined): { start: number; total: number | undefined } | undefined {
  const match = /^bytes (\d+)-\d+\/(\d+|\*)$/.exec(value ?? '');
  if (match === null) return undefined;
  return { start: Number(match[1]), total: match[2] === '*' ? undefined : Number(match[2]) };
}

function header(headers: Record<string, string | string[] | undefined>, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** Network failures worth a resumed retry: the connection closed or reset mid-transfer. */
function isCut(error: unknown): boolean {
  const code = (error as { code?: string }).code;
  return code === 'UND_ERR_SOCKET' || code === 'ECONNRESET' || code === 'EPIPE' || code === 'ERR_STREAM_PREMATURE_CLOSE' || code === 'UND_ERR_RES_CONTENT_LENGTH_MISMATCH';
}

/** A one-line reason for any failure (undici's codes spelled out). */
export function describeFailure(error: unknown): string {
  const { code, message } = error as { code?: string; message?: string };
  if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT' || code === 'UND_ERR_CONNECT_TIMEOUT') return `timed out (${code})`;
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  if (cause?.code !== undefined) return `${cause.code}: ${cause.message ?? ''}`.trim();
  return code !== undefined && !(message ?? '').includes(code) ? `${code}: ${message ?? ''}` : (message ?? String(error));
}

/** Downloads `url` into `partPath`, resuming what the file already holds. */
export async function downloadToFile(url: string, partPath: string, options: DownloadOptions = {}): Promise<DownloadResult> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_DOWNLOAD_TIMEOUT_MS;
  const attempts = options.attempts ?? 3;
  const dispatcher = proxyDispatcher(url, options.env ?? process.env, timeoutMs);
  const resumedFrom = await sizeOf(partPath);
  let requests = 0;
  try {
    for (;;) {
      requests += 1;
      try {
        const bytes = await oneRequest(url, partPath, dispatcher, options.onProgress);
        return { bytes, requests, resumedFrom };
      } catch (error) {
        if (!isCut(error) || requests >= attempts) throw error instanceof DownloadError ? error : new DownloadError(describeFailure(error));
      }
    }
  } finally {
    await dispatcher.close();
  }
}

async function oneRequest(url: string, partPath: string, dispatcher: Dispatcher, onProgress: DownloadOptions['onProgress']): Promise<number> {
  const offset = await sizeOf(partPath);
  const response = await request(url, {
    dispatcher,
    maxRedirections: MAX_REDIRECTIONS,
    headers: { 'user-agent': 'nasnet-ts', ...(offset > 0 ? { range: `bytes=${offset}-` } : {}) },
  });
  const { statusCode, headers, body } = response;
  if (statusCode === 416 && offset > 0) {
    // The partial file is not a prefix the server recognises: start over on the next request.
    await body.dump();
    await rm(partPath, { force: true });
    const error = new DownloadError('the server refused to resume (416); the partial file was discarded') as DownloadError & { code: string };
    error.code = 'ECONNRESET';
    throw error;
  }
  if (statusCode !== 200 && statusCode !== 206) {
    await body.dump();
    throw new DownloadError(`HTTP ${statusCode}`, statusCode);
  }
  let start = 0;
  let total: number | undefined;
  if (statusCode === 206) {
    const range = parseContentRange(header(headers, 'content-range'));
    if (range === undefined || range.start !== offset) {
      await body.dump();
      throw new DownloadError(`the server answered a range request with content-range ${JSON.stringify(header(headers, 'content-range'))}`);
    }
    start = offset;
    total = range.total;
  } else {
    const length = header(headers, 'content-length');
    total = length === undefined ? undefined : Number(length);
  }
  let bytes = start;
  const counter = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      bytes += chunk.length;
      onProgress?.(bytes, total);
      done(null, chunk);
    },
  });
  await pipeline(body, counter, createWriteStream(partPath, { flags: start > 0 ? 'a' : 'w' }));
  if (total !== undefined && bytes !== total) {
    const error = new DownloadError(`the connection closed after ${bytes} of ${total} bytes`) as DownloadError & { code: string };
    error.code = 'ECONNRESET';
    throw error;
  }
  return bytes;
}

/** MD5 and SHA-256 (hex) of a file, in one read. */
export async function hashFile(path: string): Promise<{ md5: string; sha256: string; bytes: number }> {
  const md5 = createHash('md5');
  const sha256 = createHash('sha256');
  let bytes = 0;
  for await (const chunk of createReadStream(path) as AsyncIterable<Buffer>) {
    md5.update(chunk);
    sha256.update(chunk);
    bytes += chunk.length;
  }
  return { md5: md5.digest('hex'), sha256: sha256.digest('hex'), bytes };
}
