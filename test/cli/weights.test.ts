// nasnet weights through its CLI body with an injected registry pointing at a local HTTP server.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { weightsCommand } from '../../src/cli/weights.js';
import { cliMain } from '../../src/cli/run.js';
import { weightsRegistry, type WeightsEntry } from '../../src/weights/registry.js';
import { startTestServer, type TestServer } from '../weights/http_fixture.js';
import { runCli } from '../helpers/cli.js';

const BODY = Buffer.from(Array.from({ length: 50_000 }, (_, i) => (i * 13) & 255));
let server: TestServer;
let home: string;
let cli: ReturnType<typeof cliMain>;

before(async () => {
  server = await startTestServer({ '/W.h5': { kind: 'file', body: BODY } });
  home = mkdtempSync(join(tmpdir(), 'nasnet-weights-cli-'));
  const entry = (name: string, url: string): WeightsEntry => ({
    name, format: 'keras-h5', file: 'W.h5', url, md5: createHash('md5').update(BODY).digest('hex'), backbone: 'mobile', includeTop: true, description: `test ${name}`,
  });
  const registry = weightsRegistry([entry('w-one', `${server.url}/W.h5`), entry('w-offline', 'http://127.0.0.1:9/W.h5')]);
  cli = cliMain((argv, io) => weightsCommand(argv, io, { home, registry, env: {}, timeoutMs: 2000 }));
});

after(async () => {
  await server.close();
  rmSync(home, { recursive: true, force: true });
});

test('fetch prints the cached path (quiet progress off a terminal), then list, path and verify see it', async () => {
  const fetched = await runCli(cli, 'fetch', 'w-one');
  assert.equal(fetched.code, 0, fetched.stderr);
  assert.equal(fetched.stdout, `${join(home, 'weights', 'w-one', 'W.h5')}\n`);
  assert.equal(fetched.stderr, 'fetched w-one (49 kB, MD5 ok)\n');
  assert.deepEqual(readFileSync(fetched.stdout.trim()), BODY);
  const list = await runCli(cli, 'list');
  assert.match(list.stdout, /^\* w-one +49 kB {2}test w-one\n/m);
  assert.match(list.stdout, /^ {2}w-offline +size \? {2}test w-offline\n/m);
  assert.equal((await runCli(cli, 'path', 'w-one')).stdout.trim(), fetched.stdout.trim());
  const verify = await runCli(cli, 'verify');
  assert.equal(verify.code, 0);
  assert.equal(verify.stdout, 'ok     w-one\n');
  writeFileSync(fetched.stdout.trim(), 'tampered');
  const bad = await runCli(cli, 'verify', 'w-one');
  assert.equal(bad.code, 4);
  assert.match(bad.stdout, /^FAILED w-one\n/);
});

test('offline: one line naming the URL, the error and the add command; exit 6', async () => {
  const result = await runCli(cli, 'fetch', 'w-offline');
  assert.equal(result.code, 6);
  assert.equal(result.stderr.split('\n').length, 2, result.stderr);
  assert.match(result.stderr, /^error: cannot fetch w-offline from http:\/\/127\.0\.0\.1:9\/W\.h5: connect ECONNREFUSED .*run: nasnet weights add w-offline FILE\n$/);
});

test('bad command lines exit 2', async () => {
  assert.equal((await runCli(cli, 'fetch', 'no-such-name')).code, 2);
  assert.equal((await runCli(cli, 'add', 'w-one')).code, 2);
  assert.equal((await runCli(cli, 'frobnicate')).code, 2);
  assert.equal((await runCli(cli)).code, 2);
});
