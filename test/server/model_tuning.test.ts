// The service's model tuning settings through the pool: a worker loads the classifier in int8 (calibrated on
// a folder, cached under NASNET_HOME/int8) and the detector with the configured proposals and ROI sampling;
// GET /models shows what is in effect; models that cannot honour a setting refuse it by name.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile, mkdir } from 'node:fs/promises';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { initEngine } from '../../core/engine.js';
import { NasnetError } from '../../core/errors.js';
import { loadClassifier } from '../../src/api/classifier.js';
import { defaultClassifierPath } from '../../src/api/defaults.js';
import { INT8_CACHE_DIR_NAME } from '../../src/api/int8_cache.js';
import { loadDetector, resolveModelKind } from '../../src/models/builtin.js';
import { generateSyntheticClasses } from '../../data/synthetic_classes.js';
import { ODAPI_DIR } from '../detection/odapi/reference.js';
import { imagePart, multipart, readyApp, TEST_ENGINE, PLACEHOLDER } from './helpers.js';

const root = mkdtempSync(join(tmpdir(), 'nasnet-tuning-'));
const home = join(root, 'home');
const calibrate = join(root, 'synthetic', 'train');
const savedHome = process.env.NASNET_HOME;

before(async () => {
  await initEngine({ backend: TEST_ENGINE });
  await generateSyntheticClasses({ outDir: join(root, 'synthetic'), trainPerClass: 1, valPerClass: 0, seed: 11, size: 32 });
  // the workers inherit the environment: their int8 cache lands in this test's home
  process.env.NASNET_HOME = home;
});

after(() => {
  if (savedHome === undefined) delete process.env.NASNET_HOME;
  else process.env.NASNET_HOME = savedHome;
  rmSync(root, { recursive: true, force: true });
});

describe('a server with classifierEngine onnx-int8, detectorProposals and detectorRoiSamplingRatio', () => {
  let app: FastifyInstance;

  before(async () => {
    app = await readyApp({
      classifier: { kind: 'default' },
      detector: { kind: 'default' },
      classifierEngine: 'onnx-int8',
      calibrate,
      calibrationImages: 4,
      detectorProposals: 7,
      detectorRoiSamplingRatio: 1,
    });
  });

  after(async () => app.close());

  test('GET /models shows the int8 engine, its calibration count, and the proposals and sampling in effect', async () => {
    const response = await app.inject({ method: 'GET', url: '/models' });
    assert.equal(response.statusCode, 200);
    const body = response.json() as { classifier: Record<string, unknown>; detector: Record<string, unknown> };
    assert.equal(body.classifier.kind, resolveModelKind('classification', 'default'));
    assert.equal(body.classifier.engine, 'onnxruntime-node-int8');
    assert.equal(body.classifier.calibrationImages, 4);
    assert.equal(body.detector.proposals, 7);
    assert.equal(body.detector.roiSamplingRatio, 1);
  });

  test('POST /classify answers what the int8 graph the worker cached computes (read back here without calibrating)', async () => {
    const circles = join(calibrate, 'circle');
    const image = readFileSync(join(circles, readdirSync(circles)[0]!));
    const { payload, headers } = multipart([imagePart(image)]);
    const response = await app.inject({ method: 'POST', url: '/classify', payload, headers });
    assert.equal(response.statusCode, 200, response.body);
    const served = (response.json() as { predictions: { classId: number; label: string; score: number }[] }).predictions;
    assert.equal(served.length, 5);

    const entries = readdirSync(join(home, INT8_CACHE_DIR_NAME));
    assert.equal(entries.length, 1, entries.join(', '));
    assert.match(entries[0]!, /^[0-9a-f]{64}\.onnx$/);
    const messages: string[] = [];
    const logger = pino({ level: 'info' }, new Writable({
      write(chunk: Buffer, _encoding, done) {
        for (const line of chunk.toString().split('\n').filter(Boolean)) messages.push((JSON.parse(line) as { msg: string }).msg);
        done();
      },
    }));
    const local = await loadClassifier({ weights: defaultClassifierPath(), engine: 'onnx-int8', calibrate, calibrationImages: 4, int8Cache: join(home, INT8_CACHE_DIR_NAME), logger });
    try {
      assert.deepEqual(messages.filter((m) => m === 'int8 cache: calibrating'), [], 'the worker wrote the cache this load reads');
      const expected = (await local.classify(new Uint8Array(image))).predictions;
      assert.deepEqual(served.map((p) => [p.classId, p.label]), expected.map((p) => [p.classId, p.label]));
      served.forEach((p, i) => assert.ok(Math.abs(p.score - expected[i]!.score) < 1e-6, `score ${i}: ${p.score} vs ${expected[i]!.score}`));
    } finally {
      local.dispose();
    }
  });
});

test('placeholder-tiny refuses the int8 engine and detector proposals by the setting\'s name; the pool does not start', async () => {
  const cases: [Parameters<typeof readyApp>[0], string][] = [
    [{ classifier: PLACEHOLDER, classifierEngine: 'onnx-int8', calibrate }, 'classifierEngine'],
    [{ detectorProposals: 5 }, 'detectorProposals'],
    [{ detectorRoiSamplingRatio: 1 }, 'detectorRoiSamplingRatio'],
  ];
  for (const [overrides, field] of cases) {
    await assert.rejects(readyApp(overrides), (error: unknown) => error instanceof NasnetError && error.code === 'INVALID_CONFIG' && error.message.includes(`"${field}"`), field);
  }
});

test('an OD API detector takes proposals but refuses roiSamplingRatio (crop_and_resize has none), as a config error of the service', async () => {
  const dir = join(root, 'odapi');
  await mkdir(dir, { recursive: true });
  for (const f of ['pipeline.config', 'checkpoint', 'model.ckpt.index', 'model.ckpt.data-00000-of-00001']) await copyFile(join(ODAPI_DIR, f), join(dir, f));
  const context = { modelsDir: root, maxPixels: 4_000_000, engine: TEST_ENGINE };
  await assert.rejects(
    loadDetector({ kind: dir }, { ...context, roiSamplingRatio: 2 }),
    (error: unknown) => error instanceof NasnetError && error.code === 'INVALID_CONFIG' && error.details?.field === 'detectorRoiSamplingRatio' && /crop_and_resize/.test(error.message),
  );
  const detector = await loadDetector({ kind: dir }, { ...context, proposals: 5 });
  try {
    assert.equal(detector.info.proposals, 5);
  } finally {
    detector.dispose();
  }
});
