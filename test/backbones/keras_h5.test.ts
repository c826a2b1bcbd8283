// Keras legacy .h5 reading and writing. References: h5py's reading of the Keras-made files
// (test/fixtures/keras-h5/make_fixtures.py wrote expected.json and mobile_notop_probe.json); the layout
// of the shared NASNet fixture (fixtures README "Weight file layout").
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import h5wasm from 'h5wasm/node';
import { packageRoot } from '../../core/paths.js';
import { NasnetError } from '../../core/errors.js';
import { readKerasWeights, readKerasWeightsFile, writeKerasWeights, writeKerasWeightsFile, type KerasWeightFile } from '../../backbones/keras_h5.js';

const H5_DIR = join(packageRoot(), 'test', 'fixtures', 'keras-h5');
const NASNET_H5 = join(packageRoot(), 'test', 'fixtures', 'keras-nasnet', 'mobile_notop_seed1.h5');

interface ExpectedFile {
  layer_names: string[];
  backend: string;
  keras_version: string;
  layers: { name: string; weights: { name: string; dtype: string; shape: number[]; values: number[] }[] }[];
}
interface Probe {
  layer_count: number;
  first_layer_names: string[];
  last_layer_name: string;
  weighted_layer_count: number;
  weighted_layers: string[];
  weight_count: number;
  parameters: number;
  all_tensors_sha256: string;
  tensors: Record<string, { layer: string; shape: number[]; first8: number[]; sha256: string }>;
}

const SCRATCH = await mkdtemp(join(tmpdir(), 'keras_h5_test-'));
after(() => rm(SCRATCH, { recursive: true, force: true }));

async function json<T>(name: string): Promise<T> {
  return JSON.parse(await readFile(join(H5_DIR, name), 'utf8')) as T;
}

function bytesOf(data: Float32Array): Buffer {
  return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}

function sha256(data: Float32Array): string {
  return createHash('sha256').update(bytesOf(data)).digest('hex');
}

function assertSameFile(actual: KerasWeightFile, expected: KerasWeightFile): void {
  assert.deepEqual(actual.layerNames, expected.layerNames);
  assert.deepEqual(actual.attrs, expected.attrs);
  assert.equal(actual.layers.length, expected.layers.length);
  actual.layers.forEach((layer, i) => {
    assert.equal(layer.name, expected.layers[i].name);
    assert.deepEqual(layer.weights.map((w) => [w.name, w.shape]), expected.layers[i].weights.map((w) => [w.name, w.shape]));
    layer.weights.forEach((w, j) => assert.ok(bytesOf(w.data).equals(bytesOf(expected.layers[i].weights[j].data)), `${w.name} differs`));
  });
}

async function rejectsWith(promise: Promise<unknown>, code: string, pattern: RegExp): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof NasnetError, `expected a NasnetError, received ${String(error)}`);
    assert.equal(error.code, code);
    assert.match(error.message, pattern);
    return true;
  });
}

async function leftoverTempDirs(): Promise<string[]> {
  return (await readdir(tmpdir())).filter((name) => name.startsWith('nasnet-h5-'));
}

