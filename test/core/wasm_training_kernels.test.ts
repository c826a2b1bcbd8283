// Checks the wasm training kernels and gradient fixes against the cpu backend (same process; the
// backend is switched with initEngine, never tf.setBackend) and, where the cpu kernels are themselves
// wrong (dilations, 'same' average pooling), against the adjoint identity <A x, dy> = <x, A^T dy>
// or hand-computed values. relErr(a, ref) = max|a - ref| / max|ref|.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { initEngine } from '../../core/engine.js';
import { WASM_TRAINING_KERNELS, registerWasmTrainingKernels } from '../../core/wasm_training_kernels.js';

const TOL = 1e-4;
type Pad = 'same' | 'valid';

function relErr(a: ArrayLike<number>, ref: ArrayLike<number>): number {
  assert.equal(a.length, ref.length, 'lengths differ');
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < ref.length; i++) {
    diff = Math.max(diff, Math.abs(a[i]! - ref[i]!));
    scale = Math.max(scale, Math.abs(ref[i]!));
  }
  return diff / Math.max(scale, 1e-30);
}

function dot(a: tf.Tensor, b: tf.Tensor): number {
  const x = a.dataSync();
  const y = b.dataSync();
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i]! * y[i]!;
  return s;
}

/** Deterministic values in [-1, 1) (a fixed LCG), identical on every backend. */
function values(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 31 - 1;
  }
  return out;
}

function rand(shape: number[], seed: number): tf.Tensor {
  return tf.tensor(values(tf.util.sizeFromShape(shape), seed), shape);
}

/** Runs `fn` on `backend` and returns its tensors' values (tensors freed). */
async function on(backend: 'wasm' | 'cpu', fn: () => tf.Tensor[]): Promise<Float32Array[]> {
  await initEngine({ backend });
  return tf.tidy(fn).map((t) => {
    const v = t.dataSync() as Float32Array;
    t.dispose();
    return v;
  });
}

function run(name: string, inputs: tf.NamedTensorMap, attrs: object): tf.Tensor {
  return tf.engine().runKernel(name, inputs, attrs as unknown as tf.NamedAttrMap) as tf.Tensor;
}

function outSize(size: number, k: number, s: number, d: number, pad: Pad): number {
  const eff = (k - 1) * d + 1;
  return pad === 'same' ? Math.ceil(size / s) : Math.ceil((size - eff + 1) / s);
}

// [N, H, W, C, M (or Co), k, stride, pad]: odd and even sizes, both paddings, strides 1 and 2.
const CONV_CASES: Array<[number, number, number, number, number, number, number, Pad]> = [
  [2, 7, 9, 3, 4, 3, 1, 'same'],
  [2, 9, 7, 3, 2, 3, 2, 'same'],
  [1, 8, 8, 2, 3, 5, 2, 'same'],
  [2, 9, 11, 3, 1, 3, 2, 'valid'],
  [1, 8, 10, 4, 2, 5, 1, 'valid'],
  [1, 11, 9, 2, 1, 7, 2, 'same'],
  [1, 7, 7, 2, 3, 1, 2, 'valid'],
  [2, 5, 6, 3, 4, 1, 1, 'same'],
];

