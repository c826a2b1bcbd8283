import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { initEngine } from '../../core/engine.js';
import { NasnetError } from '../../core/errors.js';
import { OnnxSession, spinningFromEnv, SPINNING_ENV } from '../../src/onnx/index.js';
import { denseOnnx } from './onnx_test_utils.js';

before(async () => {
  await initEngine({ backend: 'cpu' });
});

test('threads and spinning: every setting computes the same; bad thread counts and bad bytes are typed errors', async () => {
  const bytes = denseOnnx();
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

test('NASNET_ORT_SPINNING: unset, blank or 1 spins (onnxruntime default), 0 does not, anything else is a config error naming it', () => {
  assert.deepEqual([{}, { [SPINNING_ENV]: ' ' }, { [SPINNING_ENV]: '1' }, { [SPINNING_ENV]: '0' }].map((env) => spinningFromEnv(env)), [true, true, true, false]);
  assert.throws(() => spinningFromEnv({ [SPINNING_ENV]: 'yes' }), (e: unknown) => e instanceof NasnetError && e.code === 'INVALID_CONFIG' && /NASNET_ORT_SPINNING must be 1 .* or 0; received "yes"/.test(e.message));
});
