import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readKerasWeightsFile, writeKerasWeights, writeKerasWeightsFile } from '../../backbones/keras_h5.js';
import { buildNasnet } from '../../backbones/nasnet.js';
import { resolveNasnetConfig } from '../../backbones/config.js';
import { modelWeightsForKeras } from '../../backbones/keras_weights.js';
import { initEngine } from '../../core/engine.js';
import { main } from '../../src/cli/classify.js';
import { EXIT } from '../../core/errors.js';
import { packageRoot } from '../../core/paths.js';
import { runCli } from '../helpers/cli.js';
import { encodePng } from '../../core/image_io.js';

const fixture = (...parts: string[]) => join(packageRoot(), 'test', 'fixtures', ...parts);
let dir: string;
let notopH5: string;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'classify-cli-'));
  copyFileSync(fixture('image_io', 'photo_grace_hopper.jpg'), join(dir, 'photo.jpg'));
  writeFileSync(join(dir, 'broken.jpg'), readFileSync(fixture('image_io', 'photo_grace_hopper.jpg')).subarray(0, 300));
  notopH5 = fixture('keras-nasnet', 'mobile_notop_seed1.h5');
});

after(() => rmSync(dir, { recursive: true, force: true }));

test('prints one JSON entry per image; a broken image gets an error entry and exit code 4', async () => {
  // A top model whose classifier is the no-top file plus a zero Dense layer: every class scores 1/1000.
  const notop = await readKerasWeightsFile(notopH5);
  const zeros = [
    { name: 'predictions/kernel:0', shape: [1056, 1000], data: new Float32Array(1056 * 1000) },
    { name: 'predictions/bias:0', shape: [1000], data: new Float32Array(1000) },
  ];
  const h5 = join(dir, 'uniform.h5');
  writeFileSync(h5, await writeKerasWeights({ ...notop, layerNames: [...notop.layerNames, 'predictions'], layers: [...notop.layers, { name: 'predictions', weights: zeros }] }));
  const result = await runCli(main, join(dir, 'photo.jpg'), join(dir, 'broken.jpg'), '--weights', h5, '--top-k', '2', '--backend', 'wasm');
  assert.equal(result.code, EXIT.INVALID_INPUT, result.stderr);
  const entries = JSON.parse(result.stdout) as { image: string; predictions?: { classId: number; wnid: string; label: string; score: number }[]; error?: { code: string } }[];
  assert.equal(entries.length, 2);
  assert.equal(entries[0]!.image, join(dir, 'photo.jpg'));
  assert.deepEqual(entries[0]!.predictions!.map((p) => [p.classId, p.wnid, p.label]), [
    [0, 'n01440764', 'tench'],
    [1, 'n01443537', 'goldfish'],
  ]);
  for (const p of entries[0]!.predictions!) assert.ok(Math.abs(p.score - 0.001) < 1e-7);
  assert.equal(entries[1]!.error!.code, 'NOT_AN_IMAGE');
  assert.match(result.stderr, /broken\.jpg/);
});

test('bad command lines exit 2 with a message; --help documents the options', async () => {
  const none = await runCli(main);
  assert.equal(none.code, EXIT.USAGE);
  assert.match(none.stderr, /classify needs at least one IMAGE/);
  const badK = await runCli(main, 'x.jpg', '--top-k', 'zero');
  assert.equal(badK.code, EXIT.USAGE);
  assert.match(badK.stderr, /--top-k must be a positive integer; received "zero"/);
  const badFlag = await runCli(main, 'x.jpg', '--colour');
  assert.equal(badFlag.code, EXIT.USAGE);
  const help = await runCli(main, '--help');
  assert.equal(help.code, EXIT.OK);
  assert.match(help.stdout, /--weights PATH/);
});

test('unreadable weights exit 3', async () => {
  const result = await runCli(main, join(dir, 'photo.jpg'), '--weights', join(dir, 'none.h5'), '--backend', 'wasm');
  assert.equal(result.code, EXIT.IO);
  assert.match(result.stderr, /none\.h5/);
});

test('a 1x1 image is refused with IMAGE_TOO_SMALL and exit 4, not classified', async () => {
  const tiny = join(dir, 'tiny.png');
  writeFileSync(tiny, await encodePng({ data: new Uint8Array([200, 10, 10]), width: 1, height: 1 }));
  const result = await runCli(main, tiny, '--backend', 'wasm');
  assert.equal(result.code, EXIT.INVALID_INPUT, result.stderr);
  const entries = JSON.parse(result.stdout) as { error?: { code: string; message: string } }[];
  assert.equal(entries[0]!.error!.code, 'IMAGE_TOO_SMALL');
  assert.match(entries[0]!.error!.message, /image is 1x1; both sides must be at least 8 pixels/);
});

test('without --backbone the preset of a Keras .h5 is inferred from its weights (a CIFAR file here)', async () => {
  await initEngine({ backend: 'wasm' });
  const { model } = buildNasnet(resolveNasnetConfig({ preset: 'cifar', auxHead: false }));
  const h5 = join(dir, 'cifar.h5');
  await writeKerasWeightsFile(await modelWeightsForKeras(model), h5);
  model.dispose();
  const result = await runCli(main, join(dir, 'photo.jpg'), '--weights', h5, '--engine', 'tfjs', '--top-k', '3');
  assert.equal(result.code, EXIT.OK, result.stderr);
  const [entry] = JSON.parse(result.stdout) as { predictions: { classId: number }[] }[];
  assert.equal(entry!.predictions.length, 3);
  assert.ok(entry!.predictions.every((p) => p.classId >= 0 && p.classId < 10));
});