describe('wasm training kernels', () => {
  before(async () => {
    await initEngine({ backend: 'wasm' });
  });
  after(async () => {
    await initEngine({ backend: 'wasm' });
  });

  test('registration is idempotent and fills every listed kernel on wasm', () => {
    registerWasmTrainingKernels();
    registerWasmTrainingKernels();
    for (const config of WASM_TRAINING_KERNELS) {
      assert.equal(tf.getKernel(config.kernelName, 'wasm')?.kernelFunc, config.kernelFunc, config.kernelName);
    }
  });

  test('Conv2DBackpropFilter and Conv2DBackpropInput match cpu', async (t) => {
    let worst = 0;
    for (const [n, h, w, ci, co, k, s, pad] of CONV_CASES) {
      const dyShape = [n, outSize(h, k, s, 1, pad), outSize(w, k, s, 1, pad), co];
      const attrs = { strides: [s, s], pad, dataFormat: 'NHWC' };
      const compute = () => [
        run(tf.Conv2DBackpropFilter, { x: rand([n, h, w, ci], 1), dy: rand(dyShape, 2) }, { ...attrs, filterShape: [k, k, ci, co] }),
        run(tf.Conv2DBackpropInput, { dy: rand(dyShape, 2), filter: rand([k, k, ci, co], 3) }, { ...attrs, inputShape: [n, h, w, ci] }),
      ];
      const wasm = await on('wasm', compute);
      const cpu = await on('cpu', compute);
      for (const i of [0, 1]) {
        worst = Math.max(worst, relErr(wasm[i]!, cpu[i]!));
        assert.ok(relErr(wasm[i]!, cpu[i]!) <= TOL, `case ${[n, h, w, ci, co, k, s, pad]} output ${i}: relErr ${relErr(wasm[i]!, cpu[i]!)}`);
      }
    }
    t.diagnostic(`worst relErr ${worst.toExponential(2)}`);
  });

  test('DepthwiseConv2dNativeBackpropInput and ...Filter match cpu (multipliers 1..4)', async (t) => {
    let worst = 0;
    for (const [n, h, w, c, m, k, s, pad] of CONV_CASES) {
      const dyShape = [n, outSize(h, k, s, 1, pad), outSize(w, k, s, 1, pad), c * m];
      const attrs = { strides: [s, s], pad, dilations: [1, 1] };
      const compute = () => [
        run(tf.DepthwiseConv2dNativeBackpropInput, { dy: rand(dyShape, 3), filter: rand([k, k, c, m], 4) }, { ...attrs, inputShape: [n, h, w, c] }),
        run(tf.DepthwiseConv2dNativeBackpropFilter, { x: rand([n, h, w, c], 5), dy: rand(dyShape, 3) }, { ...attrs, filterShape: [k, k, c, m] }),
      ];
      const wasm = await on('wasm', compute);
      const cpu = await on('cpu', compute);
      for (const i of [0, 1]) {
        worst = Math.max(worst, relErr(wasm[i]!, cpu[i]!));
        assert.ok(relErr(wasm[i]!, cpu[i]!) <= TOL, `case ${[n, h, w, c, m, k, s, pad]} output ${i}: relErr ${relErr(wasm[i]!, cpu[i]!)}`);
      }
    }
    t.diagnostic(`worst relErr ${worst.toExponential(2)}`);
  });

  test('depthwise backprop with dilations satisfies the adjoint identity (the cpu kernels ignore dilations)', async () => {
    await initEngine({ backend: 'wasm' });
    for (const [h, w, m, k, d, pad] of [[9, 9, 2, 3, 2, 'same'], [10, 11, 1, 3, 2, 'valid'], [11, 12, 1, 5, 3, 'same']] as const) {
      tf.tidy(() => {
        const x = rand([2, h, w, 3], 6) as tf.Tensor4D;
        const f = rand([k, k, 3, m], 7) as tf.Tensor4D;
        const y = tf.depthwiseConv2d(x, f, 1, pad, 'NHWC', d);
        const dy = rand(y.shape, 8);
        const attrs = { strides: [1, 1], pad, dilations: [d, d] };
        const dx = run(tf.DepthwiseConv2dNativeBackpropInput, { dy, filter: f }, { ...attrs, inputShape: x.shape });
        const df = run(tf.DepthwiseConv2dNativeBackpropFilter, { x, dy }, { ...attrs, filterShape: f.shape });
        const ref = dot(y, dy);
        assert.ok(Math.abs(dot(x, dx) - ref) <= TOL * Math.abs(ref), `dx: ${dot(x, dx)} vs ${ref}`);
        assert.ok(Math.abs(dot(f, df) - ref) <= TOL * Math.abs(ref), `df: ${dot(f, df)} vs ${ref}`);
      });
    }
  });

  test('UnsortedSegmentSum matches hand-computed sums and drops out-of-range ids', async () => {
    await initEngine({ backend: 'wasm' });
    const out = tf.tidy(() => tf.unsortedSegmentSum(tf.tensor2d([[1, 2], [3, 4], [5, 6], [7, 8]]), tf.tensor1d([2, 0, 2, 5], 'int32'), 3));
    assert.deepEqual(out.arraySync(), [[3, 4], [0, 0], [6, 8]]);
    out.dispose();
    const ints = tf.tidy(() => tf.unsortedSegmentSum(tf.tensor1d([1, 2, 3], 'int32'), tf.tensor1d([1, 1, 0], 'int32'), 2));
    assert.deepEqual([ints.dtype, ints.arraySync()], ['int32', [3, 3]]);
    ints.dispose();
  });

  test('Cast to bool is x != 0 (the stock wasm kernel truncates to uint8)', async () => {
    await initEngine({ backend: 'wasm' });
    const b = tf.cast(tf.tensor1d([1.5, -2, 0, 0.25, NaN]), 'bool');
    assert.deepEqual([b.dtype, Array.from(b.dataSync())], ['bool', [1, 1, 0, 1, 1]]);
    b.dispose();
  });

  test('StridedSlice keeps int32 and bool values (the stock wasm kernel labels them float32)', async () => {
    await initEngine({ backend: 'wasm' });
    const [ints, bools] = tf.tidy(() => [
      tf.stridedSlice(tf.tensor2d([[1, 2, 3], [4, 5, 6], [7, 8, 9]], [3, 3], 'int32'), [0, 0], [3, 3], [2, 2]),
      tf.stridedSlice(tf.tensor1d([true, false, true, true, false], 'bool'), [0], [5], [2]),
    ]);
    assert.deepEqual([ints!.dtype, ints!.arraySync()], ['int32', [[1, 3], [7, 9]]]);
    assert.deepEqual([bools!.dtype, Array.from(bools!.dataSync())], ['bool', [1, 1, 0]]);
    tf.dispose([ints!, bools!]);
  });

  test('Tile matches cpu for broadcasts, repeats of every axis, int32 and bool', async () => {
    const cases: Array<[number[], number[], tf.DataType]> = [
      [[1, 1, 1, 5], [3, 4, 2, 1], 'float32'],
      [[2, 3, 4], [2, 1, 3], 'float32'],
      [[3, 2], [1, 4], 'int32'],
      [[4], [3], 'bool'],
      [[2, 1, 3], [1, 1, 1], 'float32'],
    ];
    for (const [shape, reps, dtype] of cases) {
      const compute = () => [tf.cast(tf.tile(tf.cast(tf.mul(rand(shape, 9), 10), dtype), reps), 'float32')];
      const [wasm] = await on('wasm', compute);
      const [cpu] = await on('cpu', compute);
      assert.deepEqual(Array.from(wasm!), Array.from(cpu!), `tile ${shape} x ${reps} ${dtype}`);
    }
  });

  test('kernels free every intermediate: no tensor or backend-buffer growth over repeated calls', async () => {
    await initEngine({ backend: 'wasm' });
    const step = () =>
      tf.tidy(() => {
        const x = rand([2, 9, 9, 3], 1);
        const f = rand([3, 3, 3, 2], 2);
        const dy = rand([2, 5, 5, 6], 3);
        const attrs = { strides: [2, 2], pad: 'same', dilations: [1, 1] };
        run(tf.Conv2DBackpropFilter, { x, dy: rand([2, 4, 4, 5], 4) }, { strides: [2, 2], pad: 'valid', dataFormat: 'NHWC', filterShape: [3, 3, 3, 5] });
        run(tf.Conv2DBackpropInput, { dy: rand([2, 4, 4, 5], 4), filter: rand([3, 3, 3, 5], 5) }, { strides: [2, 2], pad: 'valid', dataFormat: 'NHWC', inputShape: x.shape });
        run(tf.DepthwiseConv2dNativeBackpropInput, { dy, filter: f }, { ...attrs, inputShape: x.shape });
        run(tf.DepthwiseConv2dNativeBackpropFilter, { x, dy }, { ...attrs, filterShape: f.shape });
        tf.unsortedSegmentSum(x, tf.tensor1d([1, 0], 'int32'), 2);
      });
    step();
    const tensors = tf.memory().numTensors;
    const dataIds = tf.engine().backend.numDataIds();
    for (let i = 0; i < 5; i++) step();
    assert.equal(tf.memory().numTensors, tensors);
    assert.equal(tf.engine().backend.numDataIds(), dataIds);
  });
});

