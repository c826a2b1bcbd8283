// UnsortedSegmentSum for the wasm backend (the gradient of gather): a single pass over the rows of x.
//
// Shapes: x [S..., D...], segmentIds [S...] (int32), output [numSegments, D...]:
//   out[k, d] = sum over positions p with segmentIds[p] == k of x[p, d]
// Ids outside [0, numSegments) are dropped, as TF drops negative ids.
import * as tf from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import type { KernelArgs } from './kernel_scope.js';

function unsortedSegmentSum(args: KernelArgs): tf.TensorInfo {
  const backend = args.backend as BackendWasm;
  const { x, segmentIds } = args.inputs as { x: tf.TensorInfo; segmentIds: tf.TensorInfo };
  const { numSegments } = args.attrs as unknown as tf.UnsortedSegmentSumAttrs;
  const rowShape = x.shape.slice(segmentIds.shape.length);
  const rowSize = tf.util.sizeFromShape(rowShape);
  const out = backend.makeOutput([numSegments, ...rowShape], x.dtype);
  // Heap views are taken after the allocation above, which may have grown (and moved) the heap.
  const dst = backend.typedArrayFromHeap(out);
  dst.fill(0);
  const src = backend.typedArrayFromHeap(x);
  const ids = backend.typedArrayFromHeap(segmentIds);
  for (let p = 0; p < ids.length; p++) {
    const k = ids[p];
    if (k < 0 || k >= numSegments) continue;
    const from = p * rowSize;
    const to = k * rowSize;
    for (let d = 0; d < rowSize; d++) dst[to + d] += src[from + d];
  }
  return out;
}

export const unsortedSegmentSumConfig: tf.KernelConfig = {
  kernelName: tf.UnsortedSegmentSum,
  backendName: 'wasm',
  kernelFunc: unsortedSegmentSum,
};
