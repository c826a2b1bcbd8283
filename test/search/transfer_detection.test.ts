// Transfer to detection: a searched cell (any valid decision vector) builds the Faster R-CNN backbone (the
// detection split finds its stages by Keras cell names, which are the same for every genotype) and detects.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { initEngine } from '../../core/engine.js';
import { FasterRcnn } from '../../detection/faster_rcnn.js';
import { decisionsToGenotype } from '../../search/decisions.js';
import { RandomSearch } from '../../search/random.js';
import { TINY_DETECTOR } from '../detection/tiny_detector.js';

test('a searched cell builds a Faster R-CNN (1 cell @ F = 4, 64 x 64) that detects', async () => {
  await initEngine({ backend: 'wasm' });
  const genotype = decisionsToGenotype(new RandomSearch(5).propose(0, 1)[0]!.decisions, 'random-5');
  const model = new FasterRcnn({ ...TINY_DETECTOR, backbone: { preset: 'mobile', numCells: 1, penultimateFilters: 96, stemFilters: 8, genotype } });
  const images = tf.zeros([1, 64, 64, 3]) as tf.Tensor4D;
  try {
    assert.equal(model.split.featureStride, 16);
    const detections = await model.detect(images, [[0, 0, 1, 1]]);
    assert.equal(detections.length, 1);
  } finally {
    images.dispose();
    model.dispose();
  }
});
