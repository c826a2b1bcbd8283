// What `nasnet convert` writes, the other verbs read: a Keras NASNetMobile .h5 converted without
// --backbone (the preset is inferred) classifies like the .h5 itself, exports to ONNX and loads through
// the service's model registry; a no-top conversion is backbone weights for `train --backbone-weights`.
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { main as convert } from '../../src/cli/convert.js';
import { main as classify } from '../../src/cli/classify.js';
import { main as exportVerb } from '../../src/cli/export.js';
import { main as train } from '../../src/cli/train.js';
import { loadClassifier } from '../../src/models/builtin.js';
import { initEngine } from '../../core/engine.js';
import { EXIT } from '../../core/errors.js';
import { encodePng } from '../../core/image_io.js';
import { buildNasnet } from '../../backbones/nasnet.js';
import { resolveNasnetConfig } from '../../backbones/config.js';
import { modelWeightsForKeras } from '../../backbones/keras_weights.js';
import { writeKerasWeightsFile } from '../../backbones/keras_h5.js';
import { generateShapesDataset, shapesConfigForSize, renderShapesImage, resolveShapesConfig } from '../../data/shapes.js';
import { tempDir } from '../data/temp.js';
import { runCli } from '../helpers/cli.js';
import { mobileSeed1WithTop } from '../backbones/keras_fixture.js';
import { TINY_DETECTOR } from '../detection/tiny_detector.js';

const root = tempDir('convert-usable');
const h5 = join(root, 'mobile.h5');
const ckpt = join(root, 'mobile-ckpt');
const photo = join(root, 'photo.png');

before(async () => {
  await initEngine({ backend: 'wasm' });
  await writeKerasWeightsFile(await mobileSeed1WithTop(), h5);
  writeFileSync(photo, await encodePng(renderShapesImage(5, resolveShapesConfig({ width: 160, height: 120, maxObjectSize: 100 })).image));
});

describe('a converted Keras classifier', () => {
  test('convert without --backbone infers Mobile; classify reads the checkpoint as it reads the .h5', async () => {
    const converted = await runCli(convert, h5, ckpt);
    assert.equal(converted.code, EXIT.OK, converted.stderr);
    assert.match(converted.stdout, /1126 tensors, includeTop true, backbone mobile \(inferred\)/);
    const fromH5 = await runCli(classify, photo, '--weights', h5, '--engine', 'tfjs');
    const fromCkpt = await runCli(classify, photo, '--weights', ckpt, '--engine', 'tfjs');
    assert.equal(fromCkpt.code, EXIT.OK, fromCkpt.stderr);
    type Out = { predictions: { classId: number; wnid: string; score: number }[] }[];
    const [a, b] = [(JSON.parse(fromH5.stdout) as Out)[0]!.predictions, (JSON.parse(fromCkpt.stdout) as Out)[0]!.predictions];
    assert.deepEqual(b.map((p) => [p.classId, p.wnid]), a.map((p) => [p.classId, p.wnid]));
    b.forEach((p, i) => assert.ok(Math.abs(p.score - a[i]!.score) < 1e-6, `${p.score} vs ${a[i]!.score}`));
  });

  test('export and the service loader accept it', async () => {
    const out = join(root, 'mobile.onnx');
    const exported = await runCli(exportVerb, '--format', 'onnx', '--out', out, '--weights', ckpt);
    assert.equal(exported.code, EXIT.OK, exported.stderr);
    assert.ok(existsSync(out));
    // what `serve --classifier default:<ckpt>` calls
    const classifier = await loadClassifier({ kind: 'default', weights: ckpt }, { modelsDir: root, maxPixels: 1e7, engine: 'wasm' });
    assert.equal(classifier.info.numClasses, 1000);
    classifier.dispose();
  });
});

describe('a converted no-top backbone', () => {
  test('train --backbone-weights loads it as it loads the .h5; classify refuses it in one line', async () => {
    const backbone = resolveNasnetConfig({ ...TINY_DETECTOR.backbone, includeTop: false });
    const { model } = buildNasnet(backbone);
    const notop = join(root, 'tiny-notop.h5');
    await writeKerasWeightsFile(await modelWeightsForKeras(model), notop);
    model.dispose();
    writeFileSync(join(root, 'tiny-backbone.json'), JSON.stringify({ ...TINY_DETECTOR.backbone, includeTop: false }));
    const notopCkpt = join(root, 'tiny-notop-ckpt');
    const converted = await runCli(convert, notop, notopCkpt, '--config', join(root, 'tiny-backbone.json'));
    assert.equal(converted.code, EXIT.OK, converted.stderr);

    const data = join(root, 'data');
    await generateShapesDataset({ outDir: data, train: 2, val: 1, seed: 4, config: shapesConfigForSize(64, { maxObjects: 2, minObjectSize: 16, maxObjectSize: 40 }) });
    const { classNames: _n, categoryIds: _i, numClasses: _k, ...detector } = TINY_DETECTOR;
    writeFileSync(join(root, 'tiny.json'), JSON.stringify(detector));
    const loaded = async (weights: string, out: string): Promise<string> => {
      const r = await runCli(train, '--task', 'detection', '--data', data, '--out', join(root, out), '--config', join(root, 'tiny.json'),
        '--epochs', '1', '--batch-size', '2', '--precise-bn', '0', '--val-limit', '1', '--backbone-weights', weights, '--backend', 'wasm');
      assert.equal(r.code, EXIT.OK, r.stderr);
      return /loaded (\d+) backbone tensors/.exec(r.stderr)![1]!;
    };
    const fromH5 = await loaded(notop, 'det-h5');
    assert.ok(Number(fromH5) > 50, fromH5);
    assert.equal(await loaded(notopCkpt, 'det-ckpt'), fromH5);

    const refused = await runCli(classify, photo, '--weights', notopCkpt, '--engine', 'tfjs');
    assert.equal(refused.code, EXIT.INVALID_INPUT);
    assert.match(refused.stderr, /^error: loadClassifier: .*tiny-notop-ckpt is a backbone without the classification top .*\n$/);
  });
});
