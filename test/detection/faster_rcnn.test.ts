// The composition on a tiny config: geometry of the anchors, the four named losses, inference without
// leaks, both second-stage heads, frozen BatchNorm, config validation.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-layers';
import { initEngine } from '../../core/engine.js';
import { NasnetError } from '../../core/errors.js';
import { createPrng } from '../../core/prng.js';
import { FasterRcnn } from '../../detection/faster_rcnn.js';
import { resolveFasterRcnnConfig } from '../../detection/faster_rcnn_config.js';
import { TINY_DETECTOR } from './tiny_detector.js';

const image = (): tf.Tensor4D => tf.randomUniform([1, 64, 64, 3], -1, 1, 'float32', 7) as tf.Tensor4D;
const gt = { boxes: Float32Array.from([0.1, 0.1, 0.4, 0.3, 0.5, 0.55, 0.9, 0.95]), labels: Int32Array.from([1, 2]) };

describe('FasterRcnn (tiny config)', () => {
  test('anchors: a 4x4 map at stride 16, cell anchors centred mid-cell, 8 and 16 px, normalised to the input', async () => {
    await initEngine({ backend: 'wasm' });
    const model = new FasterRcnn(TINY_DETECTOR);
    try {
      assert.deepEqual(model.featureSize, [4, 4]);
      assert.equal(model.split.featureStride, 16);
      assert.equal(model.anchorBoxes.length, 4 * 4 * 2 * 4);
      // cell (0,0): centre (8,8); 8 px square [4,4,12,12] then 16 px [0,0,16,16]; cell (0,1) centre (8,24).
      const px = Array.from(model.anchorBoxes.subarray(0, 12), (v) => v * 64);
      assert.deepEqual(px, [4, 4, 12, 12, 0, 0, 16, 16, 4, 20, 12, 28]);
    } finally {
      model.dispose();
    }
  });

  test('losses: the four fixed names, finite; without objects both box losses are exactly 0', async () => {
    await initEngine({ backend: 'wasm' });
    const model = new FasterRcnn(TINY_DETECTOR);
    const x = image();
    try {
      const values = tf.tidy(() => {
        const withObjects = model.losses(x, [gt], [[0, 0, 1, 1]], createPrng(1));
        const empty = model.losses(x, [{ boxes: new Float32Array(0), labels: new Int32Array(0) }], [[0, 0, 1, 1]], createPrng(1));
        return [withObjects, empty].map((l) => Object.fromEntries(Object.entries(l).map(([k, v]) => [k, v.dataSync()[0]!])));
      });
      const [withObjects, empty] = values as [Record<string, number>, Record<string, number>];
      assert.deepEqual(Object.keys(withObjects).sort(), ['loss_box_reg', 'loss_classifier', 'loss_objectness', 'loss_rpn_box_reg']);
      for (const v of Object.values(withObjects)) assert.ok(Number.isFinite(v) && v >= 0);
      // Untrained: objectness logits ~0 give BCE ~ log 2; the classifier starts near log 3 (3 classes).
      assert.ok(Math.abs(withObjects.loss_objectness! - Math.LN2) < 0.05, `objectness ${withObjects.loss_objectness}`);
      assert.ok(Math.abs(withObjects.loss_classifier! - Math.log(3)) < 0.1, `classifier ${withObjects.loss_classifier}`);
      assert.ok(withObjects.loss_rpn_box_reg! > 0);
      assert.equal(empty.loss_rpn_box_reg, 0);
      assert.equal(empty.loss_box_reg, 0);
    } finally {
      x.dispose();
      model.dispose();
    }
  });

  test('detect: boxes inside the image window, scores sorted, labels 1..K, no tensor leaks over repeated calls', async () => {
    await initEngine({ backend: 'wasm' });
    const model = new FasterRcnn({ ...TINY_DETECTOR, postprocess: { scoreThreshold: 0 } });
    const x = image();
    try {
      await model.detect(x, [[0, 0, 0.5, 1]]); // warm-up (lazy kernels)
      const before = tf.memory().numTensors;
      for (let i = 0; i < 3; i++) {
        const [d] = await model.detect(x, [[0, 0, 0.5, 1]]);
        assert.ok(d!.scores.length > 0);
        for (let k = 1; k < d!.scores.length; k++) assert.ok(d!.scores[k - 1]! >= d!.scores[k]!);
        for (let k = 0; k < d!.boxes.length; k++) assert.ok(d!.boxes[k]! >= 0 && d!.boxes[k]! <= (k % 2 === 0 ? 0.5 : 1));
        for (const label of d!.labels) assert.ok(label === 1 || label === 2);
      }
      assert.equal(tf.memory().numTensors, before);
    } finally {
      x.dispose();
      model.dispose();
    }
  });

  test('2-FC head: no stage-2 cells; frozen BN: BN weights are not trainable, BN statistics never are', async () => {
    await initEngine({ backend: 'wasm' });
    const fc = new FasterRcnn({ ...TINY_DETECTOR, boxHead: 'two-fc', fcDim: 8 });
    const frozen = new FasterRcnn({ ...TINY_DETECTOR, frozenBatchNorm: true });
    try {
      const names = fc.variables().map((v) => v.name);
      assert.ok(names.includes('box_head/fc6/kernel'));
      assert.ok(!names.some((n) => n.startsWith('reduction_') && n.includes('reduce_2')), 'stage-2 cells are not part of the 2-FC model');
      const x = image();
      const [d] = await fc.detect(x, [[0, 0, 1, 1]]);
      x.dispose();
      assert.ok(d!.boxes.length % 4 === 0);
      const bn = frozen.variables().filter((v) => v.name === 'stem_bn1/gamma' || v.name === 'stem_bn1/moving_mean');
      assert.equal(bn.length, 2);
      assert.ok(bn.every((v) => !v.trainable));
      assert.ok(frozen.variables().find((v) => v.name === 'stem_conv1/kernel')!.trainable);
      assert.ok(!new FasterRcnn(TINY_DETECTOR).variables().find((v) => v.name === 'stem_bn1/moving_mean')!.trainable);
    } finally {
      fc.dispose();
      frozen.dispose();
    }
  });

  test('config validation names the field', () => {
    const fails = (partial: object, field: RegExp) =>
      assert.throws(() => resolveFasterRcnnConfig(partial), (e: unknown) => e instanceof NasnetError && e.code === 'INVALID_CONFIG' && field.test(e.message));
    fails({ cropSize: 7 }, /cropSize must be even/);
    fails({ numClasses: 0 }, /numClasses must be a positive integer/);
    fails({ anchors: { scales: [], aspectRatios: [1], baseSize: 16 } }, /anchors.scales/);
    fails({ numClasses: 2, classNames: ['a'] }, /classNames must be 2 names/);
    fails({ bogus: 1 }, /bogus must be a known field/);
    assert.deepEqual(resolveFasterRcnnConfig({ numClasses: 2 }).categoryIds, [1, 2]);
  });
});
