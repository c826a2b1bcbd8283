// MaxPoolGrad for the wasm backend, replacing the stock kernel, whose argmax starts from
// std::numeric_limits<float>::min() (the smallest POSITIVE float) and keeps the last of equal values:
// any window whose values are all negative sends its gradient to the wrong pixel (tfjs
// tfjs-backend-wasm/src/cc/kernels/MaxPoolGrad.cc, filter_init). This one follows the cpu backend and
// TF: the gradient goes to the first maximum of the in-bounds window (padding never wins).
//
// Shapes: x [N,H,W,C], dy [N,Ho,Wo,C], dx [N,H,W,C].
import * as tf from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import type { KernelArgs } from './kernel_scope.js';

function maxPoolGrad(args: KernelArgs): tf.TensorInfo {
  const backend = args.backend as BackendWasm;
  const { dy, input } = args.inputs as { dy: tf.TensorInfo; input: tf.TensorInfo };
  const attrs = args.attrs as unknown as tf.MaxPoolGradAttrs;
  const shape = input.shape as [number, number, number, number];
  const info = tf.backend_util.computePool2DInfo(shape, attrs.filterSize, attrs.strides, 1, attrs.pad, attrs.dimRoundingMode);
  const [n, h, w, c] = shape;
  const { outHeight: ho, outWidth: wo, filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw } = info;
  const out = backend.makeOutput(shape, 'float32');
  // Heap views are taken after the allocation above, which may have grown (and moved) the heap.
  const dx = backend.typedArrayFromHeap(out) as Float32Array;
  dx.fill(0);
  const x = backend.typedArrayFromHeap(input) as Float32Array;
  const g = backend.typedArrayFromHeap(dy) as Float32Array;
  const best = new Float32Array(c);
  const where = new Int32Array(c);
  for (let b = 0; b < n; b++) {
    for (let i = 0; i < ho; i++) {
      const y0 = i * sh - info.padInfo.top;
      for (let j = 0; j < wo; j++) {
        const x0 = j * sw - info.padInfo.left;
        best.fill(-Infinity);
        where.fill(-1);
        for (let yy = Math.max(y0, 0); yy < Math.min(y0 + kh, h); yy++) {
          for (let xx = Math.max(x0, 0); xx < Math.min(x0 + kw, w); xx++) {
            const base = ((b * h + yy) * w + xx) * c;
            for (let ch = 0; ch < c; ch++) {
              if (x[base + ch]! > best[ch]!) {
                best[ch] = x[base + ch]!;
                where[ch] = base + ch;
              }
            }
          }
        }
        const dyBase = ((b * ho + i) * wo + j) * c;
        for (let ch = 0; ch < c; ch++) if (where[ch]! >= 0) dx[where[ch]!] += g[dyBase + ch]!;
      }
    }
  }
  return out;
}

export const maxPoolGradConfig: tf.KernelConfig = {
  kernelName: tf.MaxPoolGrad,
  backendName: 'wasm',
  kernelFunc: maxPoolGrad,
};
