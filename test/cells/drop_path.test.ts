import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { initEngine } from '../../core/engine.js';
import { ScheduledDropPath, cellKeepProb, scheduledKeepProb, setDropPathProgress } from '../../cells/drop_path.js';
import { NasnetError } from '../../core/errors.js';

test('keep probability: slim v3 schedule by cell position and training progress', () => {
  // Large: k0 0.7, 22 cells. Cell 10 at the end of training: 1 - (11/22)*0.3 = 0.85.
  assert.ok(Math.abs(cellKeepProb(0.7, 10, 22) - 0.85) < 1e-12);
  // Deepest CIFAR cell (19 of 20) reaches k0 exactly.
  assert.ok(Math.abs(cellKeepProb(0.6, 19, 20) - 0.6) < 1e-12);
  // Half-way through training: 1 - 0.5 * (1 - 0.85) = 0.925; progress clamps to [0, 1].
  assert.ok(Math.abs(scheduledKeepProb(0.7, 10, 22, 0.5) - 0.925) < 1e-12);
  assert.equal(scheduledKeepProb(0.7, 10, 22, 0), 1);
  assert.ok(Math.abs(scheduledKeepProb(0.7, 10, 22, 3) - 0.85) < 1e-12);
});

test('ScheduledDropPath: identity at inference, per-example 0 or x/k in training, progress from the loop', async () => {
  await initEngine({ backend: 'cpu' });
  const input = tfl.input({ shape: [2, 2, 3] });
  const layer = new ScheduledDropPath({ keepProb: 0.5, cellIndex: 3, totalCells: 4, name: 'dp' });
  const model = tfl.model({ inputs: input, outputs: layer.apply(input) as tfl.SymbolicTensor });
  assert.equal(setDropPathProgress(model, 1), 1);
  assert.equal(layer.currentKeepProb(), 0.5); // deepest cell, training done: k = k0
  const x = tf.ones([64, 2, 2, 3]);

  const inference = model.predict(x) as tf.Tensor;
  assert.deepEqual(Array.from(inference.dataSync()), Array.from(x.dataSync()));

  const trained = model.apply(x, { training: true }) as tf.Tensor;
  const values = trained.dataSync();
  const perExample = Array.from({ length: 64 }, (_, n) => values[n * 12]!);
  for (let n = 0; n < 64; n++) {
    assert.ok(perExample[n] === 0 || perExample[n] === 2, `example ${n}: ${perExample[n]}`);
    for (let j = 1; j < 12; j++) assert.equal(values[n * 12 + j], perExample[n]); // one mask per example
  }
  const kept = perExample.filter((v) => v === 2).length;
  assert.ok(kept > 16 && kept < 48, `kept ${kept} of 64 at k = 0.5`);

  setDropPathProgress(model, 0); // start of training: keep everything
  const early = model.apply(x, { training: true }) as tf.Tensor;
  assert.deepEqual(Array.from(early.dataSync()), Array.from(x.dataSync()));
  tf.dispose([x, inference, trained, early]);
});

test('ScheduledDropPath: serializes its config; bad arguments name the field', () => {
  const layer = new ScheduledDropPath({ keepProb: 0.7, cellIndex: 2, totalCells: 22, name: 'dp2' });
  const config = layer.getConfig();
  assert.equal(config.keepProb, 0.7);
  assert.equal(config.cellIndex, 2);
  assert.equal(config.totalCells, 22);
  assert.ok(tf.serialization.SerializationMap.getMap().classNameMap.ScheduledDropPath !== undefined);
  assert.throws(() => new ScheduledDropPath({ keepProb: 0, cellIndex: 0, totalCells: 2 }), (e: unknown) => e instanceof NasnetError && /keepProb must be in \(0, 1\]/.test(e.message));
  assert.throws(() => new ScheduledDropPath({ keepProb: 0.5, cellIndex: 2, totalCells: 2 }), (e: unknown) => e instanceof NasnetError && /cellIndex < totalCells/.test(e.message));
});

test('ScheduledDropPath: a step seed makes the masks reproducible; layers of a model draw different masks', async () => {
  await initEngine({ backend: 'cpu' });
  const input = tfl.input({ shape: [1, 1, 1] });
  const a = new ScheduledDropPath({ keepProb: 0.5, cellIndex: 0, totalCells: 1, name: 'dp_seed_a' });
  const b = new ScheduledDropPath({ keepProb: 0.5, cellIndex: 0, totalCells: 1, name: 'dp_seed_b' });
  const model = tfl.model({ inputs: input, outputs: [a.apply(input) as tfl.SymbolicTensor, b.apply(input) as tfl.SymbolicTensor] });
  const x = tf.ones([64, 1, 1, 1]);
  const masks = (seed: number): string[] => {
    setDropPathProgress(model, 1, seed);
    const outs = model.apply(x, { training: true }) as tf.Tensor[];
    const bits = outs.map((o) => Array.from(o.dataSync(), (v) => (v > 0 ? '1' : '0')).join(''));
    tf.dispose(outs);
    return bits;
  };
  const [a1, b1] = masks(11);
  assert.deepEqual(masks(11), [a1, b1]);
  assert.notEqual(a1, b1);
  assert.notEqual(masks(12)[0], a1);
  x.dispose();
});