/** Gradient of sum(f(x) * dy) with respect to x, and that sum (for adjoint checks of linear f). */
function pullback(f: (x: tf.Tensor) => tf.Tensor, x: tf.Tensor, dy: tf.Tensor): { dx: tf.Tensor; y: tf.Tensor } {
  return { dx: tf.grad((v: tf.Tensor) => tf.sum(tf.mul(f(v), dy)))(x), y: f(x) };
}

describe('gradient fixes (every backend)', () => {
  after(async () => {
    await initEngine({ backend: 'wasm' });
  });

  test("avgPool 'same': border windows divide by their in-bounds count (hand-computed)", async () => {
    // 3x3 input, 3x3 window, stride 1: output windows hold 4 (corner), 6 (edge) or 9 pixels.
    // dx[0,0] = 1/4 + 2/6 + 1/9; dx[0,1] = 2/4 + 3/6 + 1/9; dx[1,1] = 4/4 + 4/6 + 1/9.
    const corner = 1 / 4 + 2 / 6 + 1 / 9;
    const edge = 2 / 4 + 3 / 6 + 1 / 9;
    const centre = 1 + 4 / 6 + 1 / 9;
    const expected = [corner, edge, corner, edge, centre, edge, corner, edge, corner];
    for (const backend of ['wasm', 'cpu'] as const) {
      const [dx] = await on(backend, () => [tf.grad((v: tf.Tensor) => tf.sum(tf.avgPool(v as tf.Tensor4D, 3, 1, 'same')))(tf.zeros([1, 3, 3, 1]))]);
      assert.ok(relErr(dx!, expected) <= 1e-6, `${backend}: ${Array.from(dx!)}`);
    }
  });

  test('maxPool: the gradient goes to the first maximum, also in all-negative windows (hand-computed)', async () => {
    // Windows (2x2, stride 2): [-3 -1; -2 -5] -> max -1 at (0,1); [4 4; 0 -1] -> first max at (0,2).
    const x = [-3, -1, 4, 4, -2, -5, 0, -1];
    for (const backend of ['wasm', 'cpu'] as const) {
      const [dx] = await on(backend, () => [tf.grad((v: tf.Tensor) => tf.sum(tf.mul(tf.maxPool(v as tf.Tensor4D, 2, 2, 'valid'), tf.tensor4d([10, 20], [1, 1, 2, 1]))))(tf.tensor4d(x, [1, 2, 4, 1]))]);
      assert.deepEqual(Array.from(dx!), [0, 10, 20, 0, 0, 0, 0, 0], backend);
    }
  });

  test("avgPool and maxPool gradients are adjoint-exact / match cpu for 'same' and 'valid', strides 1 and 2", async () => {
    for (const [h, w, k, s, pad] of [[7, 8, 3, 2, 'same'], [9, 9, 5, 1, 'same'], [8, 7, 7, 2, 'same'], [9, 8, 3, 2, 'valid'], [8, 8, 1, 2, 'valid']] as const) {
      const x = () => rand([2, h, w, 3], 11);
      const dy = () => rand([2, outSize(h, k, s, 1, pad), outSize(w, k, s, 1, pad), 3], 12);
      const avg = (v: tf.Tensor) => tf.avgPool(v as tf.Tensor4D, k, s, pad);
      const max = (v: tf.Tensor) => tf.maxPool(v as tf.Tensor4D, k, s, pad);
      const results: Record<string, Float32Array[]> = {};
      for (const backend of ['wasm', 'cpu'] as const) {
        results[backend] = await on(backend, () => {
          const { dx, y } = pullback(avg, x(), dy());
          const adjointGap = Math.abs(dot(x(), dx) - dot(y, dy())) / Math.abs(dot(y, dy()));
          assert.ok(adjointGap <= TOL, `${backend} avgPool ${[h, w, k, s, pad]}: adjoint gap ${adjointGap}`);
          return [dx, pullback(max, x(), dy()).dx];
        });
      }
      for (const i of [0, 1]) assert.ok(relErr(results.wasm![i]!, results.cpu![i]!) <= TOL, `pool ${i} ${[h, w, k, s, pad]}`);
    }
  });

  test('dilated conv2d and depthwiseConv2d gradients: adjoint-exact on both backends, which agree', async () => {
    for (const [k, d, pad] of [[3, 2, 'same'], [3, 3, 'valid'], [5, 2, 'same']] as const) {
      const results: Record<string, Float32Array[]> = {};
      for (const backend of ['wasm', 'cpu'] as const) {
        results[backend] = await on(backend, () => {
          const x = rand([2, 11, 10, 3], 21) as tf.Tensor4D;
          const f = rand([k, k, 3, 4], 22) as tf.Tensor4D;
          const fd = rand([k, k, 3, 2], 23) as tf.Tensor4D;
          const out: tf.Tensor[] = [];
          for (const [op, filt] of [
            [(a: tf.Tensor4D, b: tf.Tensor4D) => tf.conv2d(a, b, 1, pad, 'NHWC', d), f],
            [(a: tf.Tensor4D, b: tf.Tensor4D) => tf.depthwiseConv2d(a, b, 1, pad, 'NHWC', d), fd],
          ] as const) {
            const y = op(x, filt);
            const dy = rand(y.shape, 24);
            const [dx, df] = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(op(a as tf.Tensor4D, b as tf.Tensor4D), dy)))([x, filt]);
            const ref = dot(y, dy);
            assert.ok(Math.abs(dot(x, dx!) - ref) <= TOL * Math.abs(ref), `${backend} dx ${[k, d, pad]}`);
            assert.ok(Math.abs(dot(filt, df!) - ref) <= TOL * Math.abs(ref), `${backend} df ${[k, d, pad]}`);
            out.push(dx!, df!);
          }
          return out;
        });
      }
      results.wasm!.forEach((v, i) => assert.ok(relErr(v, results.cpu![i]!) <= TOL, `output ${i} ${[k, d, pad]}`));
    }
  });

  test('gatherND, stridedSlice, smooth L1 via where(less && greater), top-k: hand-computed gradients', async () => {
    for (const backend of ['wasm', 'cpu'] as const) {
      const [gnd, ss, sl1, topk, topkValues] = await on(backend, () => [
        // rows 1 and 0 gathered, row 1 twice: its gradient is summed.
        tf.grad((p: tf.Tensor) => tf.sum(tf.mul(tf.gatherND(p, tf.tensor2d([[1], [0], [1]], [3, 1], 'int32')), tf.tensor2d([[1, 2], [3, 4], [5, 6]]))))(tf.zeros([3, 2])),
        tf.grad((v: tf.Tensor) => tf.sum(tf.mul(tf.stridedSlice(v, [1], [6], [2]), tf.tensor1d([1, 2, 3]))))(tf.zeros([7])),
        tf.grad((v: tf.Tensor) => {
          const inside = tf.logicalAnd(tf.less(v, 1), tf.greater(v, -1)); // |v| < 1
          return tf.sum(tf.where(inside, tf.mul(0.5, tf.square(v)), tf.sub(tf.abs(v), 0.5)));
        })(tf.tensor1d([-3, -0.5, 0.25, 2])),
        tf.grad((v: tf.Tensor) => tf.sum(tf.mul(tf.gather(v, tf.topk(v, 2).indices), tf.tensor1d([10, 1]))))(tf.tensor1d([0.5, 3, -1, 2])),
        tf.grad((v: tf.Tensor) => tf.sum(tf.mul(tf.topk(v, 2).values, tf.tensor2d([[10, 1], [2, 3]]))))(tf.tensor2d([[0.5, 3, -1], [4, -2, 1]])),
      ]);
      assert.deepEqual(Array.from(gnd!), [3, 4, 6, 8, 0, 0], `${backend} gatherND`);
      assert.deepEqual(Array.from(ss!), [0, 1, 0, 2, 0, 3, 0], `${backend} stridedSlice`);
      assert.deepEqual(Array.from(sl1!), [-1, -0.5, 0.25, 1], `${backend} smooth L1`);
      assert.deepEqual(Array.from(topk!), [0, 10, 0, 1], `${backend} gather(top-k)`);
      assert.deepEqual(Array.from(topkValues!), [1, 10, 0, 2, 0, 3], `${backend} top-k values`);
    }
  });
});

