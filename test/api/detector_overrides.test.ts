// loadDetector's inference overrides: proposals (the OD API's lowproposals) and the ROI align sampling ratio.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { loadFasterRcnn } from '../../src/api/detector.js';
import { defaultDetectorPath } from '../../src/api/defaults.js';
import { initEngine } from '../../core/engine.js';
import { NasnetError } from '../../core/errors.js';

before(async () => {
  await initEngine({ backend: 'wasm' });
});

test('proposals and roiSamplingRatio override the checkpoint; everything else is kept', async () => {
  const plain = await loadFasterRcnn(defaultDetectorPath());
  const low = await loadFasterRcnn(defaultDetectorPath(), { proposals: 7, roiSamplingRatio: 1 });
  try {
    assert.equal(plain.config.proposals.test.postNmsTopN, 100);
    assert.equal(plain.config.roiSamplingRatio, 2);
    assert.equal(low.config.proposals.test.postNmsTopN, 7);
    assert.equal(low.config.roiSamplingRatio, 1);
    assert.deepEqual({ ...low.config, proposals: plain.config.proposals, roiSamplingRatio: 2 }, plain.config);
    assert.deepEqual(low.config.proposals.train, plain.config.proposals.train);
    assert.equal(low.config.proposals.test.preNmsTopN, plain.config.proposals.test.preNmsTopN);
  } finally {
    plain.dispose();
    low.dispose();
  }
});

test('invalid overrides are INVALID_ARGUMENT naming the field', async () => {
  for (const [overrides, field] of [[{ proposals: 0 }, 'proposals'], [{ proposals: 2.5 }, 'proposals'], [{ roiSamplingRatio: 0 }, 'roiSamplingRatio']] as const) {
    await assert.rejects(loadFasterRcnn(defaultDetectorPath(), overrides), (e: unknown) => e instanceof NasnetError && e.code === 'INVALID_ARGUMENT' && e.message.includes(field));
  }
});
