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

test('model tuning: classifierEngine, calibrate, calibrationImages, detectorProposals and detectorRoiSamplingRatio from flags, env and file', () => {
  assert.equal(DEFAULT_SERVER_CONFIG.classifierEngine, 'onnx');
  assert.equal(DEFAULT_SERVER_CONFIG.calibrate, undefined);
  assert.equal(DEFAULT_SERVER_CONFIG.calibrationImages, 300);
  assert.equal(DEFAULT_SERVER_CONFIG.detectorProposals, undefined); // the checkpoint's
  assert.equal(DEFAULT_SERVER_CONFIG.detectorRoiSamplingRatio, undefined);
  const file = configFile({ classifierEngine: 'onnx-int8', calibrate: '/data/calib', calibrationImages: 50, detectorProposals: 100, detectorRoiSamplingRatio: 2 });
  const fromFile = resolveServerConfig({}, {}, file);
  assert.deepEqual(
    [fromFile.classifierEngine, fromFile.calibrate, fromFile.calibrationImages, fromFile.detectorProposals, fromFile.detectorRoiSamplingRatio],
    ['onnx-int8', '/data/calib', 50, 100, 2],
  );
  const env = { NASNET_CALIBRATE: '/env/calib', NASNET_CALIBRATION_IMAGES: '8', NASNET_DETECTOR_PROPOSALS: '1', NASNET_DETECTOR_ROI_SAMPLING_RATIO: '1' };
  const fromEnv = resolveServerConfig({}, { NASNET_CLASSIFIER_ENGINE: 'onnx-int8', ...env }, file);
  assert.deepEqual([fromEnv.calibrate, fromEnv.calibrationImages, fromEnv.detectorProposals, fromEnv.detectorRoiSamplingRatio], ['/env/calib', 8, 1, 1]);
  // flags win, and their values arrive as strings
  const fromFlags = resolveServerConfig({ classifierEngine: 'onnx', calibrate: 'flag-calib', detectorProposals: '50', detectorRoiSamplingRatio: '3' }, env, file);
  assert.deepEqual([fromFlags.classifierEngine, fromFlags.calibrate, fromFlags.detectorProposals, fromFlags.detectorRoiSamplingRatio], ['onnx', 'flag-calib', 50, 3]);
});

test('model tuning: bad values name the setting; onnx-int8 without calibrate is a config error (exit 5)', () => {
  rejectsConfig(() => resolveServerConfig({ classifierEngine: 'int8' }), /command line: setting "classifierEngine" must be one of "onnx", "onnx-int8", received "int8"/);
  rejectsConfig(() => resolveServerConfig({}, { NASNET_CLASSIFIER_ENGINE: 'tfjs' }), /environment \(NASNET_CLASSIFIER_ENGINE\): setting "classifierEngine"/);
  // the boundary: 1 is the smallest valid value, 0 is refused
  rejectsConfig(() => resolveServerConfig({ detectorProposals: '0' }), /setting "detectorProposals" must be an integer in \[1, 100000\], received "0"/);
  rejectsConfig(() => resolveServerConfig({}, { NASNET_DETECTOR_ROI_SAMPLING_RATIO: '1.5' }), /NASNET_DETECTOR_ROI_SAMPLING_RATIO\): setting "detectorRoiSamplingRatio" must be an integer in \[1, 64\]/);
  rejectsConfig(() => resolveServerConfig({}, {}, configFile({ detectorProposals: 'many' })), /config file .*setting "detectorProposals"/);
  rejectsConfig(() => resolveServerConfig({}, {}, configFile({ calibrate: '' })), /setting "calibrate" must be a non-empty string/);
  rejectsConfig(() => resolveServerConfig({ calibrationImages: '0' }), /setting "calibrationImages" must be an integer in \[1, 100000\]/);
  const missing = (): unknown => resolveServerConfig({ classifierEngine: 'onnx-int8' });
  rejectsConfig(missing, /setting "calibrate" is required when "classifierEngine" is "onnx-int8"/);
  assert.throws(missing, (error: unknown) => error instanceof NasnetError && error.exitCode === 5 && error.details?.field === 'calibrate');
  rejectsConfig(() => serverConfig({ classifierEngine: 'onnx-int8' }), /"calibrate" is required/);
  assert.equal(serverConfig({ classifierEngine: 'onnx-int8', calibrate: 'dir' }).calibrate, 'dir');
});