// ---- A training step over every op of the NASNet search space (PAPER §3) ----
const C = 4;

/** Parameter shapes of the network below, by name. */
function searchSpaceShapes(): Record<string, number[]> {
  const shapes: Record<string, number[]> = { stem: [3, 3, 3, C], head: [29 * C, 5] /* 14 stride-1 + 15 stride-2 branches of C channels */ };
  const bn = (name: string) => {
    shapes[`${name}_gamma`] = [C];
    shapes[`${name}_beta`] = [C];
  };
  bn('stem');
  for (const s of [1, 2]) {
    for (const k of [3, 5, 7]) {
      shapes[`sep${k}_${s}_dw`] = [k, k, C, 1];
      shapes[`sep${k}_${s}_pw`] = [1, 1, C, C];
      bn(`sep${k}_${s}`);
    }
    shapes[`c17_${s}`] = [1, 7, C, C];
    shapes[`c71_${s}`] = [7, 1, C, C];
    shapes[`c1_${s}`] = [1, 1, C, C];
    shapes[`c3_${s}`] = [3, 3, C, C];
    shapes[`dil_${s}`] = [3, 3, C, C];
    for (const name of ['c17', 'c1', 'c3', 'dil']) bn(`${name}_${s}`);
  }
  shapes.fr_1 = [1, 1, C, C / 2];
  shapes.fr_2 = [1, 1, C, C / 2];
  bn('fr');
  return shapes;
}

