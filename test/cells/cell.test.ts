// Every search-space op in both cell kinds: builds, runs forward and backward (cpu: the reference
// backend with every gradient kernel), no tensor leaks; plus the dilated conv against tf.conv2d.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { initEngine } from '../../core/engine.js';
import { buildCell } from '../../cells/cell.js';
import { DilatedConv2D } from '../../cells/dilated_conv.js';
import type { CellGenotype } from '../../cells/genotype.js';
import { KerasNamer } from '../../cells/keras_layers.js';
import { setDropPathProgress } from '../../cells/drop_path.js';
import { initializeWeights } from '../../backbones/weight_init.js';
import { OPS, type CellKind, type OpName } from '../../cells/search_space.js';
import { NasnetError } from '../../core/errors.js';

/** Five blocks of `op` reading h_i, h_{i-1} and earlier blocks; block 2 concatenates (a 2F-wide state). */
function cellOf(op: OpName): CellGenotype {
  return {
    blocks: [
      { inputs: [0, 1], ops: [op, op], combine: 'add' },
      { inputs: [2, 0], ops: [op, op], combine: 'concat' },
      { inputs: [3, 1], ops: [op, op], combine: 'add' },
      { inputs: [4, 3], ops: [op, op], combine: 'add' },
      { inputs: [5, 2], ops: [op, op], combine: 'add' },
    ],
    concat: [1, 5, 6], // h_{i-1} goes through a factorized reduction in a reduction cell
  };
}

const F = 4;

function buildSmallCell(op: OpName, kind: CellKind, dropPath: boolean): tfl.LayersModel {
  const ip = tfl.input({ shape: [8, 8, 6] });
  const p = tfl.input({ shape: [16, 16, 5] }); // wider: the adjust block runs a factorized reduction
  const { output } = buildCell(cellOf(op), ip, p, {
    kind,
    id: 'x',
    filters: F,
    namer: new KerasNamer(),
    dropPath: dropPath ? { keepProb: 0.5, cellIndex: 1, totalCells: 2 } : undefined,
  });
  return tfl.model({ inputs: [ip, p], outputs: output });
}

describe('buildCell: every op in both cell kinds', () => {
  for (const kind of ['normal', 'reduction'] as const) {
    test(`${kind}: all 13 ops build, run forward (shape, finite) and backward (a finite gradient for every weight)`, async () => {
      await initEngine({ backend: 'cpu' });
      const x = [tf.randomNormal([2, 8, 8, 6], 0, 1, 'float32', 1), tf.randomNormal([2, 16, 16, 5], 0, 1, 'float32', 2)];
      for (const op of OPS) {
        const model = buildSmallCell(op, kind, true);
        // Seeded weights and drop-path masks: which branches a mask drops decides which gradients are
        // zero, so unseeded masks made the non-zero count below vary from run to run.
        initializeWeights(model, 7);
        setDropPathProgress(model, 0.5, 3);
        const size = kind === 'normal' ? 8 : 4;
        const before = tf.memory().numTensors;
        const y = model.predict(x) as tf.Tensor;
        // concat = [P (F), block 4 (F), block 5 (F)]
        assert.deepEqual(y.shape, [2, size, size, 3 * F], op);
        assert.ok(y.dataSync().every(Number.isFinite), op);
        y.dispose();
        assert.equal(tf.memory().numTensors, before, `${op}: forward leaks`);

        const variables = model.trainableWeights.map((w) => w.read() as tf.Variable);
        const { value, grads } = tf.variableGrads(() => tf.mean(tf.square(model.apply(x, { training: true }) as tf.Tensor)) as tf.Scalar, variables);
        assert.equal(Object.keys(grads).length, variables.length, op);
        let nonZero = 0;
        for (const g of Object.values(grads)) {
          const data = g.dataSync();
          assert.ok(data.every(Number.isFinite), `${op}: gradient not finite`);
          if (data.some((v) => v !== 0)) nonZero++;
        }
        assert.ok(nonZero > variables.length / 2, `${op}: only ${nonZero} of ${variables.length} gradients are non-zero`);
        tf.dispose([value, ...Object.values(grads)]);
        model.layers.forEach((layer) => layer.dispose());
      }
      tf.dispose(x);
    });
  }

  test('layer names follow Keras (conv_1, bn_1, block ids, add, concat) and the cell is validated', () => {
    const model = buildSmallCell('sep_conv_3x3', 'reduction', false);
    const names = new Set(model.layers.map((l) => l.name));
    for (const name of ['reduction_conv_1_x', 'reduction_bn_1_x', 'adjust_bn_x', 'separable_conv_1_pad_reduction_left1_x', 'separable_conv_2_bn_reduction_right5_x', 'reduction_add_1_x', 'reduction_concat_2_x', 'reduction_concat_x']) {
      assert.ok(names.has(name), name);
    }
    assert.ok(![...names].some((n) => n.startsWith('drop_path')), 'keep 1 adds no drop-path layers');
    const bad = { ...cellOf('identity'), concat: [] };
    assert.throws(
      () => buildCell(bad, tfl.input({ shape: [4, 4, 2] }), null, { kind: 'normal', id: 'y', filters: 2, namer: new KerasNamer() }),
      (e: unknown) => e instanceof NasnetError && e.code === 'INVALID_DATA' && /buildCell\(y\)\.cell\.concat must be a non-empty array/.test(e.message),
    );
  });
});

test('DilatedConv2D equals tf.conv2d with dilation 2 and "same" padding', async () => {
  await initEngine({ backend: 'cpu' });
  const x = tf.randomNormal([2, 7, 6, 3], 0, 1, 'float32', 3) as tf.Tensor4D;
  const layer = new DilatedConv2D({ filters: 5, name: 'dil' });
  const y = layer.apply(x) as tf.Tensor;
  const kernel = layer.getWeights()[0] as tf.Tensor4D;
  const reference = tf.conv2d(x, kernel, 1, 'same', 'NHWC', 2);
  assert.deepEqual(y.shape, [2, 7, 6, 5]);
  const diff = tf.max(tf.abs(tf.sub(y, reference))).dataSync()[0]!;
  assert.ok(diff < 1e-5, `max diff ${diff}`);
  tf.dispose([x, y, reference]);
  layer.dispose();
});
