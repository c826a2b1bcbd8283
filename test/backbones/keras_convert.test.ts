// Keras file <-> named weights ('<layer>/<weight>'), and matching against a model's weight specs.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../../core/paths.js';
import { NasnetError } from '../../core/errors.js';
import { readKerasWeights, readKerasWeightsFile, writeKerasWeights, type KerasWeightFile } from '../../backbones/keras_h5.js';
import {
  DEFAULT_KERAS_ATTRS, inferKerasModel, kerasFileToNamedWeights, matchNamedWeights, namedWeightName, namedWeightsToKerasFile, type NamedWeight,
} from '../../backbones/keras_convert.js';

const NASNET_H5 = join(packageRoot(), 'test', 'fixtures', 'keras-nasnet', 'mobile_notop_seed1.h5');
const TINY_FULL = join(packageRoot(), 'test', 'fixtures', 'keras-h5', 'tiny_full_model.h5');

const w = (name: string, shape: number[], values?: number[]): NamedWeight => ({
  name,
  shape,
  data: Float32Array.from(values ?? Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => i)),
});

function assertNamedEqual(actual: readonly NamedWeight[], expected: readonly NamedWeight[]): void {
  assert.deepEqual(actual.map((x) => [x.name, x.shape]), expected.map((x) => [x.name, x.shape]));
  actual.forEach((x, i) => {
    const a = Buffer.from(x.data.buffer, x.data.byteOffset, x.data.byteLength);
    const b = Buffer.from(expected[i].data.buffer, expected[i].data.byteOffset, expected[i].data.byteLength);
    assert.ok(a.equals(b), `${x.name} differs`);
  });
}

function throwsCode(fn: () => unknown, code: string, pattern: RegExp): void {
  assert.throws(fn, (error: unknown) => error instanceof NasnetError && error.code === code && pattern.test(error.message));
}

describe('namedWeightName', () => {
  test('strips the :0 suffix and any scope, keeping the h5 group as the layer', () => {
    assert.equal(namedWeightName('stem_conv1', 'stem_conv1/kernel:0'), 'stem_conv1/kernel');
    assert.equal(namedWeightName('conv', 'block_0/conv/kernel'), 'conv/kernel');
    assert.equal(
      namedWeightName('separable_conv_1_normal_left1_0', 'normal_A_block_0/separable_conv_1_normal_left1_0/depthwise_kernel:0'),
      'separable_conv_1_normal_left1_0/depthwise_kernel',
    );
    assert.equal(namedWeightName('stem_bn1', 'moving_variance'), 'stem_bn1/moving_variance');
  });

  test('a weight name that ends in a slash names no tensor', () => {
    throwsCode(() => namedWeightName('dense', 'dense/'), 'INVALID_DATA', /layer "dense" has a weight named "dense\/" with no tensor name/);
  });
});

describe('kerasFileToNamedWeights / namedWeightsToKerasFile', async () => {
  const file = await readKerasWeightsFile(NASNET_H5);
  const named = kerasFileToNamedWeights(file);

  test('the NASNetMobile no-top file gives 1124 tfjs-layers names in file order', () => {
    assert.equal(named.length, 1124);
    assert.deepEqual(named.slice(0, 6).map((x) => x.name), [
      'stem_conv1/kernel', 'stem_bn1/gamma', 'stem_bn1/beta', 'stem_bn1/moving_mean', 'stem_bn1/moving_variance', 'reduction_conv_1_stem_1/kernel',
    ]);
    assert.equal(new Set(named.map((x) => x.name)).size, 1124);
    assert.equal(named[0].data, file.layers[0].weights[0].data); // no copy
  });

  test('h5 -> ours -> h5 -> ours is bit-identical, and the h5 side equals the original file', async () => {
    const back = namedWeightsToKerasFile(named, { layerNames: file.layerNames, attrs: file.attrs });
    const reread = await readKerasWeights(await writeKerasWeights(back));
    assert.deepEqual(reread.layerNames, file.layerNames);
    assert.deepEqual(reread.attrs, file.attrs);
    assert.deepEqual(reread.layers.map((l) => [l.name, l.weights.map((x) => x.name)]), file.layers.map((l) => [l.name, l.weights.map((x) => x.name)]));
    assertNamedEqual(kerasFileToNamedWeights(reread), named);
  });

  test('scoped Keras 3 names become plain names, and go back as Keras 2 names', async () => {
    const tiny = kerasFileToNamedWeights(await readKerasWeightsFile(TINY_FULL));
    assert.deepEqual(tiny.map((x) => x.name), [
      'conv/kernel', 'bn/gamma', 'bn/beta', 'bn/moving_mean', 'bn/moving_variance', 'dense/kernel', 'dense/bias',
    ]);
    const keras = namedWeightsToKerasFile(tiny);
    assert.deepEqual(keras.layerNames, ['conv', 'bn', 'dense']);
    assert.deepEqual(keras.layers[0].weights.map((x) => x.name), ['conv/kernel:0']);
    assert.deepEqual(keras.attrs, DEFAULT_KERAS_ATTRS);
  });

  test('two weights of one layer that map to the same name are rejected', () => {
    const clash: KerasWeightFile = {
      layerNames: ['conv'],
      attrs: {},
      layers: [{ name: 'conv', weights: [{ name: 'a/conv/kernel:0', shape: [1], data: new Float32Array(1) }, { name: 'b/conv/kernel:0', shape: [1], data: new Float32Array(1) }] }],
    };
    throwsCode(() => kerasFileToNamedWeights(clash), 'INVALID_DATA', /weights "a\/conv\/kernel:0" and "b\/conv\/kernel:0" of layer "conv" both map to "conv\/kernel"/);
  });

  test('grouping follows layerNames, keeps per-layer order, and rejects unlisted layers, bad and repeated names', () => {
    const weights = [w('b/kernel', [2]), w('a/gamma', [1]), w('a/beta', [1])];
    const keras = namedWeightsToKerasFile(weights, { layerNames: ['input', 'a', 'relu', 'b'] });
    assert.deepEqual(keras.layers.map((l) => [l.name, l.weights.map((x) => x.name)]), [['a', ['a/gamma:0', 'a/beta:0']], ['b', ['b/kernel:0']]]);
    assert.deepEqual(keras.layerNames, ['input', 'a', 'relu', 'b']);
    throwsCode(() => namedWeightsToKerasFile(weights, { layerNames: ['a'] }), 'INVALID_ARGUMENT', /1 weighted layer\(s\) are not in layerNames: b/);
    throwsCode(() => namedWeightsToKerasFile([w('kernel', [1])]), 'INVALID_ARGUMENT', /weight name "kernel" must be '<layer>\/<weight>'/);
    throwsCode(() => namedWeightsToKerasFile([w('a/k', [1]), w('a/k', [1])]), 'INVALID_ARGUMENT', /weight "a\/k" appears twice/);
  });
});

