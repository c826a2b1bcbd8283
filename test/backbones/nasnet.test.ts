// The ImageNet presets reproduce Keras' NASNetMobile / NASNetLarge graphs: every layer (name, class,
// output shape, ordered inputs) in Keras' model.layers order, every weight (name, shape) in .h5 order,
// and the published parameter counts. Built without weights (Large is not run).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { initEngine } from '../../core/engine.js';
import { buildNasnet, cellPlan, endpointModel } from '../../backbones/nasnet.js';
import { resolveNasnetConfig } from '../../backbones/config.js';
import { kerasLayerOrder } from '../../backbones/keras_order.js';
import { modelWeightSpecs } from '../../backbones/keras_weights.js';
import { NasnetError } from '../../core/errors.js';
import { readJson, type TrimmedManifest } from './keras_fixture.js';

/** tfjs class names that differ from Keras 3's. */
const CLASS_NAMES: Record<string, string> = { Activation: 'Activation' };

function assertMatchesManifest(model: LayersModel, manifest: TrimmedManifest): void {
  const ours = kerasLayerOrder(model);
  assert.equal(ours.length, manifest.layers.length, 'layer count');
  ours.forEach((layer, i) => {
    const [name, cls, shape, inbound] = manifest.layers[i]!;
    assert.equal(layer.name, name, `layer ${i}`);
    assert.equal(CLASS_NAMES[layer.getClassName()] ?? layer.getClassName(), cls, name);
    assert.deepEqual((layer.outputShape as (number | null)[]).slice(1), shape, name);
    assert.deepEqual(layer.inboundNodes[0]!.inboundLayers.map((l) => l.name), inbound, name);
  });
  const weights = modelWeightSpecs(model).map(({ name, shape }) => [`${name}:0`, shape]);
  assert.deepEqual(weights, manifest.weights);
  assert.equal(model.countParams(), manifest.totals.total_params);
}

describe('Keras manifests', () => {
  test('NASNet-A Mobile (top) = mobile_manifest.json: 771 layers, 1126 weights, 5,326,716 parameters', async () => {
    await initEngine({ backend: 'wasm' });
    const { model } = buildNasnet({ preset: 'mobile' });
    assertMatchesManifest(model, readJson('mobile_manifest_trim.json'));
    assert.equal(model.countParams(), 5_326_716);
  });

  test('NASNet-A Mobile without top = mobile_notop_manifest.json (4,269,716 parameters)', async () => {
    await initEngine({ backend: 'wasm' });
    const { model } = buildNasnet({ preset: 'mobile', includeTop: false });
    assertMatchesManifest(model, readJson('mobile_notop_manifest_trim.json'));
    assert.deepEqual(model.outputs[0]!.shape, [null, 7, 7, 1056]);
  });

  test('NASNet-A Large = large_manifest.json: 1041 layers, 1546 weights, 88,949,818 parameters', async () => {
    await initEngine({ backend: 'wasm' });
    const { model } = buildNasnet({ preset: 'large' });
    assertMatchesManifest(model, readJson('large_manifest_trim.json'));
    assert.equal(model.countParams(), 88_949_818);
    model.layers.forEach((layer) => layer.dispose());
  });
});

