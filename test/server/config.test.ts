// Service config: defaults, precedence (default < file < env < flags), model specs, and errors that
// name the field and the source.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NasnetError } from '../../core/errors.js';
import { DEFAULT_SERVER_CONFIG, resolveServerConfig, serverConfig } from '../../src/server/config.js';

function configFile(values: unknown): string {
  const path = join(mkdtempSync(join(tmpdir(), 'nasnet-config-')), 'serve.json');
  writeFileSync(path, JSON.stringify(values));
  return path;
}

function rejectsConfig(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (error: unknown) => error instanceof NasnetError && error.code === 'INVALID_CONFIG' && pattern.test(error.message));
}

test('defaults: port 3000 on 127.0.0.1, default models, 10 MiB bodies, 40 MP images', () => {
  assert.equal(DEFAULT_SERVER_CONFIG.port, 3000);
  assert.equal(DEFAULT_SERVER_CONFIG.host, '127.0.0.1');
  assert.deepEqual(DEFAULT_SERVER_CONFIG.classifier, { kind: 'default' });
  assert.deepEqual(DEFAULT_SERVER_CONFIG.detector, { kind: 'default' });
  assert.equal(DEFAULT_SERVER_CONFIG.maxBodyBytes, 10 * 1024 * 1024);
  assert.equal(DEFAULT_SERVER_CONFIG.maxPixels, 40_000_000);
  assert.ok(DEFAULT_SERVER_CONFIG.workers >= 1);
  assert.equal(DEFAULT_SERVER_CONFIG.engine, 'auto');
});

test('precedence: flags over env over file over defaults', () => {
  const file = configFile({ port: 4000, host: '0.0.0.0', workers: 3 });
  const config = resolveServerConfig({ port: '5000' }, { PORT: '4500', NASNET_WORKERS: '2' }, file);
  assert.equal(config.port, 5000);
  assert.equal(config.workers, 2);
  assert.equal(config.host, '0.0.0.0');
  assert.equal(resolveServerConfig({}, { PORT: '4500' }, file).port, 4500);
  assert.equal(resolveServerConfig({}, {}, file).port, 4000);
});

test('models: "kind", "kind:weights" and {kind, weights}', () => {
  const file = configFile({ classifier: { kind: 'nasnet-mobile', weights: 'nasnet_mobile.h5' } });
  const config = resolveServerConfig({ detector: 'faster-rcnn:frcnn.ckpt' }, {}, file);
  assert.deepEqual(config.classifier, { kind: 'nasnet-mobile', weights: 'nasnet_mobile.h5' });
  assert.deepEqual(config.detector, { kind: 'faster-rcnn', weights: 'frcnn.ckpt' });
  assert.deepEqual(resolveServerConfig({}, { NASNET_DETECTOR: 'placeholder-tiny' }).detector, { kind: 'placeholder-tiny' });
  rejectsConfig(() => resolveServerConfig({ classifier: 'kind:' }), /command line: setting "classifier" must be a model kind/);
  rejectsConfig(() => resolveServerConfig({}, {}, configFile({ detector: { kind: 'x', extra: 1 } })), /config file .*"detector"/);
});

test('invalid values name the field, the source and the valid values', () => {
  rejectsConfig(() => resolveServerConfig({}, { PORT: 'eighty' }), /environment \(PORT\): setting "port" must be an integer in \[0, 65535\], received "eighty"/);
  rejectsConfig(() => resolveServerConfig({ engine: 'gpu' }), /setting "engine" must be one of "auto", "tensorflow", "wasm", "cpu"/);
  rejectsConfig(() => resolveServerConfig({ workers: '0' }), /"workers" must be an integer in \[1, 64\]/);
  rejectsConfig(() => resolveServerConfig({}, {}, configFile({ prot: 1 })), /unknown setting "prot"/);
  rejectsConfig(() => serverConfig({ maxPixels: 0 }), /"maxPixels"/);
});
