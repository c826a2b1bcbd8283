// The weights cache against a local HTTP server: fetch, resume, checksum rejection, HTTP errors,
// timeouts, tarballs (and hostile ones), first-use SHA-256, add, verify, name resolution.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, readdir, rm, writeFile, appendFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { addWeights, cachedWeightsPath, fetchWeights, readRecord, resolveWeights, verifyWeights } from '../../src/weights/cache.js';
import { registerWeightsCheck, unregisterWeightsCheck } from '../../src/weights/checks.js';
import { progressText } from '../../src/weights/progress.js';
import { bypassesProxy } from '../../src/weights/download.js';
import { weightsRegistry, type WeightsEntry } from '../../src/weights/registry.js';
import { NasnetError } from '../../core/errors.js';
import { startConnectProxy, startTestServer, tarGz, type TestServer } from './http_fixture.js';

const md5 = (b: Buffer): string => createHash('md5').update(b).digest('hex');
const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

/** 300 kB of deterministic bytes. */
const BODY = Buffer.from(Array.from({ length: 300_000 }, (_, i) => (i * 7 + (i >> 9)) & 255));
const NO_PROXY_ENV = {};

function h5Entry(server: TestServer, name: string, path: string, checksum: string = md5(BODY)): WeightsEntry {
  return { name, format: 'keras-h5', file: 'W.h5', url: server.url + path, md5: checksum, backbone: 'mobile', includeTop: true, description: name };
}

function tarEntryOf(server: TestServer, name: string, path: string, sha?: string): WeightsEntry {
  return {
    name,
    format: 'od-api-tarball',
    file: 'model.tar.gz',
    url: server.url + path,
    ...(sha === undefined ? {} : { sha256: sha }),
    backbone: 'large',
    includeTop: false,
    description: name,
    checks: ['test-check'],
  };
}

async function rejects(promise: Promise<unknown>, code: string, message: RegExp): Promise<NasnetError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof NasnetError, String(error));
    assert.equal(error.code, code, error.message);
    assert.match(error.message, message);
    return error;
  }
  assert.fail('expected a rejection');
}