describe('NASNet builder', () => {
  test('cell plan: Keras ids, widths and strides (Mobile 4 @ 1056)', () => {
    const plan = cellPlan(resolveNasnetConfig({ preset: 'mobile' }));
    assert.deepEqual(plan.map((c) => c.id), ['stem_1', 'stem_2', '0', '1', '2', '3', 'reduce_4', '5', '6', '7', '8', 'reduce_8', '9', '10', '11', '12']);
    assert.deepEqual(plan.map((c) => c.filters), [11, 22, 44, 44, 44, 44, 88, 88, 88, 88, 88, 176, 176, 176, 176, 176]);
    assert.deepEqual(plan.map((c) => c.stride), [4, 8, 8, 8, 8, 8, 16, 16, 16, 16, 16, 32, 32, 32, 32, 32]);
    assert.deepEqual(plan.map((c) => c.cellIndex), [...Array(16).keys()]);
  });

  test('endpoints: every cell output with its Keras layer, stride and width', async () => {
    await initEngine({ backend: 'wasm' });
    const network = buildNasnet({ preset: 'mobile', includeTop: false });
    const table = network.endpoints.map((e) => [e.name, e.layerName, e.stride, e.channels, e.tensor.shape[1]]);
    assert.deepEqual(table.slice(0, 4), [
      ['stem', 'stem_bn1', 2, 32, 111],
      ['stem_1', 'reduction_concat_stem_1', 4, 44, 56],
      ['stem_2', 'reduction_concat_stem_2', 8, 88, 28],
      ['0', 'normal_concat_0', 8, 264, 28],
    ]);
    assert.deepEqual(table.find((row) => row[0] === 'reduce_4'), ['reduce_4', 'reduction_concat_reduce_4', 16, 352, 14]);
    assert.deepEqual(table.find((row) => row[0] === '8'), ['8', 'normal_concat_8', 16, 528, 14]);
    assert.deepEqual(table.find((row) => row[0] === 'reduce_8'), ['reduce_8', 'reduction_concat_reduce_8', 32, 704, 7]);
    assert.deepEqual(table.at(-1), ['final', 'activation_187', 32, 1056, 7]);
    const model = endpointModel(network, ['stem_2', 'normal_concat_8']);
    assert.deepEqual(model.outputs.map((o) => o.shape), [[null, 28, 28, 88], [null, 14, 14, 528]]);
    assert.throws(() => endpointModel(network, ['13']), (e: unknown) => e instanceof NasnetError && /no endpoint "13"; known: stem, stem_1/.test(e.message));
  });

  test('CIFAR 6 @ 768 on 32x32: slim stem, no stem cells, aux head on cell 12, drop-path layers', async () => {
    await initEngine({ backend: 'wasm' });
    const { model, endpoints } = buildNasnet({ preset: 'cifar' });
    assert.deepEqual(model.outputs.map((o) => o.shape), [[null, 10], [null, 10]]);
    // Cell 0 has no older state, so h_{i-1} is the 96-wide stem output itself (slim `_reduce_prev_layer`),
    // and its concat is 96 + 5 * 32 = 256 wide; from cell 1 on the width is 6F = 192.
    assert.deepEqual(endpoints.slice(0, 3).map((e) => [e.name, e.tensor.shape]), [['stem', [null, 32, 32, 96]], ['0', [null, 32, 32, 256]], ['1', [null, 32, 32, 192]]]);
    assert.deepEqual(endpoints.at(-1)!.tensor.shape, [null, 8, 8, 768]);
    const names = model.layers.map((l) => l.name);
    assert.ok(names.includes('aux_conv') && !names.some((n) => n.includes('stem_1')));
    // One drop-path layer per non-identity branch: normal cells 8 (2 identities), reduction cells 9 (1).
    assert.equal(names.filter((n) => n.startsWith('drop_path_')).length, 18 * 8 + 2 * 9);
    // PAPER Table 1: NASNet-A (6 @ 768) has 3.3M parameters: the trainable ones, without the training-only
    // aux head (whose 4x4x128x768 conv alone holds 1.57M). Ours: 3,347,498.
    const trainable = model.layers
      .filter((l) => !l.name.startsWith('aux_'))
      .flatMap((l) => l.trainableWeights)
      .reduce((n, w) => n + w.shape.reduce((a: number, b) => a * (b ?? 1), 1), 0);
    assert.ok(trainable >= 3.25e6 && trainable < 3.35e6, `${trainable} trainable without the aux head`);
  });

  test('drop path keeps the Keras weights: Large-style keep 0.7 on Mobile adds only weightless layers', async () => {
    await initEngine({ backend: 'wasm' });
    const { model } = buildNasnet({ preset: 'mobile', dropPathKeepProb: 0.7 });
    assert.deepEqual(modelWeightSpecs(model).map((w) => `${w.name}:0`), readJson<TrimmedManifest>('mobile_manifest_trim.json').weights.map((w) => w[0]));
  });

  const badConfigs: [string, Record<string, unknown>, RegExp][] = [
    ['penultimateFilters not a multiple of 96', { penultimateFilters: 1000 }, /penultimateFilters must be a multiple of 96; received 1000/],
    ['numCells 0', { numCells: 0 }, /numCells must be an integer >= 1; received 0/],
    ['stem', { stem: 'tiny' }, /stem must be one of imagenet, cifar; received "tiny"/],
    ['inputSize', { inputSize: 16 }, /inputSize must be an integer >= 32; received 16/],
    ['inputSize below the CIFAR stride', { preset: 'cifar', inputSize: 3 }, /inputSize must be an integer >= 4; received 3/],
    ['dropPathKeepProb', { dropPathKeepProb: 1.5 }, /dropPathKeepProb must be a number in \(0, 1\]; received 1.5/],
    ['classifierActivation', { classifierActivation: 'relu' }, /classifierActivation must be one of softmax, linear/],
    ['unknown field', { filters: 3 }, /filters must be not set \(unknown field/],
    ['preset', { preset: 'huge' }, /preset must be one of mobile, large, cifar; received "huge"/],
    ['genotype', { genotype: { name: 'g', normal: {}, reduction: {} } }, /genotype must be a valid genotype \(genotype\.normal\.blocks must be an array of 5 blocks/],
  ];
  for (const [what, partial, message] of badConfigs) {
    test(`resolveNasnetConfig rejects ${what}, naming the field`, () => {
      assert.throws(() => resolveNasnetConfig(partial as never), (e: unknown) => e instanceof NasnetError && e.code === 'INVALID_CONFIG' && message.test(e.message));
    });
  }

  test('resolveNasnetConfig: presets and overrides', () => {
    const large = resolveNasnetConfig({ preset: 'large', classes: 10 });
    assert.deepEqual([large.numCells, large.penultimateFilters, large.stemFilters, large.inputSize, large.skipReduction, large.classes], [6, 4032, 96, 331, true, 10]);
    assert.equal(resolveNasnetConfig().penultimateFilters, 1056);
  });
});
