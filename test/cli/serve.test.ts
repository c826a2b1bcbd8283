// nasnet serve's command line: --help, flag parsing into config keys, and bad flags.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
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

const NASNET_CLI = fileURLToPath(new URL('../../src/cli/nasnet.js', import.meta.url));
const FAST = ['--workers', '1', '--engine', 'wasm', '--classifier', 'placeholder-tiny', '--detector', 'placeholder-tiny'];

/** Runs the real `nasnet serve` (the top-level error handler is part of what is tested). */
async function serveProcess(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [NASNET_CLI, 'serve', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
  child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  const [code] = (await once(child, 'exit')) as [number | null];
  clearTimeout(timer);
  return { code, stdout, stderr };
}

test('a busy port: one line on stderr and exit 6 (ADDRESS_UNAVAILABLE), not a stack trace', async () => {
  const blocker = createServer();
  blocker.listen(0, '127.0.0.1');
  await once(blocker, 'listening');
  const port = (blocker.address() as AddressInfo).port;
  try {
    const result = await serveProcess(['--port', String(port), ...FAST]);
    assert.equal(result.code, 6, result.stderr);
    assert.equal(result.stderr, `error: cannot listen on 127.0.0.1:${port}: the port is already in use (EADDRINUSE)\n`);
  } finally {
    blocker.close();
  }
});

test('weights that do not exist: one line and exit 3 before anything listens', async () => {
  const result = await serveProcess(['--port', '0', ...FAST, '--detector', 'default:no-such-dir', '--models-dir', '/nonexistent-models']);
  assert.equal(result.code, 3, result.stderr);
  assert.equal(result.stderr, 'error: --detector default:no-such-dir: no such file or directory: /nonexistent-models/no-such-dir\n');
  assert.doesNotMatch(result.stdout, /listening/);
});

test('weights that exist but do not load: their typed error and exit code, before anything listens', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'nasnet-serve-'));
  try {
    const result = await serveProcess(['--port', '0', ...FAST, '--detector', `default:${dir}`]);
    assert.equal(result.code, 4, result.stderr);
    assert.match(result.stderr, /^error: inference worker could not load its models: .*\n$/);
    assert.doesNotMatch(result.stdout, /"msg":"listening"/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('model tuning flags: --classifier-engine, --calibrate, --calibration-images, --detector-proposals, --detector-roi-sampling-ratio', () => {
  const text = usage();
  for (const fragment of ['--classifier-engine', '[env NASNET_CLASSIFIER_ENGINE]', '--calibrate', '[env NASNET_CALIBRATE]', '--calibration-images', '--detector-proposals', '[env NASNET_DETECTOR_PROPOSALS]', '--detector-roi-sampling-ratio', '[env NASNET_DETECTOR_ROI_SAMPLING_RATIO]']) {
    assert.ok(text.includes(fragment), `usage mentions ${fragment}`);
  }
  const args = parseServeArgs(['--classifier-engine', 'onnx-int8', '--calibrate', 'calib', '--calibration-images', '20', '--detector-proposals', '50', '--detector-roi-sampling-ratio', '1']);
  assert.deepEqual(args.flags, { classifierEngine: 'onnx-int8', calibrate: 'calib', calibrationImages: '20', detectorProposals: '50', detectorRoiSamplingRatio: '1' });
});

test('onnx-int8 with a calibration folder that is missing, empty or absent: one line and exit 5 before anything loads', async () => {
  const empty = mkdtempSync(join(tmpdir(), 'nasnet-serve-calib-'));
  const int8 = ['--port', '0', '--workers', '1', '--engine', 'wasm', '--classifier', 'default', '--detector', 'placeholder-tiny', '--classifier-engine', 'onnx-int8'];
  try {
    const cases: [string[], RegExp][] = [
      [[], /^error: setting "calibrate" is required when "classifierEngine" is "onnx-int8"/],
      [['--calibrate', empty], /^error: setting "calibrate" \(classifierEngine onnx-int8\): .*no image files under /],
      [['--calibrate', join(empty, 'missing')], /^error: setting "calibrate" \(classifierEngine onnx-int8\): .*cannot read the calibration directory/],
    ];
    for (const [extra, stderr] of cases) {
      const result = await serveProcess([...int8, ...extra]);
      assert.equal(result.code, 5, result.stderr);
      assert.match(result.stderr, stderr);
      assert.equal(result.stderr.split('\n').filter(Boolean).length, 1, result.stderr);
      assert.doesNotMatch(result.stdout, /"msg":"listening"/);
    }
  } finally {
    rmSync(empty, { recursive: true, force: true });
  }
});