describe('matchNamedWeights', () => {
  const expected = [
    { name: 'conv/kernel', shape: [3, 3, 3, 8] },
    { name: 'bn/gamma', shape: [8] },
    { name: 'bn/beta', shape: [8] },
  ];

  test('returns the weights in the model order', () => {
    const given = [w('bn/beta', [8]), w('conv/kernel', [3, 3, 3, 8]), w('bn/gamma', [8])];
    assert.deepEqual(matchNamedWeights(expected, given).map((x) => x.name), ['conv/kernel', 'bn/gamma', 'bn/beta']);
  });

  test('strict: missing, unexpected and mismatched weights in one error', () => {
    const given = [w('conv/kernel', [3, 3, 3, 4]), w('bn/gamma', [8]), w('predictions/bias', [10])];
    assert.throws(() => matchNamedWeights(expected, given, { source: 'x.h5' }), (error: unknown) => {
      assert.ok(error instanceof NasnetError);
      assert.equal(error.code, 'WEIGHTS_MISMATCH');
      assert.match(error.message, /matchNamedWeights: the weights in x\.h5 do not match the model: 1 missing \(bn\/beta\); 1 unexpected \(predictions\/bias\); 1 shape mismatch \(conv\/kernel: expected \[3,3,3,8\], received \[3,3,3,4\]\)/);
      assert.deepEqual(error.details?.missing, ['bn/beta']);
      assert.deepEqual(error.details?.unexpected, ['predictions/bias']);
      return true;
    });
  });

  test('non-strict: skips missing and unexpected weights, still rejects a shape mismatch', () => {
    const given = [w('bn/gamma', [8]), w('predictions/bias', [10])];
    assert.deepEqual(matchNamedWeights(expected, given, { strict: false }).map((x) => x.name), ['bn/gamma']);
    throwsCode(() => matchNamedWeights(expected, [w('bn/gamma', [9])], { strict: false }), 'WEIGHTS_MISMATCH', /1 shape mismatch \(bn\/gamma: expected \[8\], received \[9\]\)/);
  });
});

describe('inferKerasModel', () => {
  /** A weight file with the shapes of a Keras manifest (fixtures/keras-nasnet/*_manifest_trim.json), no values. */
  function shapesOnly(manifest: string): KerasWeightFile {
    const { weights } = JSON.parse(readFileSync(join(packageRoot(), 'test', 'fixtures', 'keras-nasnet', manifest), 'utf8')) as { weights: [string, number[]][] };
    const layers = new Map<string, KerasWeightFile['layers'][number]>();
    for (const [name, shape] of weights) {
      const layer = name.slice(0, name.indexOf('/'));
      if (!layers.has(layer)) layers.set(layer, { name: layer, weights: [] });
      layers.get(layer)!.weights.push({ name, shape, data: new Float32Array(0) });
    }
    return { layerNames: [...layers.keys()], attrs: {}, layers: [...layers.values()] };
  }

  test('Keras NASNetMobile, NASNetMobile no-top and NASNetLarge are told apart by their weights', () => {
    assert.deepEqual(inferKerasModel(shapesOnly('mobile_manifest_trim.json')), { preset: 'mobile', includeTop: true, classes: 1000 });
    assert.deepEqual(inferKerasModel(shapesOnly('mobile_notop_manifest_trim.json')), { preset: 'mobile', includeTop: false });
    assert.deepEqual(inferKerasModel(shapesOnly('large_manifest_trim.json')), { preset: 'large', includeTop: true, classes: 1000 });
  });

  test('a file no preset fits asks for the backbone', async () => {
    const tiny = await readKerasWeightsFile(TINY_FULL);
    throwsCode(() => inferKerasModel(tiny, 'tiny.h5'), 'INVALID_DATA', /tiny\.h5: cannot tell which NASNet this is \(no preset fits its weights\); give the backbone/);
  });
});
