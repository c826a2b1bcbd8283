// NASNet-A Mobile with the Keras fixture weights (seed 1) reproduces Keras' outputs: logits, every cell
// output's summary (where a mismatch would start) and the full final feature map, within 1e-4 absolute
// (Keras float32 itself is 1.8e-6 from float64 on these logits). Plus strict loading and export.
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { initEngine } from '../../core/engine.js';
import { NasnetError } from '../../core/errors.js';
import { buildNasnet, type NasnetNetwork } from '../../backbones/nasnet.js';
import { loadKerasWeightsIntoModel, modelWeightsForKeras } from '../../backbones/keras_weights.js';
import { readKerasWeightsFile, type KerasWeightFile } from '../../backbones/keras_h5.js';
import { fixtureInputs, fixturePath, mobileSeed1WithTop, readFloat32, readJson } from './keras_fixture.js';

const TOL = 1e-4;

interface Summary {
  readonly shape: number[];
  readonly mean: number;
  readonly std: number;
  readonly min: number;
  readonly max: number;
  readonly first16: number[];
  readonly last16: number[];
  readonly sample_flat_indices: number[];
  readonly sample_values: number[];
}

function maxAbsDiff(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  assert.equal(actual.length, expected.length);
  let max = 0;
  for (let i = 0; i < expected.length; i++) max = Math.max(max, Math.abs(actual[i]! - expected[i]!));
  return max;
}

function stats(values: Float32Array): { mean: number; std: number; min: number; max: number } {
  let sum = 0;
  let min = Infinity;
  let max = -Infinity;
  for (const v of values) {
    sum += v;
    min = Math.min(min, v);
    max = Math.max(max, v);
  }
  const mean = sum / values.length;
  let sq = 0;
  for (const v of values) sq += (v - mean) ** 2;
  return { mean, std: Math.sqrt(sq / values.length), min, max };
}

describe('NASNet-A Mobile + mobile_seed1 weights vs Keras (wasm)', () => {
  let network: NasnetNetwork;
  let outputs: Float32Array[];
  let layerNames: string[];
  const notopExpected = readJson<{ intermediate: Record<string, Summary>; intermediate_order: string[] }>('mobile_notop_seed1_expected.json');

  before(async () => {
    await initEngine({ backend: 'wasm' });
    network = buildNasnet({ preset: 'mobile', classifierActivation: 'linear' });
    assert.equal(loadKerasWeightsIntoModel(network.model, await mobileSeed1WithTop()), 1126);
    // One forward pass for the logits, the 17 summarised maps and the final relu.
    layerNames = notopExpected.intermediate_order;
    const probes = layerNames.map((name) => network.endpoints.find((e) => e.layerName === name)!.tensor);
    const final = network.endpoints.find((e) => e.name === 'final')!.tensor;
    const probe = tfl.model({ inputs: network.model.inputs, outputs: [network.model.outputs[0]!, ...probes, final] });
    const x = fixtureInputs();
    const ys = probe.predict(x) as tf.Tensor[];
    outputs = ys.map((y) => y.dataSync() as Float32Array);
    tf.dispose([x, ...ys]);
  });

  test('logits equal the Keras logits within 1e-4', () => {
    const expected = readJson<{ logits: number[][] }>('mobile_seed1_expected.json').logits.flat();
    const diff = maxAbsDiff(outputs[0]!, expected);
    assert.ok(diff < TOL, `max |logit diff| ${diff}`);
  });

  test('every cell output matches the Keras summaries (first/last 16, 32 samples, mean, std, min, max)', () => {
    layerNames.forEach((name, i) => {
      const values = outputs[i + 1]!;
      const s = notopExpected.intermediate[name]!;
      assert.equal(values.length, s.shape.reduce((a, b) => a * b, 1), name);
      assert.ok(maxAbsDiff(values.subarray(0, 16), s.first16) < TOL, `${name} first16`);
      assert.ok(maxAbsDiff(values.subarray(values.length - 16), s.last16) < TOL, `${name} last16 (bottom-right border)`);
      assert.ok(maxAbsDiff(s.sample_flat_indices.map((k) => values[k]!), s.sample_values) < TOL, `${name} samples`);
      const ours = stats(values);
      for (const key of ['mean', 'std', 'min', 'max'] as const) assert.ok(Math.abs(ours[key] - s[key]) < TOL, `${name} ${key}: ${ours[key]} vs ${s[key]}`);
    });
  });

  test('the final feature map equals mobile_notop_seed1_final.bin within 1e-4', () => {
    const diff = maxAbsDiff(outputs.at(-1)!, readFloat32('mobile_notop_seed1_final.bin'));
    assert.ok(diff < TOL, `max diff ${diff}`);
  });

  test('no tensor leaks over repeated forward passes', () => {
    const x = tf.slice(fixtureInputs(), [0, 0, 0, 0], [1, 224, 224, 3]);
    const run = (): void => tf.tidy(() => void network.model.predict(x));
    run();
    const before = tf.memory().numTensors;
    run();
    run();
    assert.equal(tf.memory().numTensors, before);
    x.dispose();
  });

  test('modelWeightsForKeras lays the weights out as the Keras file: layer_names, weight names, order, values', async () => {
    const exported = await modelWeightsForKeras(network.model);
    const file = await mobileSeed1WithTop();
    assert.equal(exported.layerNames.length, 771);
    assert.deepEqual(exported.layerNames.slice(0, file.layerNames.length - 2), file.layerNames.slice(0, -2)); // notop names + GAP, predictions
    assert.deepEqual(exported.layerNames.slice(-2), ['global_average_pooling2d', 'predictions']);
    assert.deepEqual(exported.layers.map((l) => [l.name, l.weights.map((w) => w.name)]), file.layers.map((l) => [l.name, l.weights.map((w) => w.name)]));
    exported.layers.forEach((layer, i) =>
      layer.weights.forEach((w, j) => assert.ok(maxAbsDiff(w.data, file.layers[i]!.weights[j]!.data) === 0, w.name)),
    );
  });
});

