// The model registry: "default" resolves to the embedded default, unknown kinds list the known ones,
// weights paths resolve against the models folder, kinds cannot be registered twice.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Classifier } from '../../src/api/types.js';
import { NasnetError } from '../../core/errors.js';
import { loadClassifier, modelKinds, resolveModelKind, SHAPES_DETECTOR_KIND } from '../../src/models/builtin.js';
import { registerClassifier, type ModelLoadOptions } from '../../src/models/registry.js';

test('"default" is the kind registered last with isDefault; the placeholder stays available', () => {
  assert.equal(resolveModelKind('detection', 'default'), SHAPES_DETECTOR_KIND);
  assert.equal(resolveModelKind('detection', 'placeholder-tiny'), 'placeholder-tiny');
  assert.ok(modelKinds('classification').includes('placeholder-tiny'));
  assert.ok(modelKinds('detection').includes('placeholder-tiny'));
});

test('an unknown kind is INVALID_CONFIG naming the known kinds', () => {
  assert.throws(
    () => resolveModelKind('detection', 'yolo'),
    (error: unknown) =>
      error instanceof NasnetError && error.code === 'INVALID_CONFIG' && /unknown kind "yolo"; expected one of "default", "placeholder-tiny", /.test(error.message),
  );
});

test('loaders receive absolute weights resolved against modelsDir; duplicates are refused', async () => {
  const seen: ModelLoadOptions[] = [];
  const fake = async (options: ModelLoadOptions): Promise<Classifier> => {
    seen.push(options);
    throw new NasnetError('CHECKPOINT_INVALID', 'test loader');
  };
  registerClassifier('test-recorder', fake);
  const context = { modelsDir: '/models', maxPixels: 100, engine: 'cpu' };
  await assert.rejects(loadClassifier({ kind: 'test-recorder', weights: 'nasnet/mobile.h5' }, context), /test loader/);
  await assert.rejects(loadClassifier({ kind: 'test-recorder', weights: '/abs/w.h5' }, context), /test loader/);
  await assert.rejects(loadClassifier({ kind: 'test-recorder' }, context), /test loader/);
  assert.deepEqual(seen, [
    { weights: '/models/nasnet/mobile.h5', maxPixels: 100, engine: 'cpu' },
    { weights: '/abs/w.h5', maxPixels: 100, engine: 'cpu' },
    { maxPixels: 100, engine: 'cpu' },
  ]);
  assert.throws(() => registerClassifier('test-recorder', fake), /already registered/);
  assert.throws(() => registerClassifier('default', fake), /not "default"/);
});
