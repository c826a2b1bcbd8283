// A published name resolves wherever weights are taken. The cache (a temp NASNET_HOME) holds the Keras
// fixture weights (seeded NASNet-A Mobile, test/fixtures/keras-nasnet) under the published names: they
// are added with a test registry whose MD5 is the fixture's, since the real files cannot be downloaded here.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { create as createTar } from 'tar';
import { readKerasWeightsFile, writeKerasWeights } from '../../backbones/keras_h5.js';
import { initEngine } from '../../core/engine.js';
import { NasnetError } from '../../core/errors.js';
import { packageRoot } from '../../core/paths.js';
import { loadClassifier } from '../../src/api/classifier.js';
import { main as classifyMain } from '../../src/cli/classify.js';
import { main as trainMain } from '../../src/cli/train.js';
import { main as serveMain } from '../../src/cli/serve.js';
import { main as detectMain } from '../../src/cli/detect.js';
import { main as convertMain } from '../../src/cli/convert.js';
import { main as weightsMain, weightsCommand } from '../../src/cli/weights.js';
import { buildApp } from '../../src/server/app.js';
import { chooseServedModels } from '../../src/server/published_models.js';
import { serverConfig } from '../../src/server/config.js';
import { addWeights } from '../../src/weights/cache.js';
import { PUBLISHED_WEIGHTS, weightsRegistry } from '../../src/weights/registry.js';
import { runCli } from '../helpers/cli.js';

const fixture = (...parts: string[]) => join(packageRoot(), 'test', 'fixtures', ...parts);
const expected = JSON.parse(readFileSync(fixture('classifier', 'photo_mobile_seed1.json'), 'utf8')) as { top5: { indices: number[] } };
let home: string;
let photo: string;
let savedHome: string | undefined;
let savedFetch: string | undefined;

/** mobile_seed1.h5 = the no-top fixture plus its `predictions` layer kept beside it as raw float32. */
async function writeTopH5(path: string): Promise<void> {
  const notop = await readKerasWeightsFile(fixture('keras-nasnet', 'mobile_notop_seed1.h5'));
  const meta = JSON.parse(readFileSync(fixture('keras-nasnet', 'mobile_seed1_predictions.json'), 'utf8')) as { tensors: { name: string; shape: number[]; offset: number }[] };
  const bytes = readFileSync(fixture('keras-nasnet', 'mobile_seed1_predictions.bin'));
  const weights = meta.tensors.map((t) => {
    const count = t.shape.reduce((a, b) => a * b, 1);
    return { name: t.name, shape: t.shape, data: new Float32Array(bytes.buffer.slice(bytes.byteOffset + t.offset, bytes.byteOffset + t.offset + count * 4)) };
  });
  writeFileSync(path, await writeKerasWeights({ ...notop, layerNames: [...notop.layerNames, 'predictions'], layers: [...notop.layers, { name: 'predictions', weights }] }));
}

/** The published entry of `name` with the fixture file's MD5 in place of the published one. */
function fixtureRegistry(name: string, file: string) {
  const md5 = createHash('md5').update(readFileSync(file)).digest('hex');
  return weightsRegistry(PUBLISHED_WEIGHTS.map((e) => (e.name === name ? { ...e, md5 } : e)));
}

before(async () => {
  await initEngine({ backend: 'wasm' });
  home = mkdtempSync(join(tmpdir(), 'nasnet-names-'));
  savedHome = process.env.NASNET_HOME;
  savedFetch = process.env.NASNET_FETCH;
  process.env.NASNET_HOME = home;
  delete process.env.NASNET_FETCH;
  photo = join(home, 'photo.jpg');
  copyFileSync(fixture('image_io', 'photo_grace_hopper.jpg'), photo);
  const top = join(home, 'mobile_seed1.h5');
  await writeTopH5(top);
  await addWeights('nasnet-mobile', top, { registry: fixtureRegistry('nasnet-mobile', top) });
  const notop = fixture('keras-nasnet', 'mobile_notop_seed1.h5');
  // Through the CLI verb: `add` with the registry a test injects.
  const added = await runCli((argv, io) => weightsCommand(argv, io, { registry: fixtureRegistry('nasnet-mobile-no-top', notop) }), 'add', 'nasnet-mobile-no-top', notop);
  assert.equal(added.code, 0, added.stderr);
  assert.equal(added.stdout.trim(), join(home, 'weights', 'nasnet-mobile-no-top', 'NASNet-mobile-no-top.h5'));
});

after(() => {
  if (savedHome === undefined) delete process.env.NASNET_HOME;
  else process.env.NASNET_HOME = savedHome;
  if (savedFetch !== undefined) process.env.NASNET_FETCH = savedFetch;
  rmSync(home, { recursive: true, force: true });
});

