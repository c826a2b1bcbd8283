import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { initEngine, parseEngineRequest, currentEngine } from '../../core/engine.js';
import { NasnetError } from '../../core/errors.js';

test('parseEngineRequest: flag wins over env, empty means auto', () => {
  assert.equal(parseEngineRequest(undefined, {}), 'auto');
  assert.equal(parseEngineRequest(undefined, { NASNET_BACKEND: 'cpu' }), 'cpu');
  assert.equal(parseEngineRequest('wasm', { NASNET_BACKEND: 'cpu' }), 'wasm');
  assert.equal(parseEngineRequest('', {}), 'auto');
});

test('parseEngineRequest: an unknown engine names the source and the valid values', () => {
  assert.throws(
    () => parseEngineRequest(undefined, { NASNET_BACKEND: 'webgl' }),
    (error: unknown) =>
      error instanceof NasnetError && error.code === 'INVALID_CONFIG' && /NASNET_BACKEND/.test(error.message) && /wasm/.test(error.message),
  );
});

test('auto falls back to wasm when no tfjs-node package is installed, and says why', async () => {
  const info = await initEngine({ backend: 'auto' });
  // This repository never installs tfjs-node; a user machine with it would pick 'tensorflow'.
  assert.equal(info.backend, 'wasm');
  assert.match(info.reason, /no tfjs-node/);
  assert.equal(tf.getBackend(), 'wasm');
  assert.deepEqual(tf.add(tf.tensor1d([1, 2]), tf.tensor1d([3, 4])).arraySync(), [4, 6]);
});

test('explicit requests switch the backend; tensorflow without tfjs-node is a typed error', async () => {
  assert.equal((await initEngine({ backend: 'cpu' })).backend, 'cpu');
  assert.equal(tf.getBackend(), 'cpu');
  await assert.rejects(initEngine({ backend: 'tensorflow' }), (error: unknown) => {
    return error instanceof NasnetError && error.code === 'ENGINE_UNAVAILABLE' && /npm install @tensorflow\/tfjs-node/.test(error.message);
  });
  // A failed request leaves the previous engine in place.
  assert.equal(currentEngine()?.backend, 'cpu');
  assert.equal((await initEngine({ backend: 'wasm' })).backend, 'wasm');
});
