import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  boolField, describeSchema, enumField, envSource, fileSource, intField, numberField, resolveConfig, stringField,
  type ConfigSchema,
} from '../../core/config.js';
import { NasnetError } from '../../core/errors.js';

interface Demo {
  port: number;
  host: string;
  engine: 'wasm' | 'cpu';
  minScore: number;
  verbose: boolean;
}

const SCHEMA: ConfigSchema<Demo> = {
  port: intField(3000, 'TCP port', { min: 0, max: 65535, env: 'PORT' }),
  host: stringField('127.0.0.1', 'bind address', { env: 'HOST' }),
  engine: enumField('wasm', ['wasm', 'cpu'] as const, 'engine'),
  minScore: numberField(0.5, 'score threshold', { min: 0, max: 1 }),
  verbose: boolField(false, 'log more', { env: 'VERBOSE' }),
};

function expectConfigError(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (error: unknown) => error instanceof NasnetError && error.code === 'INVALID_CONFIG' && pattern.test(error.message));
}

test('defaults, then file, then env, then flags: later sources win', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cfg-'));
  try {
    const path = join(dir, 'c.json');
    writeFileSync(path, JSON.stringify({ port: 4000, host: 'file-host', minScore: 0.25 }));
    const config = resolveConfig(SCHEMA, [
      fileSource(path),
      envSource(SCHEMA, { PORT: '5000', VERBOSE: 'yes', UNRELATED: 'x' }),
      { name: 'flags', values: { port: '6000' } },
    ]);
    assert.deepEqual(config, { port: 6000, host: 'file-host', engine: 'wasm', minScore: 0.25, verbose: true });
  } finally {
    rmSync(dir, { recursive: true });
  }
});

test('errors name the field, the source, the expected values and the received value', () => {
  expectConfigError(() => resolveConfig(SCHEMA, [envSource(SCHEMA, { PORT: 'eighty' })]), /environment \(PORT\): setting "port" must be an integer in \[0, 65535\], received "eighty"/);
  expectConfigError(() => resolveConfig(SCHEMA, [{ name: '--engine', values: { engine: 'gpu' } }]), /"engine" must be one of "wasm", "cpu", received "gpu"/);
  expectConfigError(() => resolveConfig(SCHEMA, [{ name: 'flags', values: { minScore: '1.5' } }]), /minScore.*\[0, 1\].*"1.5"/);
  expectConfigError(() => resolveConfig(SCHEMA, [{ name: 'flags', values: { prot: 1 } }]), /unknown setting "prot" \(known: port, host/);
  expectConfigError(() => resolveConfig(SCHEMA, [{ name: 'flags', values: { port: 3.5 } }]), /received 3.5/);
});

test('a config file that is not JSON or not an object is INVALID_CONFIG naming the file; a missing file is IO_ERROR', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cfg-'));
  try {
    writeFileSync(join(dir, 'bad.json'), '{ port: 1 ');
    expectConfigError(() => fileSource(join(dir, 'bad.json')), /bad\.json is not valid JSON/);
    writeFileSync(join(dir, 'arr.json'), '[1]');
    expectConfigError(() => fileSource(join(dir, 'arr.json')), /must hold a JSON object/);
    assert.throws(() => fileSource(join(dir, 'none.json')), (e: unknown) => e instanceof NasnetError && e.code === 'IO_ERROR');
  } finally {
    rmSync(dir, { recursive: true });
  }
});

test('describeSchema lists every field with its default and env variable', () => {
  const text = describeSchema(SCHEMA);
  assert.match(text, /port +TCP port \(default 3000\) \[env PORT\]/);
  assert.equal(text.split('\n').length, 5);
});

test('describeSchema aligns the docs after the longest label', () => {
  const lines = describeSchema(SCHEMA, (key) => `--${key}-flag`).split('\n');
  assert.ok(lines.every((line) => /^ {2}--\w+-flag +\S/.test(line)), lines.join('\n'));
  const starts = lines.map((line) => line.length - line.replace(/^ {2}--\w+-flag +/, '').length);
  assert.equal(new Set(starts).size, 1, `one doc column: ${starts.join(', ')}`);
});
