import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { initEngine } from '../../src/core/engine.js';
import { NasnetError } from '../../src/core/errors.js';
import { exportLayersModel, OnnxSession } from '../../src/onnx/index.js';

before(async () => {
  await initEngine({ backend: 'cpu' });
});

/** Dense 2 -> 1 with weights [1, 2] and bias 0.5: y = x0 + 2 x1 + 0.5. */
function denseModel(): Uint8Array {
  const input = tfl.input({ shape: [2] });
  const layer = tfl.layers.dense({ units: 1 });
  const model = tfl.model({ inputs: input, outputs: layer.apply(input) as tfl.SymbolicTensor });
  const weights = [tf.tensor2d([[1], [2]]), tf.tensor1d([0.5])];
  layer.setWeights(weights);
  tf.dispose(weights);
  const bytes = exportLayersModel(model, { inputNames: ['x'], outputNames: ['y'] });
  model.dispose();
  return bytes;
}

test('threads and spinning: every setting computes the same; bad thread counts and bad bytes are typed errors', async () => {
  const bytes = denseModel();
  for (const options of [{}, { threads: 1 }, { threads: 2, spinning: true }, { threads: 0, spinning: false }]) {
    const session = await OnnxSession.create(bytes, options);
    const out = await session.run({ x: { data: Float32Array.from([3, 4, -1, 1]), dims: [2, 2] } });
    assert.deepEqual(Array.from(out.y!.data), [11.5, 1.5]);
    await session.dispose();
  }
  for (const threads of [-1, 1.5]) {
    await assert.rejects(OnnxSession.create(bytes, { threads }), (e: unknown) => e instanceof NasnetError && e.code === 'INVALID_ARGUMENT' && /threads/.test(e.message));
  }
  await assert.rejects(OnnxSession.create(Uint8Array.from([1, 2, 3])), (e: unknown) => e instanceof NasnetError && e.code === 'ENGINE_UNAVAILABLE');
});
