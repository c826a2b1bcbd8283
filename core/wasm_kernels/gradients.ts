// Gradient functions tfjs-core 4.22 lacks or gets wrong, on every backend. Each wraps the stock
// gradient where that one is right and only takes over the broken case.
//
//  - Conv2D / DepthwiseConv2dNative with dilation > 1: stock gradients assert dilation 1 (and the cpu
//    backprop kernels ignore dilations). A dilated KxK filter equals a dense ((K-1)d+1)^2 filter with
//    zeros between taps, so the gradients are the dense ones, read back at every d-th tap.
//  - AvgPool with 'same' padding: the forward divides each window by the number of in-bounds pixels
//    (TF semantics), the stock AvgPoolGrad kernels by the full window area, so border gradients are
//    wrong. Scaling dy by area / count first makes AvgPoolGrad exact.
//  - GatherNd: no gradient; it is a ScatterNd of dy (duplicates summed).
//  - GatherV2: the stock function returns the int32 indices as their own "gradient", which throws
//    whenever the indices depend on a trained tensor (e.g. top-k of scores); they get zeros.
//  - Comparisons and logical ops: no gradient, so any tf.where(tf.less(|d|, 1), ...) (smooth L1)
//    throws; they are piecewise constant, so zeros, as GreaterEqual already has.
//  - StridedSlice: no gradient; dy is scattered back to the flat positions the slice read.
//  - TopK: no gradient; the values' dy is scattered back to the positions they came from (TF's
//    TopKV2 gradient), so top-k can sit inside a trained graph (e.g. proposal selection).
import * as tf from '@tensorflow/tfjs-core';
// tfjs-core's Node bundle registers no gradients; tfjs-layers' bundle registers tfjs-core's full set
// when loaded. Loading it here, first, means the fixes below replace the stock functions and are not
// overwritten by a later import of tfjs-layers.
import '@tensorflow/tfjs-layers';

type Grads = Record<string, () => tf.Tensor>;

/** Runs a kernel by name on the current backend through the engine (recorded, differentiable). */
function runKernel(name: string, inputs: tf.NamedTensorMap, attrs: object): tf.Tensor {
  return tf.engine().runKernel(name, inputs, attrs as unknown as tf.NamedAttrMap) as tf.Tensor;
}

/** f [kh,kw,...] with (dh-1) zero rows and (dw-1) zero columns between taps. */
function dilateFilter(f: tf.Tensor4D, dh: number, dw: number): tf.Tensor4D {
  const [kh, kw, ci, co] = f.shape;
  const spread = tf.pad(tf.reshape(f, [kh, 1, kw, 1, ci, co]), [[0, 0], [0, dh - 1], [0, 0], [0, dw - 1], [0, 0], [0, 0]]);
  return tf.slice(tf.reshape(spread, [kh * dh, kw * dw, ci, co]), [0, 0, 0, 0], [(kh - 1) * dh + 1, (kw - 1) * dw + 1, ci, co]) as tf.Tensor4D;
}

/** The taps of a dense-filter gradient that belong to the dilated filter. */
function undilate(g: tf.Tensor4D, dh: number, dw: number): tf.Tensor4D {
  return tf.stridedSlice(g, [0, 0, 0, 0], g.shape, [dh, dw, 1, 1]) as tf.Tensor4D;
}

function pair(v: number | [number, number] | undefined): [number, number] {
  if (v === undefined) return [1, 1];
  return typeof v === 'number' ? [v, v] : v;
}

function isDilated(dilations: number | [number, number] | undefined): boolean {
  const [dh, dw] = pair(dilations);
  return dh > 1 || dw > 1;
}

type GradFunc = (dy: tf.Tensor, saved: tf.Tensor[], attrs: tf.NamedAttrMap) => Grads;

