import { test } from 'node:test';
import assert from 'node:assert/strict';
import { learningRateAt } from '../../../core/training/lr_schedule.js';

const close = (a: number, b: number) => assert.ok(Math.abs(a - b) < 1e-12, `${a} vs ${b}`);

test('cosine: lr at 0, half at the midpoint, minLr at the end and after', () => {
  const s = { kind: 'cosine', lr: 0.025, totalSteps: 100 } as const;
  close(learningRateAt(s, 0), 0.025);
  close(learningRateAt(s, 50), 0.0125);
  close(learningRateAt(s, 25), 0.0125 * (1 + Math.SQRT1_2));
  close(learningRateAt(s, 100), 0);
  close(learningRateAt({ ...s, minLr: 0.001 }, 200), 0.001);
});

test('exponential: NASNet ImageNet x0.97 every 2.4 epochs, staircase and smooth', () => {
  const s = { kind: 'exponential', lr: 2, decayRate: 0.97, decaySteps: 240, staircase: true } as const;
  close(learningRateAt(s, 239), 2);
  close(learningRateAt(s, 240), 1.94);
  close(learningRateAt(s, 480), 2 * 0.97 * 0.97);
  close(learningRateAt({ ...s, staircase: false }, 120), 2 * Math.sqrt(0.97));
});

test('step decay with linear warm-up (the detector schedule)', () => {
  const s = { kind: 'step', lr: 0.02, boundaries: [100, 150], factor: 0.1, warmupSteps: 10 } as const;
  close(learningRateAt(s, 0), 0.002);
  close(learningRateAt(s, 4), 0.01);
  close(learningRateAt(s, 10), 0.02);
  close(learningRateAt(s, 99), 0.02);
  close(learningRateAt(s, 100), 0.002);
  close(learningRateAt(s, 150), 0.0002);
  close(learningRateAt({ kind: 'constant', lr: 0.5 }, 1e6), 0.5);
});
