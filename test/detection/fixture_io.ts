// Reads the torchvision reference vectors in test/fixtures/frcnn (format: that folder's README) and
// converts their conventions (pixel [x1,y1,x2,y2], NCHW) to ours ([y1,x1,y2,x2], NHWC).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { packageRoot } from '../../core/paths.js';
import { swapXy } from '../../detection/box_ops.js';

export interface FixtureTensor {
  readonly dtype: 'float32' | 'int64' | 'bool';
  readonly shape: number[];
  readonly data: (number | string)[];
}

export interface FixtureCase {
  readonly name: string;
  readonly params: Record<string, unknown>;
  readonly inputs: Record<string, FixtureTensor & FixtureTensor[]>;
  readonly expected: Record<string, FixtureTensor & FixtureTensor[]>;
  readonly runs: Record<string, unknown>[];
}

const cache = new Map<string, FixtureCase[]>();

/** One case of test/fixtures/frcnn/<file>. */
export function fixtureCase(file: string, name: string): FixtureCase {
  let cases = cache.get(file);
  if (cases === undefined) {
    cases = (JSON.parse(readFileSync(join(packageRoot(), 'test', 'fixtures', 'frcnn', file), 'utf8')) as { cases: FixtureCase[] }).cases;
    cache.set(file, cases);
  }
  const found = cases.find((c) => c.name === name);
  assert.ok(found, `${file}: no case ${name}`);
  return found;
}

/** Float values, bit-identical to the float32 the generator wrote (strings are NaN / Infinity). */
export function f32(t: FixtureTensor): Float32Array {
  return Float32Array.from(t.data, Number);
}

export function i32(t: FixtureTensor): Int32Array {
  return Int32Array.from(t.data, Number);
}

/** Pixel [x1,y1,x2,y2] rows -> pixel [y1,x1,y2,x2] rows (a permutation: exact). */
export function yxyx(t: FixtureTensor): Float32Array {
  return swapXy(f32(t));
}

/** NCHW fixture tensor -> NHWC tf tensor. */
export function nhwc(t: FixtureTensor): tf.Tensor4D {
  return tf.tidy(() => tf.transpose(tf.tensor4d(f32(t), t.shape as [number, number, number, number]), [0, 2, 3, 1]));
}

/** Largest |a - b| (NaN where either is NaN and not both). */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length, 'length');
  let worst = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i] as number;
    const y = b[i] as number;
    if (Number.isNaN(x) && Number.isNaN(y)) continue;
    const d = Math.abs(x - y);
    if (!(d <= worst)) worst = d;
  }
  return worst;
}

/** Asserts that `run` does not change the number of live tensors over `times` calls. */
export async function assertNoLeak(run: () => unknown, times = 3): Promise<void> {
  await run();
  const before = tf.memory().numTensors;
  for (let i = 0; i < times; i++) await run();
  assert.equal(tf.memory().numTensors, before, 'tensors leaked');
}