describe('strict Keras weight loading', () => {
  let notop: KerasWeightFile;
  before(async () => {
    await initEngine({ backend: 'wasm' });
    notop = await readKerasWeightsFile(fixturePath('mobile_notop_seed1.h5'));
  });

  test('missing, unexpected and mismatched weights are reported together as WEIGHTS_MISMATCH', () => {
    const { model } = buildNasnet({ preset: 'mobile', includeTop: false });
    const broken: KerasWeightFile = {
      ...notop,
      layers: notop.layers
        .filter((l) => l.name !== 'stem_bn1')
        .map((l) => (l.name === 'normal_conv_1_1' ? { ...l, weights: [{ ...l.weights[0]!, shape: [1, 1, 88, 44] }] } : l))
        .concat([{ name: 'extra_layer', weights: [{ name: 'extra_layer/kernel:0', shape: [1], data: new Float32Array(1) }] }]),
    };
    assert.throws(
      () => loadKerasWeightsIntoModel(model, broken),
      (e: unknown) => {
        assert.ok(e instanceof NasnetError && e.code === 'WEIGHTS_MISMATCH');
        const details = e.details as { missing: string[]; unexpected: string[]; mismatched: { name: string; expected: string; received: string }[] };
        assert.deepEqual(details.missing, ['stem_bn1/gamma', 'stem_bn1/beta', 'stem_bn1/moving_mean', 'stem_bn1/moving_variance']);
        assert.deepEqual(details.unexpected, ['extra_layer/kernel']);
        assert.deepEqual(details.mismatched.map((m) => [m.name, m.expected, m.received]), [['normal_conv_1_1/kernel', '[1,1,264,44]', '[1,1,88,44]']]);
        for (const word of ['4 missing', 'stem_bn1/gamma', '1 unexpected', 'extra_layer/kernel', 'normal_conv_1_1/kernel']) assert.ok(e.message.includes(word), word);
        return true;
      },
    );
  });

  test('a top file into a no-top model: strict rejects predictions, strict false loads the rest', async () => {
    const { model } = buildNasnet({ preset: 'mobile', includeTop: false });
    const top = await mobileSeed1WithTop();
    assert.throws(
      () => loadKerasWeightsIntoModel(model, top),
      (e: unknown) => e instanceof NasnetError && /2 unexpected/.test(e.message) && JSON.stringify(e.details?.unexpected) === '["predictions/kernel","predictions/bias"]',
    );
    assert.equal(loadKerasWeightsIntoModel(model, top, { strict: false }), 1124);
    const gamma = model.getLayer('stem_bn1').getWeights()[0]!.dataSync();
    assert.deepEqual(Array.from(gamma), Array.from(notop.layers.find((l) => l.name === 'stem_bn1')!.weights[0]!.data));
  });
});