function makeParams(): Record<string, tf.Variable> {
  const init = (name: string, shape: number[], seed: number) =>
    tf.tidy(() => (name.endsWith('_gamma') ? tf.add(1, tf.mul(0.2, rand(shape, seed))) : tf.mul(0.5, rand(shape, seed))));
  return Object.fromEntries(Object.entries(searchSpaceShapes()).map(([name, shape], i) => [name, tf.variable(init(name, shape, 100 + i), true, `ss_${name}`)]));
}

/** Cross-entropy of a net whose branches are each search-space op, at stride 1 (dilated: rate 2) and 2. */
function searchSpaceLoss(p: Record<string, tf.Variable>, x: tf.Tensor4D, labels: tf.Tensor2D): tf.Scalar {
  const bn = (t: tf.Tensor4D, name: string): tf.Tensor4D => {
    const { mean, variance } = tf.moments(t, [0, 1, 2]);
    return tf.batchNorm(t, mean, variance, p[`${name}_beta`]!, p[`${name}_gamma`]!, 1e-3) as tf.Tensor4D;
  };
  const conv = (t: tf.Tensor4D, name: string, strides: [number, number], dilation = 1): tf.Tensor4D =>
    tf.conv2d(tf.relu(t), p[name] as tf.Tensor4D, strides, 'same', 'NHWC', dilation);
  const h = bn(tf.conv2d(x, p.stem as tf.Tensor4D, 1, 'same'), 'stem');
  const pooled: tf.Tensor[] = [];
  for (const s of [1, 2] as const) {
    const branches: tf.Tensor4D[] = [];
    for (const k of [3, 5, 7]) {
      branches.push(bn(tf.separableConv2d(tf.relu(h), p[`sep${k}_${s}_dw`] as tf.Tensor4D, p[`sep${k}_${s}_pw`] as tf.Tensor4D, s, 'same'), `sep${k}_${s}`));
      branches.push(tf.maxPool(h, k, s, 'same'), tf.avgPool(h, k, s, 'same'));
    }
    branches.push(bn(tf.conv2d(conv(h, `c17_${s}`, [1, s]), p[`c71_${s}`] as tf.Tensor4D, [s, 1], 'same'), `c17_${s}`));
    branches.push(bn(conv(h, `c1_${s}`, [s, s]), `c1_${s}`), bn(conv(h, `c3_${s}`, [s, s]), `c3_${s}`));
    // Dilated convs take stride 1 (TF forbids both > 1): rate 2, then subsampled for the stride-2 group.
    const dil = bn(conv(h, `dil_${s}`, [1, 1], 2), `dil_${s}`);
    branches.push(s === 1 ? dil : (tf.stridedSlice(dil, [0, 0, 0, 0], dil.shape, [1, 2, 2, 1]) as tf.Tensor4D));
    if (s === 1) {
      branches.push(h);
    } else {
      // Keras-style reduction pooling: explicit zero pad then 'valid'; and the factorized reduction.
      branches.push(tf.maxPool(tf.pad(h, [[0, 0], [1, 1], [1, 1], [0, 0]]), 3, 2, 'valid'));
      const r = tf.relu(h);
      const shifted = tf.slice(tf.pad(r, [[0, 0], [0, 1], [0, 1], [0, 0]]), [0, 1, 1, 0], r.shape) as tf.Tensor4D;
      const paths = [r, shifted].map((t, i) => tf.conv2d(tf.avgPool(t, 1, 2, 'valid'), p[`fr_${i + 1}`] as tf.Tensor4D, 1, 'valid'));
      branches.push(bn(tf.concat(paths, 3), 'fr'));
    }
    pooled.push(tf.mean(tf.concat(branches, 3), [1, 2]));
  }
  const logits = tf.matMul(tf.concat(pooled, 1), p.head as tf.Tensor2D);
  return tf.losses.softmaxCrossEntropy(labels, logits) as tf.Scalar;
}