/** Replaces the stock gradient of `kernelName` by `fix`, which may call the stock one. */
function wrap(kernelName: string, fix: (dy: tf.Tensor, saved: tf.Tensor[], attrs: tf.NamedAttrMap, stock: GradFunc) => Grads): void {
  const stock = tf.getGradient(kernelName);
  if (stock === undefined) throw new Error(`wasm training kernels: tfjs-core has no gradient for ${kernelName} to extend`);
  const stockFunc = stock.gradFunc as unknown as GradFunc;
  tf.registerGradient({ ...stock, gradFunc: (dy, saved, attrs) => fix(dy as tf.Tensor, saved, attrs, stockFunc) });
}

/** Lets `fix` take over when it returns gradients, else runs the stock function. */
function unlessNull(fix: (dy: tf.Tensor, saved: tf.Tensor[], attrs: tf.NamedAttrMap) => Grads | null) {
  return (dy: tf.Tensor, saved: tf.Tensor[], attrs: tf.NamedAttrMap, stock: GradFunc): Grads => fix(dy, saved, attrs) ?? stock(dy, saved, attrs);
}

/**
 * The gradient of a dilated conv as that of the equivalent dense filter (zeros between the taps): the
 * backprop kernels of `inputKernel` / `filterKernel` run undilated, the filter gradient is then thinned.
 */
function dilatedGrad(inputKernel: string, filterKernel: string) {
  return (dy: tf.Tensor, saved: tf.Tensor[], attrs: tf.NamedAttrMap): Grads | null => {
    const a = attrs as unknown as tf.Conv2DAttrs | tf.DepthwiseConv2dNativeAttrs;
    if (!isDilated(a.dilations)) return null;
    const [x, filter] = saved as [tf.Tensor4D, tf.Tensor4D];
    const [dh, dw] = pair(a.dilations);
    const dense = dilateFilter(filter, dh, dw);
    const dense1 = { ...a, dilations: [1, 1] };
    return {
      x: () => runKernel(inputKernel, { dy, filter: dense }, { ...dense1, inputShape: x.shape }),
      filter: () => undilate(runKernel(filterKernel, { x, dy }, { ...dense1, filterShape: dense.shape }) as tf.Tensor4D, dh, dw),
    };
  };
}

const conv2DDilated = dilatedGrad(tf.Conv2DBackpropInput, tf.Conv2DBackpropFilter);
const depthwiseDilated = dilatedGrad(tf.DepthwiseConv2dNativeBackpropInput, tf.DepthwiseConv2dNativeBackpropFilter);

/** Number of in-bounds input pixels under each output window along one axis. */
function windowCounts(inSize: number, outSize: number, k: number, stride: number, padBefore: number): Float32Array {
  const counts = new Float32Array(outSize);
  for (let o = 0; o < outSize; o++) {
    const start = o * stride - padBefore;
    counts[o] = Math.min(start + k, inSize) - Math.max(start, 0);
  }
  return counts;
}

function avgPoolExact(dy: tf.Tensor, saved: tf.Tensor[], attrs: tf.NamedAttrMap): Grads | null {
  const a = attrs as unknown as tf.AvgPoolAttrs;
  const [x] = saved as [tf.Tensor4D | tf.Tensor3D];
  const x4 = (x.rank === 3 ? tf.expandDims(x, 0) : x) as tf.Tensor4D;
  const info = tf.backend_util.computePool2DInfo(x4.shape, a.filterSize, a.strides, 1, a.pad, a.dimRoundingMode);
  const { filterHeight: kh, filterWidth: kw } = info;
  const rows = windowCounts(info.inHeight, info.outHeight, kh, info.strideHeight, info.padInfo.top);
  const cols = windowCounts(info.inWidth, info.outWidth, kw, info.strideWidth, info.padInfo.left);
  if (rows.every((c) => c === kh) && cols.every((c) => c === kw)) return null;
  const scale = new Float32Array(rows.length * cols.length);
  rows.forEach((r, i) => cols.forEach((c, j) => (scale[i * cols.length + j] = (kh * kw) / (r * c))));
  return {
    x: () => {
      const dy4 = (dy.rank === 3 ? tf.expandDims(dy, 0) : dy) as tf.Tensor4D;
      const scaled = tf.mul(dy4, tf.tensor4d(scale, [1, rows.length, cols.length, 1]));
      const dx = runKernel(tf.AvgPoolGrad, { dy: scaled, input: x4 }, { filterSize: a.filterSize, strides: a.strides, pad: a.pad });
      return x.rank === 3 ? tf.squeeze(dx, [0]) : dx;
    },
  };
}