test("loadClassifier({ weights: 'nasnet-mobile' }) loads the cached file with the name's preset and gives Keras' top-5", async () => {
  const classifier = await loadClassifier({ weights: 'nasnet-mobile' });
  try {
    assert.equal(classifier.info.name, 'nasnet-mobile');
    assert.equal(classifier.info.numClasses, 1000);
    const { predictions } = await classifier.classify(new Uint8Array(readFileSync(photo)), { topK: 5 });
    assert.deepEqual(predictions.map((p) => p.classId), expected.top5.indices);
    assert.match(predictions[0]?.wnid ?? '', /^n\d{8}$/);
  } finally {
    classifier.dispose();
  }
});

test('nasnet classify --weights nasnet-mobile: the same top-5; an uncached name exits 6 with the fetch command; a no-top name exits 2', async () => {
  const ok = await runCli(classifyMain, photo, '--weights', 'nasnet-mobile');
  assert.equal(ok.code, 0, ok.stderr);
  const [entry] = JSON.parse(ok.stdout) as { predictions: { classId: number }[] }[];
  assert.deepEqual(entry?.predictions.map((p) => p.classId), expected.top5.indices);
  const missing = await runCli(classifyMain, photo, '--weights', 'nasnet-large');
  assert.equal(missing.code, 6);
  assert.match(missing.stderr, /^error: weights nasnet-large are not in the cache \(.*\); fetch them with: nasnet weights fetch nasnet-large/);
  const notop = await runCli(classifyMain, photo, '--weights', 'nasnet-mobile-no-top');
  assert.equal(notop.code, 2);
  assert.match(notop.stderr, /nasnet-mobile-no-top has no ImageNet classification head/);
});

test('nasnet weights path / list / verify see the cache at NASNET_HOME', async () => {
  const path = await runCli(weightsMain, 'path', 'nasnet-mobile');
  assert.equal(path.stdout.trim(), join(home, 'weights', 'nasnet-mobile', 'NASNet-mobile.h5'));
  const absent = await runCli(weightsMain, 'path', 'frcnn-nas-coco');
  assert.equal(absent.code, 6);
  const list = await runCli(weightsMain, 'list', '--json');
  const listed = JSON.parse(list.stdout) as { name: string; cached: boolean }[];
  assert.deepEqual(listed.filter((l) => l.cached).map((l) => l.name), ['nasnet-mobile', 'nasnet-mobile-no-top']);
  assert.equal(listed.length, 6);
  // Against the published MD5, the seeded fixture is not the real file: verify says so (exit 4).
  const verify = await runCli(weightsMain, 'verify', 'nasnet-mobile');
  assert.equal(verify.code, 4);
  assert.match(verify.stdout, /^FAILED nasnet-mobile\n {4}NASNet-mobile\.h5: MD5 [0-9a-f]{32}, published 020fb642bf7360b370c678b08e0adf61\n/);
});

test('nasnet train --backbone-weights NAME: resolved before the data is read (uncached: exit 6; cached: goes on to the data)', async () => {
  const missing = await runCli(trainMain, '--task', 'detection', '--data', join(home, 'no-data'), '--out', join(home, 'ckpt'), '--backbone-weights', 'nasnet-large-no-top');
  assert.equal(missing.code, 6, missing.stderr);
  assert.match(missing.stderr, /nasnet weights fetch nasnet-large-no-top/);
  const cached = await runCli(trainMain, '--task', 'detection', '--data', join(home, 'no-data'), '--out', join(home, 'ckpt'), '--backbone-weights', 'nasnet-mobile-no-top');
  assert.equal(cached.code, 3, cached.stderr);
  assert.match(cached.stderr, /no-data/);
});

test('serve: a cached published classifier replaces the demo default; --classifier nasnet-large uncached fails before listening (exit 6)', async () => {
  const base = serverConfig({ workers: 1 });
  const chosen = await chooseServedModels(base);
  assert.deepEqual(chosen.classifier, { kind: 'nasnet-mobile', weights: join(home, 'weights', 'nasnet-mobile', 'NASNet-mobile.h5') });
  assert.deepEqual(chosen.detector, base.detector);
  const empty = mkdtempSync(join(tmpdir(), 'nasnet-empty-'));
  try {
    assert.equal(await chooseServedModels(base, { home: empty }), base, 'no cache: the demo default stays');
  } finally {
    rmSync(empty, { recursive: true, force: true });
  }
  await assert.rejects(serveMain(['--classifier', 'nasnet-large', '--port', '0', '--workers', '1']), (error: unknown) => {
    assert.ok(error instanceof NasnetError);
    assert.equal(error.exitCode, 6);
    assert.match(error.message, /nasnet weights fetch nasnet-large/);
    return true;
  });
});

