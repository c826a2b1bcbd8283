// `nasnet convert` in-process: both directions on the Keras NASNetMobile no-top file, and the failures a
// user meets (exit codes from core/errors.ts EXIT, one clear stderr line).
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { main } from '../../src/cli/convert.js';
import { runCli } from '../helpers/cli.js';
import { initEngine } from '../../core/engine.js';
import { EXIT } from '../../core/errors.js';
import { packageRoot } from '../../core/paths.js';
import { loadCheckpoint, saveCheckpoint } from '../../core/checkpoint.js';
import { readKerasWeightsFile } from '../../backbones/keras_h5.js';
import { DEFAULT_KERAS_ATTRS, kerasFileToNamedWeights, type NamedWeight } from '../../backbones/keras_convert.js';

const NASNET_H5 = join(packageRoot(), 'test', 'fixtures', 'keras-nasnet', 'mobile_notop_seed1.h5');
const SCRATCH = await mkdtemp(join(tmpdir(), 'convert_test-'));
after(() => rm(SCRATCH, { recursive: true, force: true }));

const run = (...argv: string[]) => runCli(main, ...argv);

function assertSameWeights(actual: readonly NamedWeight[], expected: readonly NamedWeight[]): void {
  assert.deepEqual(actual.map((w) => [w.name, w.shape]), expected.map((w) => [w.name, w.shape]));
  actual.forEach((w, i) => assert.ok(Buffer.from(w.data.buffer, w.data.byteOffset, w.data.byteLength)
    .equals(Buffer.from(expected[i].data.buffer, expected[i].data.byteOffset, expected[i].data.byteLength)), w.name));
}

describe('nasnet convert: round trips', async () => {
  const original = await readKerasWeightsFile(NASNET_H5);
  const originalNamed = kerasFileToNamedWeights(original);
  const checkpoint = join(SCRATCH, 'ckpt');

  test('.h5 -> checkpoint -> .h5 is lossless, and leaves no tensor behind', async () => {
    await initEngine({ backend: 'cpu' });
    const tensorsBefore = tf.memory().numTensors;
    const toCheckpoint = await run(NASNET_H5, checkpoint, '--backbone', 'mobile');
    assert.equal(toCheckpoint.code, EXIT.OK, toCheckpoint.stderr);
    assert.match(toCheckpoint.stdout, /wrote checkpoint .*ckpt from .*mobile_notop_seed1\.h5: 1124 tensors, includeTop false\n$/);
    const model = JSON.parse(await readFile(join(checkpoint, 'model.json'), 'utf8')) as { config: { format: string; backbone: { numCells: number; includeTop: boolean } } };
    assert.equal(model.config.format, 'nasnet-ts/classifier@1');
    assert.equal(model.config.backbone.numCells, 4);
    assert.equal(model.config.backbone.includeTop, false); // follows the file: no 'predictions' layer

    const back = join(SCRATCH, 'back.h5');
    const toKeras = await run(checkpoint, back);
    assert.equal(toKeras.code, EXIT.OK, toKeras.stderr);
    assert.match(toKeras.stdout, /1124 tensors in 769 layers/);
    const reread = await readKerasWeightsFile(back);
    assert.deepEqual(reread.layerNames, original.layerNames);
    assert.deepEqual(reread.attrs, original.attrs);
    assertSameWeights(kerasFileToNamedWeights(reread), originalNamed);
    assert.equal(tf.memory().numTensors, tensorsBefore);
  });

  test('a checkpoint made here (no Keras provenance) goes to Keras layer order with default attrs', async () => {
    const loaded = await loadCheckpoint(checkpoint);
    const own = join(SCRATCH, 'own');
    try {
      await saveCheckpoint(own, { config: loaded.config, weights: loaded.weights });
    } finally {
      loaded.weights.forEach((t) => t.dispose());
    }
    assert.equal(tf.memory().numTensors, 0);
    const out = join(SCRATCH, 'own.h5');
    const result = await run(own, out);
    assert.equal(result.code, EXIT.OK, result.stderr);
    const file = await readKerasWeightsFile(out);
    assert.deepEqual(file.layerNames, original.layerNames); // the model's Keras order equals Keras' own
    assert.deepEqual(file.attrs, DEFAULT_KERAS_ATTRS);
    assertSameWeights(kerasFileToNamedWeights(file), originalNamed);
  });
});