function gatherNdGrad(dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]): Grads {
  const [params, indices] = saved as [tf.Tensor, tf.Tensor];
  return {
    params: () => tf.scatterND(indices, dy as tf.Tensor, params.shape),
    indices: () => tf.zeros(indices.shape),
  };
}

function stridedSliceGrad(dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[], attrs: tf.NamedAttrMap): Grads {
  const [x] = saved as [tf.Tensor];
  return {
    x: () => {
      // Positions as float32: the wasm StridedSlice labels its output float32 whatever the input dtype
      // (int32 bits come back as denormals). Float positions are exact below 2^24 elements.
      const positions = runKernel(tf.StridedSlice, { x: tf.reshape(tf.range(0, x.size, 1, 'float32'), x.shape) }, attrs);
      const flat = tf.scatterND(tf.reshape(tf.cast(positions, 'int32'), [-1, 1]), tf.reshape(dy as tf.Tensor, [-1]), [x.size]);
      return tf.reshape(flat, x.shape);
    },
  };
}

function topKGrad(dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]): Grads {
  const [x, indices] = saved as [tf.Tensor, tf.Tensor];
  const dValues = (dy as tf.Tensor[])[0]!;
  return {
    x: () => {
      const n = x.shape[x.rank - 1]!;
      const k = indices.shape[indices.rank - 1]!;
      const rows = x.size / n;
      // Flat position of every selected value: its row's offset plus its index within the row.
      const flatIndices = tf.add(tf.reshape(indices, [rows, k]), tf.reshape(tf.range(0, rows * n, n, 'int32'), [rows, 1]));
      return tf.reshape(tf.scatterND(tf.reshape(flatIndices, [-1, 1]), tf.reshape(dValues, [-1]), [x.size]), x.shape);
    },
  };
}

const PIECEWISE_CONSTANT = [
  [tf.Equal, ['a', 'b']],
  [tf.NotEqual, ['a', 'b']],
  [tf.Greater, ['a', 'b']],
  [tf.Less, ['a', 'b']],
  [tf.LessEqual, ['a', 'b']],
  [tf.LogicalAnd, ['a', 'b']],
  [tf.LogicalOr, ['a', 'b']],
  [tf.LogicalNot, ['x']],
] as const;

/** Registers the gradient fixes above (global: they apply to every backend). Not idempotent by itself. */
export function registerGradientFixes(): void {
  wrap(tf.Conv2D, unlessNull(conv2DDilated));
  wrap(tf.DepthwiseConv2dNative, unlessNull(depthwiseDilated));
  wrap(tf.AvgPool, unlessNull(avgPoolExact));
  wrap(tf.GatherV2, (dy, saved, attrs, stock) => ({ ...stock(dy, saved, attrs), indices: () => tf.zeros(saved[1]!.shape) }));
  tf.registerGradient({ kernelName: tf.GatherNd, inputsToSave: ['params', 'indices'], gradFunc: gatherNdGrad });
  tf.registerGradient({ kernelName: tf.StridedSlice, inputsToSave: ['x'], gradFunc: stridedSliceGrad });
  tf.registerGradient({ kernelName: tf.TopK, inputsToSave: ['x'], outputsToSave: [false, true], gradFunc: topKGrad });
  for (const [kernelName, inputs] of PIECEWISE_CONSTANT) {
    if (tf.getGradient(kernelName) !== undefined) continue;
    tf.registerGradient({
      kernelName,
      inputsToSave: [...inputs],
      // float32 zeros whatever the input dtype (bool, int32): the tape only accepts float32 gradients.
      gradFunc: (_dy, saved) => Object.fromEntries(inputs.map((name, i) => [name, () => tf.zeros(saved[i]!.shape)])),
    });
  }
}