describe('readKerasWeights on the Keras NASNetMobile no-top file', async () => {
  const probe = await json<Probe>('mobile_notop_probe.json');
  const file = await readKerasWeightsFile(NASNET_H5);

  test('layer_names, weighted layers and totals equal h5py', () => {
    assert.equal(file.layerNames.length, probe.layer_count);
    assert.equal(file.layerNames.length, 769);
    assert.deepEqual(file.layerNames.slice(0, 6), probe.first_layer_names);
    assert.equal(file.layerNames.at(-1), probe.last_layer_name);
    assert.equal(file.layers.length, probe.weighted_layer_count);
    assert.deepEqual(file.layers.slice(0, 5).map((l) => l.name), probe.weighted_layers);
    const tensors = file.layers.flatMap((l) => l.weights);
    assert.equal(tensors.length, probe.weight_count);
    assert.equal(tensors.reduce((n, w) => n + w.data.length, 0), 4_269_716); // README totals: NASNetMobile no-top
    assert.deepEqual(file.attrs, { backend: 'tensorflow', kerasVersion: '3.15.1' });
  });

  test('tensor names, shapes and bytes equal h5py', () => {
    const hash = createHash('sha256');
    for (const layer of file.layers) for (const w of layer.weights) hash.update(bytesOf(w.data));
    assert.equal(hash.digest('hex'), probe.all_tensors_sha256);
    for (const [name, ref] of Object.entries(probe.tensors)) {
      const w = file.layers.find((l) => l.name === ref.layer)?.weights.find((x) => x.name === name);
      assert.ok(w, name);
      assert.deepEqual(w.shape, ref.shape);
      assert.deepEqual([...w.data.subarray(0, 8)], ref.first8);
      assert.equal(sha256(w.data), ref.sha256);
    }
  });

  test('the bytes API reads the same and removes its temporary file', async () => {
    const before = await leftoverTempDirs();
    assertSameFile(await readKerasWeights(await readFile(NASNET_H5)), file);
    assert.deepEqual(await leftoverTempDirs(), before);
  });

  test('write then read is bit-identical and keeps the legacy layout', async () => {
    const bytes = await writeKerasWeights(file);
    assertSameFile(await readKerasWeights(bytes), file);
    // the layout itself, looked at with h5wasm
    const path = join(SCRATCH, 'mobile_notop.h5');
    await writeKerasWeightsFile(file, path);
    await h5wasm.ready;
    const h5 = new h5wasm.File(path, 'r');
    try {
      const names = h5.attrs.layer_names;
      assert.equal(names.metadata.vlen, false);
      assert.equal(names.metadata.cset, 0); // ASCII, as h5py writes Python bytes
      assert.equal(names.metadata.size, Math.max(...file.layerNames.map((n) => n.length)));
      assert.equal(h5.attrs.keras_version.value, '3.15.1');
      const weightless = (h5.get('input_layer') as InstanceType<typeof h5wasm.Group>).attrs.weight_names;
      assert.equal(weightless.metadata.type, 1); // an empty float64 array, like Keras 2 files
      assert.deepEqual(weightless.shape, [0]);
      const kernel = h5.get('stem_conv1/stem_conv1/kernel:0') as InstanceType<typeof h5wasm.Dataset>;
      assert.equal(kernel.dtype, '<f');
      assert.deepEqual(kernel.shape, [3, 3, 3, 32]);
    } finally {
      h5.close();
    }
  });
});

describe('readKerasWeights on small Keras 3 files', async () => {
  const expected = await json<Record<string, ExpectedFile>>('expected.json');

  for (const name of ['tiny_full_model.h5', 'tiny_float64.h5']) {
    test(`${name}: names as stored, shapes and values equal h5py`, async () => {
      const ref = expected[name];
      const file = await readKerasWeightsFile(join(H5_DIR, name));
      assert.deepEqual(file.layerNames, ref.layer_names);
      assert.deepEqual(file.attrs, { backend: ref.backend, kerasVersion: ref.keras_version });
      assert.deepEqual(file.layers.map((l) => l.name), ref.layers.map((l) => l.name));
      file.layers.forEach((layer, i) => {
        layer.weights.forEach((w, j) => {
          const r = ref.layers[i].weights[j];
          assert.equal(w.name, r.name);
          assert.deepEqual(w.shape, r.shape);
          assert.ok(w.data instanceof Float32Array);
          assert.deepEqual([...w.data], r.values.map(Math.fround));
        });
      });
    });
  }

  test('tiny_full_model.h5 is read under /model_weights with its scoped, variable-length names', async () => {
    const file = await readKerasWeightsFile(join(H5_DIR, 'tiny_full_model.h5'));
    assert.deepEqual(file.layers.find((l) => l.name === 'conv')?.weights.map((w) => w.name), ['block_0/conv/kernel']);
  });

  test('tiny_float64.h5 holds float64 datasets that are rounded to float32', () => {
    const dtypes = expected['tiny_float64.h5'].layers.flatMap((l) => l.weights.map((w) => w.dtype));
    assert.deepEqual([...new Set(dtypes)], ['<f8']);
    const values = expected['tiny_float64.h5'].layers.flatMap((l) => l.weights.flatMap((w) => w.values));
    assert.ok(values.some((v) => Math.fround(v) !== v), 'the float64 values are not all float32-representable');
  });
});

