// The Faster R-CNN split: stage 1 up to the cell pair feeding the RPN, stage 2 = the remaining cells.
// Run on uncropped maps, stage 2 after stage 1 must be the whole backbone (checked against Keras' final map).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { initEngine } from '../../core/engine.js';
import { NasnetError } from '../../core/errors.js';
import { splitForDetection } from '../../backbones/detection_split.js';
import { modelWeightSpecs, loadKerasWeightsIntoModel } from '../../backbones/keras_weights.js';
import { fixtureInputs, mobileSeed1WithTop, readFloat32, readJson, type TrimmedManifest } from './keras_fixture.js';

describe('splitForDetection', () => {
  test('Mobile at 224: stage 2 (crop = the whole 14x14 map) after stage 1 reproduces the Keras final map', async () => {
    await initEngine({ backend: 'wasm' });
    const split = splitForDetection({ preset: 'mobile' }, { imageSize: 224, cropSize: 14 });
    assert.deepEqual(split.rpnCells, ['7', '8']);
    assert.deepEqual(split.stage1Cells, ['stem_1', 'stem_2', '0', '1', '2', '3', 'reduce_4', '5', '6', '7', '8']);
    assert.deepEqual(split.stage2Cells, ['reduce_8', '9', '10', '11', '12']);
    assert.deepEqual(split.channels, [528, 528]);
    assert.equal(split.featureStride, 16);
    assert.deepEqual(split.stage1.outputs.map((o) => o.shape), [[null, 14, 14, 528], [null, 14, 14, 528], [null, 14, 14, 1056]]);

    // Together the stages hold exactly the no-top backbone's weights, each once.
    const names = [...modelWeightSpecs(split.stage1), ...modelWeightSpecs(split.stage2)].map((w) => `${w.name}:0`);
    const notop = readJson<TrimmedManifest>('mobile_notop_manifest_trim.json').weights.map((w) => w[0]);
    assert.deepEqual([...names].sort(), [...notop].sort());

    assert.equal(loadKerasWeightsIntoModel([split.stage1, split.stage2], await mobileSeed1WithTop(), { strict: false }), 1124);
    const x = fixtureInputs();
    const [previous, hidden, rpn] = split.stage1.predict(x) as tf.Tensor[];
    const y = split.stage2.predict([previous!, hidden!]) as tf.Tensor;
    const expected = readFloat32('mobile_notop_seed1_final.bin');
    const got = y.dataSync();
    let diff = 0;
    for (let i = 0; i < expected.length; i++) diff = Math.max(diff, Math.abs(got[i]! - expected[i]!));
    assert.ok(diff < 1e-4, `max diff ${diff}`);
    tf.dispose([x, previous!, hidden!, rpn!, y]);
  });

  test('Large layout (F shrunk for speed): RPN on cells 11 and 12 at stride 16, stage 2 = reduce_12 and 13..18', async () => {
    await initEngine({ backend: 'wasm' });
    const split = splitForDetection({ preset: 'large', penultimateFilters: 96 }, { imageSize: 331, cropSize: 17 });
    assert.deepEqual(split.rpnCells, ['11', '12']);
    assert.deepEqual(split.stage2Cells, ['reduce_12', '13', '14', '15', '16', '17', '18']);
    assert.deepEqual(split.channels, [48, 48]); // 6 x 2F with F = 4
    assert.deepEqual(split.stage1.outputs[2]!.shape, [null, 21, 21, 96]); // 331 -> 165 -> 83 -> 42 -> 21
    assert.deepEqual(split.stage2.outputs[0]!.shape, [null, 9, 9, 96]); // crop 17 -> 9
  });

  test('a bad crop size names the field', () => {
    assert.throws(() => splitForDetection({ preset: 'mobile' }, { imageSize: 224, cropSize: 0 }), (e: unknown) => e instanceof NasnetError && /cropSize must be a positive integer/.test(e.message));
  });
});
