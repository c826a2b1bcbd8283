// Tile for the wasm backend, replacing the stock kernel (an element-by-element index loop that takes
// ~100 ms to broadcast a [1,1,1,64] tensor to [32,16,16,64]; tfjs-core's batch-norm gradient tiles
// exactly so). This one copies the input once, then replicates blocks with copyWithin (memcpy speed),
// innermost axis first, doubling the filled span each time.
//
// Shapes: x [d0..dr-1], reps [r0..rr-1], out [d0*r0, ..., dr-1*rr-1].
import * as tf from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import type { KernelArgs } from './kernel_scope.js';

/** Calls `visit(offset)` with the flat output offset of every index tuple over the first `axes` input axes. */
function forEachPrefix(inShape: number[], outStrides: number[], axes: number, visit: (offset: number) => void): void {
  const index = new Array<number>(axes).fill(0);
  const count = tf.util.sizeFromShape(inShape.slice(0, axes));
  for (let n = 0; n < count; n++) {
    let offset = 0;
    for (let k = 0; k < axes; k++) offset += index[k]! * outStrides[k]!;
    visit(offset);
    for (let k = axes - 1; k >= 0; k--) {
      if (++index[k]! < inShape[k]!) break;
      index[k] = 0;
    }
  }
}

function tile(args: KernelArgs): tf.TensorInfo {
  const backend = args.backend as BackendWasm;
  const { x } = args.inputs as { x: tf.TensorInfo };
  const { reps } = args.attrs as unknown as tf.TileAttrs;
  const inShape = x.shape;
  const rank = inShape.length;
  const outShape = inShape.map((d, i) => d * reps[i]!);
  const out = backend.makeOutput(outShape, x.dtype);
  // Heap views are taken after the allocation above, which may have grown (and moved) the heap.
  const dst = backend.typedArrayFromHeap(out);
  const src = backend.typedArrayFromHeap(x);
  if (rank === 0 || src.length === 0) {
    dst.set(src);
    return out;
  }
  const outStrides = [...tf.util.computeStrides(outShape), 1];
  const rowLength = inShape[rank - 1]!;
  let row = 0;
  forEachPrefix(inShape, outStrides, rank - 1, (offset) => {
    dst.set(src.subarray(row * rowLength, (row + 1) * rowLength), offset);
    row++;
  });
  for (let axis = rank - 1; axis >= 0; axis--) {
    if (reps[axis] === 1) continue;
    const block = inShape[axis]! * outStrides[axis]!;
    const total = block * reps[axis]!;
    forEachPrefix(inShape, outStrides, axis, (base) => {
      for (let filled = block; filled < total; filled += Math.min(filled, total - filled)) {
        dst.copyWithin(base + filled, base, base + Math.min(filled, total - filled));
      }
    });
  }
  return out;
}

export const tileConfig: tf.KernelConfig = { kernelName: tf.Tile, backendName: 'wasm', kernelFunc: tile };