describe('weights cache', () => {
  let server: TestServer;
  let home: string;
  let tarball: Buffer;
  before(async () => {
    tarball = await tarGz([
      { name: 'faster_rcnn_test/', type: '5' },
      { name: 'faster_rcnn_test/pipeline.config', data: Buffer.from('model { faster_rcnn {} }\n') },
      { name: 'faster_rcnn_test/model.ckpt.index', data: BODY.subarray(0, 1000) },
    ]);
    server = await startTestServer({
      '/ok.h5': { kind: 'file', body: BODY },
      '/cut.h5': { kind: 'file', body: BODY, cutFirstAt: 100_000 },
      '/norange.h5': { kind: 'file', body: BODY, ignoreRange: true },
      '/hang.h5': { kind: 'hang' },
      '/moved.h5': { kind: 'redirect', to: '/ok.h5' },
      '/model.tar.gz': { kind: 'file', body: tarball },
      '/evil.tar.gz': { kind: 'file', body: await tarGz([{ name: 'ok.txt', data: Buffer.from('x') }, { name: '../escaped.txt', data: Buffer.from('pwned') }]) },
      '/link.tar.gz': { kind: 'file', body: await tarGz([{ name: 'link', type: '2', link: '/etc/passwd' }]) },
    });
    home = await mkdtemp(join(tmpdir(), 'nasnet-home-'));
  });
  after(async () => {
    await server.close();
    await rm(home, { recursive: true, force: true });
  });
  const opts = (entries: WeightsEntry[], extra: object = {}) => ({ home, registry: weightsRegistry(entries), env: NO_PROXY_ENV, timeoutMs: 2000, ...extra });

  test('fetch downloads, checks the MD5, places the file and records it; a second fetch downloads nothing', async () => {
    const entries = [h5Entry(server, 'w-ok', '/ok.h5')];
    const seen: number[] = [];
    const result = await fetchWeights('w-ok', opts(entries, { onProgress: (b: number) => seen.push(b) }));
    assert.equal(result.downloaded, true);
    assert.equal(result.path, join(home, 'weights', 'w-ok', 'W.h5'));
    assert.deepEqual(await readFile(result.path), BODY);
    assert.equal(seen.at(-1), BODY.length);
    const record = await readRecord('w-ok', opts(entries));
    assert.equal(record?.md5, md5(BODY));
    assert.equal(record?.sha256, sha256(BODY));
    assert.equal(record?.checkedBy, 'md5');
    assert.deepEqual(await readdir(join(home, 'downloads')), []);
    const before = server.requests.length;
    const again = await fetchWeights('w-ok', opts(entries));
    assert.equal(again.downloaded, false);
    assert.equal(server.requests.length, before);
    assert.equal((await resolveWeights('w-ok', opts(entries))).path, result.path);
    assert.equal((await resolveWeights('some/file.h5', opts(entries))).path, 'some/file.h5');
  });

  test('a cut connection is resumed with a Range request from where it stopped', async () => {
    const entries = [h5Entry(server, 'w-cut', '/cut.h5')];
    const result = await fetchWeights('w-cut', opts(entries));
    assert.deepEqual(await readFile(result.path), BODY);
    const asked = server.requests.filter((r) => r.path === '/cut.h5');
    assert.equal(asked.length, 2);
    assert.equal(asked[0]?.range, undefined);
    assert.equal(asked[1]?.range, 'bytes=100000-');
  });

  test('a partial file left by an interrupted run is resumed; a server ignoring Range restarts it', async () => {
    const entries = [h5Entry(server, 'w-resume', '/ok.h5'), h5Entry(server, 'w-norange', '/norange.h5')];
    for (const name of ['w-resume', 'w-norange']) {
      await mkdir(join(home, 'downloads', name), { recursive: true });
      await writeFile(join(home, 'downloads', name, 'W.h5.part'), BODY.subarray(0, 123_456));
    }
    const resumed = await fetchWeights('w-resume', opts(entries));
    assert.equal(resumed.resumedFrom, 123_456);
    assert.deepEqual(await readFile(resumed.path), BODY);
    assert.equal(server.requests.filter((r) => r.path === '/ok.h5').at(-1)?.range, 'bytes=123456-');
    const restarted = await fetchWeights('w-norange', opts(entries));
    assert.deepEqual(await readFile(restarted.path), BODY);
  });

  test('one fetch of a name at a time: a live owner\'s lock refuses, a dead owner\'s lock is taken over', async () => {
    const entries = [h5Entry(server, 'w-lock', '/ok.h5')];
    const lock = join(home, 'downloads', 'w-lock', '.lock');
    await mkdir(join(home, 'downloads', 'w-lock'), { recursive: true });
    await writeFile(lock, String(process.ppid));
    await rejects(fetchWeights('w-lock', opts(entries)), 'WEIGHTS_UNAVAILABLE', new RegExp(`another process \\(pid ${process.ppid}\\) is fetching w-lock`));
    await writeFile(lock, '2147483646');
    const result = await fetchWeights('w-lock', opts(entries));
    assert.deepEqual(await readFile(result.path), BODY);
    assert.ok(!(await readdir(join(home, 'downloads'))).includes('w-lock'));
  });

  test('a redirect is followed', async () => {
    const entries = [h5Entry(server, 'w-moved', '/moved.h5')];
    const result = await fetchWeights('w-moved', opts(entries));
    assert.deepEqual(await readFile(result.path), BODY);
  });

  test('a wrong checksum is rejected and nothing is left in the cache', async () => {
    const entries = [h5Entry(server, 'w-bad', '/ok.h5', '0'.repeat(32))];
    await rejects(fetchWeights('w-bad', opts(entries)), 'CHECKSUM_MISMATCH', new RegExp(`MD5 is ${md5(BODY)}, expected 0{32}`));
    assert.equal(await cachedWeightsPath('w-bad', opts(entries)), undefined);
    const left = [...(await readdir(join(home, 'weights'))), ...(await readdir(join(home, 'downloads')))];
    assert.ok(!left.some((f) => f.includes('w-bad')), left.join(', '));
  });

  test('404: one message naming the URL, the status and the add command; exit code 6', async () => {
    const entries = [h5Entry(server, 'w-404', '/missing.h5')];
    const error = await rejects(fetchWeights('w-404', opts(entries)), 'WEIGHTS_UNAVAILABLE', /cannot fetch w-404 from http:\/\/127\.0\.0\.1:\d+\/missing\.h5: HTTP 404\..*nasnet weights add w-404 FILE/);
    assert.equal(error.exitCode, 6);
    assert.ok(!(await readdir(join(home, 'downloads'))).includes('w-404'));
  });

  test('a server that never answers times out with the same message', async () => {
    const entries = [h5Entry(server, 'w-hang', '/hang.h5')];
    const started = Date.now();
    await rejects(fetchWeights('w-hang', opts(entries, { timeoutMs: 300 })), 'WEIGHTS_UNAVAILABLE', /\/hang\.h5: timed out \(UND_ERR_HEADERS_TIMEOUT\).*nasnet weights add w-hang FILE/);
    assert.ok(Date.now() - started < 5000);
  });

  test('offline (nothing listening): the message names the URL, the network error and the add command', async () => {
    const entries: WeightsEntry[] = [{ ...h5Entry(server, 'w-off', '/x'), url: 'http://127.0.0.1:9/NASNet-mobile.h5' }];
    await rejects(fetchWeights('w-off', opts(entries)), 'WEIGHTS_UNAVAILABLE', /from http:\/\/127\.0\.0\.1:9\/NASNet-mobile\.h5: connect ECONNREFUSED 127\.0\.0\.1:9\. .*nasnet weights add w-off FILE/);
    assert.ok(!(await readdir(join(home, 'downloads'))).includes('w-off'), 'no empty partial left');
  });

  test('a proxy from the environment is used (HTTP_PROXY), and NO_PROXY bypasses it', async () => {
    const entries = [h5Entry(server, 'w-proxy', '/ok.h5')];
    // A proxy that refuses everything: going through it fails, bypassing it succeeds.
    await rejects(fetchWeights('w-proxy', opts(entries, { env: { HTTP_PROXY: 'http://127.0.0.1:9' } })), 'WEIGHTS_UNAVAILABLE', /ECONNREFUSED/);
    const result = await fetchWeights('w-proxy', opts(entries, { env: { HTTP_PROXY: 'http://127.0.0.1:9', NO_PROXY: 'localhost,127.0.0.1' } }));
    assert.deepEqual(await readFile(result.path), BODY);
    // A working proxy: the download goes through its tunnel.
    const proxy = await startConnectProxy();
    try {
      const proxied = [h5Entry(server, 'w-proxied', '/ok.h5')];
      const through = await fetchWeights('w-proxied', opts(proxied, { env: { http_proxy: proxy.url } }));
      assert.deepEqual(await readFile(through.path), BODY);
      assert.deepEqual(proxy.tunnels, [new URL(server.url).host]);
    } finally {
      await proxy.close();
    }
  });

  test('a tarball is unpacked; its SHA-256 is recorded on first use and held to on the next fetch', async () => {
    const entries = [tarEntryOf(server, 't-first', '/model.tar.gz')];
    registerWeightsCheck('test-check', async (path) => ((await readdir(path)).includes('pipeline.config') ? undefined : 'no pipeline.config'));
    try {
      const result = await fetchWeights('t-first', opts(entries));
      assert.equal(result.path, join(home, 'weights', 't-first', 'faster_rcnn_test'));
      assert.equal(await readFile(join(result.path, 'pipeline.config'), 'utf8'), 'model { faster_rcnn {} }\n');
      assert.equal(result.record.checkedBy, 'sha256-first-use');
      assert.equal(result.record.sha256, sha256(tarball));
      assert.deepEqual(result.record.files?.map((f) => f.path), ['faster_rcnn_test/pipeline.config', 'faster_rcnn_test/model.ckpt.index']);
      assert.deepEqual(await readdir(join(home, 'weights', 't-first')), ['faster_rcnn_test']);
      const verified = await verifyWeights('t-first', opts(entries));
      assert.equal(verified.ok, true);
      assert.deepEqual(verified.checks, [{ name: 'test-check', status: 'ok', detail: 'passed' }]);
      // The server now serves other bytes under the same URL: refused against the recorded hash.
      server.routes.set('/model.tar.gz', { kind: 'file', body: await tarGz([{ name: 'other.txt', data: Buffer.from('other') }]) });
      await rejects(fetchWeights('t-first', opts(entries, { force: true })), 'CHECKSUM_MISMATCH', /SHA-256 \(recorded on first use\)/);
      assert.equal(await readFile(join(result.path, 'pipeline.config'), 'utf8'), 'model { faster_rcnn {} }\n');
    } finally {
      server.routes.set('/model.tar.gz', { kind: 'file', body: tarball });
      unregisterWeightsCheck('test-check');
    }
    const unregistered = await verifyWeights('t-first', opts(entries));
    assert.equal(unregistered.ok, true);
    assert.equal(unregistered.checks[0]?.status, 'unavailable');
  });

  test('verify finds a changed file in an unpacked tarball and in a .h5', async () => {
    const entries = [tarEntryOf(server, 't-verify', '/model.tar.gz'), h5Entry(server, 'w-verify', '/ok.h5')];
    const t = await fetchWeights('t-verify', opts(entries));
    await appendFile(join(t.path, 'pipeline.config'), 'tampered');
    const tv = await verifyWeights('t-verify', opts(entries));
    assert.equal(tv.ok, false);
    assert.match(tv.problems[0] ?? '', /^faster_rcnn_test\/pipeline\.config: SHA-256 [0-9a-f]{64}, recorded [0-9a-f]{64}$/);
    const w = await fetchWeights('w-verify', opts(entries));
    assert.equal((await verifyWeights('w-verify', opts(entries))).ok, true);
    await appendFile(w.path, 'x');
    const wv = await verifyWeights('w-verify', opts(entries));
    assert.equal(wv.problems.length, 2);
    assert.match(wv.problems[1] ?? '', new RegExp(`MD5 [0-9a-f]{32}, published ${md5(BODY)}`));
  });

  test('hostile tarballs (.. paths, symlinks) are refused and nothing is placed or written outside', async () => {
    const entries = [tarEntryOf(server, 't-evil', '/evil.tar.gz'), tarEntryOf(server, 't-link', '/link.tar.gz')];
    await rejects(fetchWeights('t-evil', opts(entries)), 'INVALID_DATA', /refused 1 archive entry: \.\.\/escaped\.txt \(path leaves the target folder\)/);
    await rejects(fetchWeights('t-link', opts(entries)), 'INVALID_DATA', /link \(entry type SymbolicLink is not allowed\)/);
    const names = await readdir(join(home, 'weights'));
    assert.ok(!names.some((n) => n.includes('t-evil') || n.includes('t-link') || n.startsWith('.')), names.join(', '));
    assert.ok(!(await readdir(home)).includes('escaped.txt'));
    assert.ok(!(await readdir(join(home, 'weights'))).includes('escaped.txt'));
  });

  test('add places a file checked like a download; a wrong file is refused and left where it was', async () => {
    const entries = [h5Entry(server, 'w-add', '/none.h5')];
    const file = join(home, 'elsewhere.h5');
    await writeFile(file, BODY);
    const { path, record } = await addWeights('w-add', file, opts(entries));
    assert.equal(record.source, 'add');
    assert.deepEqual(await readFile(path), BODY);
    assert.deepEqual(await readFile(file), BODY, 'the original stays');
    const wrong = join(home, 'wrong.h5');
    await writeFile(wrong, 'not the weights');
    await rejects(addWeights('w-add', wrong, opts([h5Entry(server, 'w-add2', '/none.h5')])), 'INVALID_ARGUMENT', /unknown weights name "w-add"/);
    await rejects(addWeights('w-add2', wrong, opts([h5Entry(server, 'w-add2', '/none.h5')])), 'CHECKSUM_MISMATCH', /MD5 is/);
    assert.equal(await readFile(wrong, 'utf8'), 'not the weights');
    assert.equal(await cachedWeightsPath('w-add2', opts([h5Entry(server, 'w-add2', '/none.h5')])), undefined);
    await rejects(addWeights('w-add', join(home, 'absent.h5'), opts(entries)), 'IO_ERROR', /cannot read/);
  });

  test('an uncached name does not download unless asked: WEIGHTS_UNAVAILABLE with the fetch command; NASNET_FETCH=1 fetches', async () => {
    const entries = [h5Entry(server, 'w-lazy', '/ok.h5')];
    const before = server.requests.length;
    await rejects(resolveWeights('w-lazy', opts(entries)), 'WEIGHTS_UNAVAILABLE', /not in the cache .*nasnet weights fetch w-lazy .*--fetch.*NASNET_FETCH=1/);
    assert.equal(server.requests.length, before);
    const fetched = await resolveWeights('w-lazy', opts(entries, { env: { NASNET_FETCH: '1' } }));
    assert.deepEqual(await readFile(fetched.path), BODY);
    assert.equal(fetched.entry?.name, 'w-lazy');
  });

  test('NO_PROXY matching: hosts, .domains, ports, *', () => {
    const u = (s: string) => new URL(s);
    assert.equal(bypassesProxy(u('http://127.0.0.1:8080/x'), 'localhost,127.0.0.1'), true);
    assert.equal(bypassesProxy(u('https://storage.googleapis.com/x'), '.googleapis.com'), true);
    assert.equal(bypassesProxy(u('https://storage.googleapis.com/x'), 'googleapis.com:80'), false);
    assert.equal(bypassesProxy(u('https://storage.googleapis.com/x'), 'googleapis.com:443'), true);
    assert.equal(bypassesProxy(u('http://download.tensorflow.org/x'), 'example.org'), false);
    assert.equal(bypassesProxy(u('http://download.tensorflow.org/x'), '*'), true);
  });

  test('the progress line shows size, percentage and ETA', () => {
    assert.equal(progressText('nasnet-mobile', 5 * 1024 * 1024, 20 * 1024 * 1024, 0, 5), 'nasnet-mobile  5.0 MB / 20.0 MB  25%  1.0 MB/s  ETA 15s');
  });
});

test('the progress line is drawn in place on a TTY and not at all elsewhere', async () => {
  const { progressLine } = await import('../../src/weights/progress.js');
  const written: string[] = [];
  const tty = { isTTY: true, write: (s: string) => written.push(s) } as unknown as NodeJS.WritableStream;
  let now = 0;
  const line = progressLine(tty, 'w', () => now);
  now = 1000;
  line.update(1024 * 1024, 4 * 1024 * 1024);
  now = 1050;
  line.update(2 * 1024 * 1024, 4 * 1024 * 1024); // within 100 ms: skipped
  now = 2000;
  line.update(4 * 1024 * 1024, 4 * 1024 * 1024);
  line.done();
  assert.deepEqual(written, ['\rw  1.0 MB / 4.0 MB  25%  0 kB/s  ETA ?\x1b[K', '\rw  4.0 MB / 4.0 MB  100%  1.5 MB/s  ETA 0s\x1b[K', '\n']);
  const quiet: string[] = [];
  const pipe = progressLine({ write: (s: string) => quiet.push(s) } as unknown as NodeJS.WritableStream, 'w');
  pipe.update(1, 2);
  pipe.done();
  assert.deepEqual(quiet, []);
});