test('the service with classifier kind nasnet-mobile: /models says it is not a demo, /classify answers ImageNet classes', async (t) => {
  const config = serverConfig({ workers: 1, tasksPerWorker: 1, engine: 'wasm', classifier: { kind: 'nasnet-mobile' }, detector: { kind: 'placeholder-tiny' } });
  const app = await buildApp({ config });
  t.after(() => app.close());
  await app.inference.ready;
  const models = (await app.inject({ method: 'GET', url: '/models' })).json() as Record<string, Record<string, unknown>> & { demo: boolean };
  assert.equal(models.classifier?.kind, 'nasnet-mobile');
  assert.equal(models.classifier?.demo, false);
  assert.equal(models.classifier?.trainedOn, undefined);
  assert.equal(models.detector?.demo, true, 'the placeholder detector is still a demo');
  assert.equal(models.demo, true);
  const response = await app.inject({ method: 'POST', url: '/classify?topK=5', headers: { 'content-type': 'image/jpeg' }, payload: readFileSync(photo) });
  assert.equal(response.statusCode, 200, response.body);
  const body = response.json() as { model: string; predictions: { classId: number; wnid: string }[] };
  assert.equal(body.model, 'nasnet-mobile');
  assert.deepEqual(body.predictions.map((p) => p.classId), expected.top5.indices);
});

test('frcnn-nas-coco by name: the cached zoo-style tarball detects like its directory, and verify checks its crc32c', async () => {
  const replica = fixture('odapi-frcnn-nas');
  const image = photo;
  // A tarball laid out like the zoo's: one top folder holding pipeline.config and model.ckpt.*.
  const stage = join(home, 'tar-stage', 'faster_rcnn_nas_coco_2018_01_28');
  mkdirSync(stage, { recursive: true });
  for (const f of ['pipeline.config', 'model.ckpt.index', 'model.ckpt.data-00000-of-00001', 'checkpoint']) copyFileSync(join(replica, f), join(stage, f));
  const tarball = join(home, 'faster_rcnn_nas_coco_2018_01_28.tar.gz');
  await createTar({ gzip: true, file: tarball, cwd: join(home, 'tar-stage') }, ['faster_rcnn_nas_coco_2018_01_28']);

  assert.equal((await runCli(detectMain, image, '--weights', 'frcnn-nas-coco')).code, 6, 'not cached yet: exit 6 with the fetch command');
  const { path } = await addWeights('frcnn-nas-coco', tarball);
  const byName = await runCli(detectMain, image, '--weights', 'frcnn-nas-coco', '--min-score', '0.05');
  const byDir = await runCli(detectMain, image, '--weights', replica, '--min-score', '0.05');
  assert.equal(byName.code, 0, byName.stderr);
  const detections = (out: string) => (JSON.parse(out) as { detections: unknown[] }[])[0]!.detections;
  assert.ok(detections(byName.stdout).length > 0);
  assert.deepEqual(detections(byName.stdout), detections(byDir.stdout));

  const verify = await runCli(weightsMain, 'verify', 'frcnn-nas-coco');
  assert.equal(verify.code, 0, verify.stdout + verify.stderr);
  assert.match(verify.stdout, /tf-checkpoint-crc32c: ok/);
  const data = join(path, 'model.ckpt.data-00000-of-00001');
  const bytes = readFileSync(data);
  bytes[1000] ^= 0xff;
  writeFileSync(data, bytes);
  // The recorded per-file SHA-256 catches it first (the crc32c reader's own refusal: test/core/tf_checkpoint).
  const corrupt = await runCli(weightsMain, 'verify', 'frcnn-nas-coco');
  assert.equal(corrupt.code, 4, corrupt.stdout + corrupt.stderr);
  assert.match(corrupt.stdout + corrupt.stderr, /model\.ckpt\.data-00000-of-00001/);
});

test('nasnet convert nasnet-mobile-no-top OUT: the cached .h5 with its preset, no --backbone needed', async () => {
  const out = join(home, 'converted');
  const result = await runCli(convertMain, 'nasnet-mobile-no-top', out);
  assert.equal(result.code, 0, result.stderr);
  // convert writes the classifier artifact (backbones/classifier_artifact.ts): the backbone config inside.
  const manifest = JSON.parse(readFileSync(join(out, 'model.json'), 'utf8')) as { config: { backbone: { numCells: number; penultimateFilters: number; includeTop: boolean } } };
  const { backbone } = manifest.config;
  assert.deepEqual([backbone.numCells, backbone.penultimateFilters, backbone.includeTop], [4, 1056, false]);
  assert.equal((await runCli(convertMain, 'nasnet-large-no-top', join(home, 'x'))).code, 6);
});