describe('readKerasWeights errors', () => {
  test('bytes that are not HDF5', async () => {
    await rejectsWith(readKerasWeights(new TextEncoder().encode('{"not": "hdf5"}')), 'INVALID_DATA', /the input bytes: not a readable HDF5 file \(.*signature not found\)/);
  });

  test('a truncated file', async () => {
    const bytes = await readFile(NASNET_H5);
    await rejectsWith(readKerasWeights(bytes.subarray(0, 4_000_000)), 'INVALID_DATA', /not a readable HDF5 file \(.*truncated/);
  });

  test('randomly damaged files either read or fail with INVALID_DATA, never crash or hang', async () => {
    const base = await readFile(join(H5_DIR, 'tiny_full_model.h5'));
    let state = 12345; // a fixed LCG: the same 40 damaged files every run
    const next = (n: number): number => (state = (state * 1103515245 + 12345) % 2147483648) % n;
    const outcomes = new Set<string>();
    for (let trial = 0; trial < 40; trial++) {
      const bytes = Buffer.from(base);
      for (let flips = 1 + next(8); flips > 0; flips--) bytes[next(bytes.length)] ^= 1 + next(255);
      try {
        await readKerasWeights(bytes);
        outcomes.add('read');
      } catch (error) {
        assert.ok(error instanceof NasnetError && error.code === 'INVALID_DATA', `trial ${trial}: ${String(error)}`);
        outcomes.add('INVALID_DATA');
      }
    }
    assert.deepEqual([...outcomes].sort(), ['INVALID_DATA', 'read']); // both paths were exercised
  });

  test('a missing path is an I/O error', async () => {
    await rejectsWith(readKerasWeightsFile(join(H5_DIR, 'no_such_file.h5')), 'IO_ERROR', /cannot read .*no_such_file\.h5/);
  });

  test('an HDF5 file without layer_names', async () => {
    await rejectsWith(readKerasWeightsFile(join(H5_DIR, 'not_keras.h5')), 'INVALID_DATA', /not a Keras weight file: no layer_names attribute at \/ or \/model_weights/);
  });

  test("Keras 3's native .weights.h5 layout is named as such", async () => {
    await rejectsWith(readKerasWeightsFile(join(H5_DIR, 'keras3_native.weights.h5')), 'INVALID_DATA', /a Keras 3 native weights file .*model\.save\('model\.h5'\)/);
  });

  test('a weight_names entry without its dataset', async () => {
    await rejectsWith(readKerasWeightsFile(join(H5_DIR, 'broken_missing_dataset.h5')), 'INVALID_DATA', /layer "dense" lists weight "dense\/bias:0" in weight_names but \/dense\/dense\/bias:0 is not a dataset/);
  });

  test('a layer group without weight_names', async () => {
    await rejectsWith(readKerasWeightsFile(join(H5_DIR, 'broken_no_weight_names.h5')), 'INVALID_DATA', /group \/dense has no weight_names attribute/);
  });
});

describe('writeKerasWeights', () => {
  const weight = (name: string, values: number[], shape: number[]) => ({ name, shape, data: Float32Array.from(values) });

  test('long layer_names lists are split into layer_names0.. as Keras does, and read back whole', async () => {
    // 1500 names x 60 bytes = 90,000 bytes > the 64,512-byte object header limit: 2 chunks of 750
    const layerNames = Array.from({ length: 1500 }, (_, i) => `layer_${String(i).padStart(4, '0')}_`.padEnd(60, 'x'));
    const file: KerasWeightFile = {
      layerNames,
      attrs: { backend: 'tensorflow', kerasVersion: '2.1.6' },
      layers: [{ name: layerNames[7], weights: [weight(`${layerNames[7]}/bias:0`, [1.5, -2], [2])] }],
    };
    const path = join(SCRATCH, 'chunks.h5');
    await writeKerasWeightsFile(file, path);
    await h5wasm.ready;
    const h5 = new h5wasm.File(path, 'r');
    try {
      assert.deepEqual(Object.keys(h5.attrs).filter((k) => k.startsWith('layer_names')).sort(), ['layer_names0', 'layer_names1']);
      assert.deepEqual(h5.attrs.layer_names0.shape, [750]);
    } finally {
      h5.close();
    }
    const back = await readKerasWeightsFile(path);
    assert.deepEqual(back.layerNames, layerNames);
    assert.deepEqual([...back.layers[0].weights[0].data], [1.5, -2]);
  });

  test('rejects weights of a layer missing from layerNames, and a shape that does not fit the data', async () => {
    await rejectsWith(
      writeKerasWeights({ layerNames: ['a'], attrs: {}, layers: [{ name: 'b', weights: [weight('b/bias:0', [1], [1])] }] }),
      'INVALID_ARGUMENT',
      /layer "b" has weights but is not in layerNames/,
    );
    await rejectsWith(
      writeKerasWeights({ layerNames: ['a'], attrs: {}, layers: [{ name: 'a', weights: [weight('a/kernel:0', [1, 2, 3], [2, 2])] }] }),
      'INVALID_ARGUMENT',
      /weight "a\/kernel:0" of layer "a" has shape \[2,2\] \(4 values\) but 3 values/,
    );
  });

  test('a file without attrs or weights round-trips', async () => {
    const empty: KerasWeightFile = { layerNames: ['input_layer', 'flatten'], attrs: {}, layers: [] };
    assertSameFile(await readKerasWeights(await writeKerasWeights(empty)), empty);
  });
});
