// nasnet serve's command line: --help, flag parsing into config keys, and bad flags.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NasnetError } from '../../core/errors.js';
import { main, parseServeArgs, usage } from '../../src/cli/serve.js';

test('--help prints the usage with every setting as a flag, its env variable and default; exit 0', async () => {
  const text = usage();
  for (const fragment of ['Usage: nasnet serve', '--port', '[env PORT]', '(default 3000)', '--max-body-bytes', '--classifier', '--config <file>', '--tasks-per-worker']) {
    assert.ok(text.includes(fragment), `usage mentions ${fragment}`);
  }
  const written: string[] = [];
  const original = process.stdout.write.bind(process.stdout);
  process.stdout.write = ((chunk: string) => {
    written.push(chunk);
    return true;
  }) as typeof process.stdout.write;
  try {
    assert.equal(await main(['--help']), 0);
  } finally {
    process.stdout.write = original;
  }
  assert.equal(written.join(''), text);
});

test('flags map to camelCase config keys; --config is kept apart', () => {
  const args = parseServeArgs(['--port', '8080', '--tasks-per-worker', '2', '--detector', 'placeholder-tiny', '--config', 'serve.json']);
  assert.deepEqual(args, { help: false, configFile: 'serve.json', flags: { port: '8080', tasksPerWorker: '2', detector: 'placeholder-tiny' } });
});

test('unknown flags, missing values and positionals are INVALID_ARGUMENT (exit 2)', () => {
  for (const argv of [['--prot', '1'], ['--port'], ['extra']]) {
    assert.throws(
      () => parseServeArgs(argv),
      (error: unknown) => error instanceof NasnetError && error.code === 'INVALID_ARGUMENT' && error.exitCode === 2,
      argv.join(' '),
    );
  }
});

test('an invalid setting fails before listening with INVALID_CONFIG (exit 5)', async () => {
  await assert.rejects(main(['--port', '99999']), (error: unknown) => error instanceof NasnetError && error.code === 'INVALID_CONFIG' && error.exitCode === 5);
  await assert.rejects(
    main(['--port', '0', '--classifier', 'no-such-model']),
    (error: unknown) => error instanceof NasnetError && error.code === 'INVALID_CONFIG' && /unknown kind "no-such-model"/.test(error.message),
  );
});
