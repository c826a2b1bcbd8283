import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { loadClassifier } from '../../src/api/classifier.js';
import { defaultClassifierPath } from '../../src/api/defaults.js';
import { initEngine } from '../../core/engine.js';
import { NasnetError } from '../../core/errors.js';
import { OnnxSession } from '../../src/onnx/index.js';
import { executionProvidersFromEnv, PROVIDERS_ENV } from '../../src/onnx/session.js';
import { denseOnnx } from './onnx_test_utils.js';

let bytes: Uint8Array;

before(async () => {
  await initEngine({ backend: 'cpu' });
  bytes = denseOnnx();
});

const isError = (code: string, pattern: RegExp) => (e: unknown) => e instanceof NasnetError && e.code === code && pattern.test(e.message);

/** Runs `work` with NASNET_ORT_PROVIDERS set to `value`, restoring it after. */
async function withEnv<T>(value: string | undefined, work: () => Promise<T>): Promise<T> {
  const saved = process.env[PROVIDERS_ENV];
  if (value === undefined) delete process.env[PROVIDERS_ENV];
  else process.env[PROVIDERS_ENV] = value;
  try {
    return await work();
  } finally {
    if (saved === undefined) delete process.env[PROVIDERS_ENV];
    else process.env[PROVIDERS_ENV] = saved;
  }
}

test('executionProviders ["cpu"] (option or NASNET_ORT_PROVIDERS) computes y = x0 + 2 x1 + 0.5', async () => {
  for (const [option, env] of [[['cpu'], undefined], [undefined, ' CPU '], [undefined, undefined]] as const) {
    const y = await withEnv(env, async () => {
      const session = await OnnxSession.create(bytes, { threads: 1, executionProviders: option });
      try {
        return Array.from((await session.run({ x: { data: Float32Array.from([3, 4]), dims: [1, 2] } })).y!.data);
      } finally {
        await session.dispose();
      }
    });
    assert.deepEqual(y, [11.5]);
  }
  assert.deepEqual(executionProvidersFromEnv({ [PROVIDERS_ENV]: 'cuda, cpu' }), ['cuda', 'cpu']);
  assert.equal(executionProvidersFromEnv({ [PROVIDERS_ENV]: '  ' }), undefined);
});

test('unknown provider names are typed errors naming the field and the known providers', async () => {
  await assert.rejects(OnnxSession.create(bytes, { executionProviders: ['gpu'] }), isError('INVALID_ARGUMENT', /executionProviders must list .* among cpu.*; received unknown provider\(s\) "gpu"/));
  await assert.rejects(OnnxSession.create(bytes, { executionProviders: [] }), isError('INVALID_ARGUMENT', /received an empty list/));
  assert.throws(() => executionProvidersFromEnv({ [PROVIDERS_ENV]: 'cpu,tpu' }), isError('INVALID_CONFIG', /NASNET_ORT_PROVIDERS must list .*"tpu"/));
  await withEnv('tpu', () => assert.rejects(OnnxSession.create(bytes), isError('INVALID_CONFIG', /NASNET_ORT_PROVIDERS/)));
  // loadClassifier checks the option before building the network
  await assert.rejects(
    loadClassifier({ weights: defaultClassifierPath(), engine: 'onnx', executionProviders: ['cuda12'], onnxCache: false }),
    isError('INVALID_ARGUMENT', /loadClassifier: executionProviders .*"cuda12"/),
  );
});