describe('training step over the NASNet search space', () => {
  after(async () => {
    await initEngine({ backend: 'wasm' });
  });

  const input = () => rand([2, 9, 9, 3], 7) as tf.Tensor4D;
  const labels = () => tf.oneHot(tf.tensor1d([1, 3], 'int32'), 5) as tf.Tensor2D;

  test('every kernel the step runs on cpu is registered for wasm', async () => {
    await initEngine({ backend: 'cpu' });
    const params = makeParams();
    const profile = await tf.profile(() => {
      const { value, grads } = tf.variableGrads(() => searchSpaceLoss(params, input(), labels()), Object.values(params));
      tf.dispose([value, ...Object.values(grads)]);
    });
    tf.dispose(Object.values(params));
    // Names ending in __op are customGrad scopes (softmaxCrossEntropy), not kernels.
    const kernels = [...new Set(profile.kernels.map((k) => k.name))].filter((name) => !name.endsWith('__op'));
    for (const name of ['Conv2DBackpropFilter', 'DepthwiseConv2dNativeBackpropInput', 'DepthwiseConv2dNativeBackpropFilter', 'MaxPoolGrad', 'AvgPoolGrad']) {
      assert.ok(kernels.includes(name), `the step should exercise ${name}`);
    }
    const missing = kernels.filter((name) => tf.getKernel(name, 'wasm') === undefined);
    assert.deepEqual(missing, []);
  });

  test('wasm gradients of every parameter match cpu', async (t) => {
    const grads: Record<string, Float32Array[]> = {};
    for (const backend of ['wasm', 'cpu'] as const) {
      await initEngine({ backend });
      const params = makeParams();
      const { value, grads: g } = tf.variableGrads(() => searchSpaceLoss(params, input(), labels()), Object.values(params));
      grads[backend] = [value.dataSync() as Float32Array, ...Object.values(params).map((v) => g[v.name]!.dataSync() as Float32Array)];
      tf.dispose([value, ...Object.values(g), ...Object.values(params)]);
    }
    const names = ['loss', ...Object.keys(searchSpaceShapes())];
    let worst = 0;
    grads.wasm!.forEach((v, i) => {
      const err = relErr(v, grads.cpu![i]!);
      worst = Math.max(worst, err);
      assert.ok(err <= TOL, `${names[i]}: relErr ${err}`);
    });
    t.diagnostic(`worst relErr over ${names.length - 1} parameter gradients ${worst.toExponential(2)}`);
  });

  test('an SGD step on wasm leaks no tensors', async () => {
    await initEngine({ backend: 'wasm' });
    const params = makeParams();
    const optimizer = tf.train.sgd(0.1);
    const x = input();
    const y = labels();
    const step = () => tf.dispose(optimizer.minimize(() => searchSpaceLoss(params, x, y), true) ?? []);
    step();
    const before = tf.memory().numTensors;
    step();
    step();
    assert.equal(tf.memory().numTensors, before);
    tf.dispose([x, y, ...Object.values(params)]);
    optimizer.dispose();
  });

  test('a tfjs-layers SGD step (fused conv, separable conv, layers batch norm, pools) matches cpu', async (t) => {
    const weightsAfterStep: Record<string, Float32Array[]> = {};
    for (const backend of ['wasm', 'cpu'] as const) {
      await initEngine({ backend });
      const model = tfl.sequential({
        layers: [
          tfl.layers.conv2d({ inputShape: [9, 9, 3], filters: 4, kernelSize: 3, padding: 'same', useBias: false }),
          tfl.layers.batchNormalization({}),
          tfl.layers.reLU(),
          tfl.layers.separableConv2d({ filters: 6, kernelSize: 5, strides: 2, padding: 'same', useBias: false }),
          tfl.layers.batchNormalization({}),
          tfl.layers.maxPooling2d({ poolSize: 3, strides: 2, padding: 'same' }),
          tfl.layers.averagePooling2d({ poolSize: 3, strides: 1, padding: 'same' }),
          tfl.layers.globalAveragePooling2d({}),
          tfl.layers.dense({ units: 5 }),
        ],
      });
      model.setWeights(model.weights.map((w, i) => tf.tidy(() => (w.name.includes('variance') ? tf.add(1, tf.abs(rand(w.shape as number[], 50 + i))) : rand(w.shape as number[], 50 + i)))));
      const before = model.getWeights().map((w) => w.dataSync().slice());
      model.compile({ optimizer: tf.train.sgd(0.1), loss: (y: tf.Tensor, p: tf.Tensor) => tf.losses.softmaxCrossEntropy(y, p) });
      const [x, y] = [input(), labels()];
      await model.trainOnBatch(x, y);
      // The update itself (lr * gradient, or the moving-statistics step), not the barely moved weights.
      weightsAfterStep[backend] = model.getWeights().map((w, i) => (w.dataSync() as Float32Array).map((v, j) => v - before[i]![j]!));
      tf.dispose([x, y]);
      model.dispose();
    }
    let worst = 0;
    weightsAfterStep.wasm!.forEach((w, i) => {
      worst = Math.max(worst, relErr(w, weightsAfterStep.cpu![i]!));
      assert.ok(relErr(w, weightsAfterStep.cpu![i]!) <= TOL, `weight ${i}: relErr ${relErr(w, weightsAfterStep.cpu![i]!)}`);
    });
    t.diagnostic(`worst relErr over ${weightsAfterStep.wasm!.length} weight updates ${worst.toExponential(2)}`);
  });
});