describe('nasnet convert: failures', () => {
  test('--help prints the usage', async () => {
    const result = await run('--help');
    assert.equal(result.code, EXIT.OK);
    assert.match(result.stdout, /^Usage: nasnet convert IN OUT \[--config FILE\.json \| --backbone mobile\|large\|cifar\] \[--no-strict\]/);
  });

  test('a missing input file is an I/O error', async () => {
    const result = await run(join(SCRATCH, 'nope.h5'), join(SCRATCH, 'x'), '--backbone', 'mobile');
    assert.equal(result.code, EXIT.IO);
    assert.match(result.stderr, /^error: nasnet convert: .*nope\.h5 does not exist\n$/);
  });

  test('an input that is neither .h5 nor a checkpoint, and .h5 to .h5, are usage errors', async () => {
    const notes = join(SCRATCH, 'weights.txt');
    await writeFile(notes, 'hello');
    const wrongKind = await run(notes, join(SCRATCH, 'x'));
    assert.equal(wrongKind.code, EXIT.USAGE);
    assert.match(wrongKind.stderr, /cannot tell the direction: IN must be a \.h5\/\.hdf5 file or a checkpoint directory holding model\.json; received .*weights\.txt/);
    const sameKind = await run(NASNET_H5, join(SCRATCH, 'copy.h5'), '--backbone', 'mobile');
    assert.equal(sameKind.code, EXIT.USAGE);
    assert.match(sameKind.stderr, /OUT must be a checkpoint directory; received .*copy\.h5/);
  });

  test('bad flags are usage errors', async () => {
    const cases: [string[], RegExp][] = [
      [[NASNET_H5, join(SCRATCH, 'x'), '--backbone', 'huge'], /--backbone must be one of mobile, large, cifar; received "huge"/],
      [[NASNET_H5, join(SCRATCH, 'x'), '--backbone', 'mobile', '--config', 'c.json'], /give --config or --backbone, not both/],
      [[NASNET_H5, join(SCRATCH, 'x'), '--strict'], /Unknown option '--strict'/],
      [[NASNET_H5], /expected IN and OUT, received 1 argument/],
    ];
    for (const [argv, pattern] of cases) {
      const result = await run(...argv);
      assert.equal(result.code, EXIT.USAGE, argv.join(' '));
      assert.match(result.stderr, pattern);
    }
  });

  test('non-HDF5 and truncated .h5 files are invalid input', async () => {
    const fake = join(SCRATCH, 'fake.h5');
    await writeFile(fake, 'this is not HDF5 at all');
    const notHdf5 = await run(fake, join(SCRATCH, 'x'), '--backbone', 'mobile');
    assert.equal(notHdf5.code, EXIT.INVALID_INPUT);
    assert.match(notHdf5.stderr, /^error: readKerasWeights: .*fake\.h5: not a readable HDF5 file \(H5F__super_read: file signature not found\)\n$/);

    const truncated = join(SCRATCH, 'truncated.h5');
    await writeFile(truncated, (await readFile(NASNET_H5)).subarray(0, 1_000_000));
    const cut = await run(truncated, join(SCRATCH, 'x'), '--backbone', 'mobile');
    assert.equal(cut.code, EXIT.INVALID_INPUT);
    assert.match(cut.stderr, /truncated\.h5: not a readable HDF5 file \(.*truncated/);
  });

  test('strict by default: a no-top file for a model with top is reported in one error; --no-strict keeps what fits', async () => {
    const config = join(SCRATCH, 'top.json');
    await writeFile(config, JSON.stringify({ preset: 'mobile', includeTop: true }));
    const result = await run(NASNET_H5, join(SCRATCH, 'top-ckpt'), '--config', config);
    assert.equal(result.code, EXIT.INVALID_INPUT);
    assert.match(result.stderr, /the weights in .*mobile_notop_seed1\.h5 do not match the model: 2 missing \(predictions\/kernel, predictions\/bias\)\n$/);

    const lenient = await run(NASNET_H5, join(SCRATCH, 'top-ckpt'), '--config', config, '--no-strict');
    assert.equal(lenient.code, EXIT.OK, lenient.stderr);
    assert.match(lenient.stdout, /kept 1124 of 1124 tensors \(0 not used by the model, 2 missing: --no-strict\), includeTop true/);
  });

  test('an invalid --config is a config error', async () => {
    const config = join(SCRATCH, 'bad.json');
    await writeFile(config, JSON.stringify({ preset: 'mobile', numCells: 0 }));
    const result = await run(NASNET_H5, join(SCRATCH, 'x'), '--config', config);
    assert.equal(result.code, EXIT.CONFIG);
    assert.match(result.stderr, /numCells must be an integer >= 1; received 0/);
  });
});
