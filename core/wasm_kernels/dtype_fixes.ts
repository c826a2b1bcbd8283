// Two wasm kernels that return wrong values for non-float dtypes, wrapped:
//  - StridedSlice: the general (non-contiguous) path allocates a float32 output whatever the input
//    dtype and copies 4-byte elements into it, so int32 results come back as denormal floats and bool
//    results as garbage (tfjs-backend-wasm/src/kernels/StridedSlice.ts, makeOutput(..., 'float32')).
//    The copy preserves bits, so an int32 result only needs its dtype label restored; bool goes
//    through int32.
//  - Cast to bool: the stock kernel truncates to uint8 (1.5 -> 1, -2 -> 254, 0.5 -> 0); TF's cast to
//    bool is x != 0.
import * as tf from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { composite, type KernelArgs } from './kernel_scope.js';

/** Marks a freshly computed tensor as int32 (its bytes already are). */
function relabelInt32(backend: BackendWasm, info: tf.TensorInfo): tf.TensorInfo {
  backend.dataIdMap.get(info.dataId)!.dtype = 'int32';
  return { ...info, dtype: 'int32' };
}

/** Wraps the stock wasm StridedSlice (`stock`) so that int32 and bool inputs keep their values. */
export function stridedSliceConfig(stock: tf.KernelConfig): tf.KernelConfig {
  const kernelFunc = (args: KernelArgs): tf.TensorInfo => {
    const { x } = args.inputs as { x: tf.TensorInfo };
    const backend = args.backend as BackendWasm;
    if (x.dtype === 'float32') return stock.kernelFunc(args) as tf.TensorInfo;
    if (x.dtype === 'int32') {
      const out = stock.kernelFunc(args) as tf.TensorInfo;
      // The contiguous fast paths return a view of an int32 slice, already labelled int32.
      return out.dtype === 'int32' ? out : relabelInt32(backend, out);
    }
    return composite(backend, (s) => {
      const ints = s.run(tf.Cast, { x }, { dtype: 'int32' });
      const sliced = s.run(tf.StridedSlice, { x: ints }, args.attrs);
      const fixed = sliced.dtype === 'int32' ? sliced : relabelInt32(backend, sliced);
      return s.run(tf.Cast, { x: fixed }, { dtype: x.dtype });
    });
  };
  return { ...stock, kernelFunc };
}

function castToBool(backend: BackendWasm, x: tf.TensorInfo): tf.TensorInfo {
  const out = backend.makeOutput(x.shape, 'bool');
  // Heap views are taken after the allocation above, which may have grown (and moved) the heap.
  const dst = backend.typedArrayFromHeap(out);
  const src = backend.typedArrayFromHeap(x);
  for (let i = 0; i < src.length; i++) dst[i] = src[i] !== 0 ? 1 : 0;
  return out;
}

/** Wraps the stock wasm Cast (`stock`) so that casting to bool means x != 0. */
export function castConfig(stock: tf.KernelConfig): tf.KernelConfig {
  const kernelFunc = (args: KernelArgs): tf.TensorInfo => {
    const { x } = args.inputs as { x: tf.TensorInfo };
    const { dtype } = args.attrs as unknown as tf.CastAttrs;
    if (dtype !== 'bool' || x.dtype === 'bool') return stock.kernelFunc(args) as tf.TensorInfo;
    return castToBool(args.backend as BackendWasm, x);
  };
  return { ...stock, kernelFunc };
}
