// Composite kernels for the wasm backend: a backward kernel is built by calling the backend's own
// (XNNPACK-backed) forward kernels directly, as tfjs' composite kernels do, without going through the
// engine (no tape, no tensor bookkeeping). A KernelScope frees every intermediate it made.
import * as tf from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

export type Padding = [number, number];
export type Shape4 = [number, number, number, number];
/** What the engine passes a kernel function. */
export type KernelArgs = { inputs: tf.NamedTensorInfoMap; backend: object; attrs?: tf.NamedAttrMap };

export class KernelScope {
  private readonly temps: tf.TensorInfo[] = [];

  constructor(readonly backend: BackendWasm) {}

  /** Runs the wasm kernel `name`; its output is freed by dispose() unless passed to keep(). */
  run(name: string, inputs: tf.NamedTensorInfoMap, attrs: tf.NamedAttrMap = {}): tf.TensorInfo {
    const kernel = tf.getKernel(name, 'wasm');
    if (kernel === undefined) throw new Error(`wasm training kernels: kernel ${name} is not registered for wasm`);
    const out = kernel.kernelFunc({ inputs, backend: this.backend, attrs }) as tf.TensorInfo;
    this.temps.push(out);
    return out;
  }

  /** A zero-filled float32 tensor whose heap view the caller fills. */
  zeros(shape: number[]): { info: tf.TensorInfo; values: Float32Array } {
    const info = this.backend.makeOutput(shape, 'float32');
    this.temps.push(info);
    const values = this.backend.typedArrayFromHeap(info) as Float32Array;
    values.fill(0);
    return { info, values };
  }

  /** Releases `info` (or the tensor it is a view of) from the scope: the kernel's result. */
  keep(info: tf.TensorInfo): tf.TensorInfo {
    const i = this.temps.findIndex((t) => t.dataId === info.dataId);
    if (i >= 0) this.temps.splice(i, 1);
    return info;
  }

  dispose(): void {
    for (const t of this.temps) this.backend.disposeData(t.dataId);
    this.temps.length = 0;
  }

  transpose(x: tf.TensorInfo, perm: number[]): tf.TensorInfo {
    return this.run(tf.Transpose, { x }, { perm });
  }

  sum(x: tf.TensorInfo, axis: number[]): tf.TensorInfo {
    return this.run(tf.Sum, { x }, { axis, keepDims: false });
  }

  /** Slices `x` to [begin, begin + size) on every axis. */
  slice(x: tf.TensorInfo, begin: number[], size: number[]): tf.TensorInfo {
    return this.run(tf.Slice, { x }, { begin, size });
  }
}

/** Runs `body` in a fresh scope and returns its result; intermediates are freed even on error. */
export function composite(backend: BackendWasm, body: (scope: KernelScope) => tf.TensorInfo): tf.TensorInfo {
  const scope = new KernelScope(backend);
  try {
    return scope.keep(body(scope));
  } finally {
    scope.dispose();
  }
}

/** The same data under another shape of equal size (a free reshape: no kernel, no copy, not owned). */
export function view(x: tf.TensorInfo, shape: number[]): tf.TensorInfo {
  return { dataId: x.dataId, shape, dtype: x.dtype };
}

export function assertChannelsLast(kernel: string, dataFormat: unknown): void {
  if (dataFormat !== undefined && dataFormat !== 'NHWC' && dataFormat !== 'channelsLast') {
    throw new Error(`wasm ${kernel}: only dataFormat NHWC is supported; received ${String(dataFormat)}`);
  }
}

/**
 * Pads (negative: crops) x [B,H,W,C] so that a stride-1 sweep of a window spanning (spanH, spanW)
 * yields exactly (outH, outW) outputs `step` apart, and returns it with the explicit pads to use.
 */
export function fitSweep(
  s: KernelScope,
  x: tf.TensorInfo,
  lead: [number, number],
  span: [number, number],
  out: [number, number],
  step: [number, number],
): { x: tf.TensorInfo; pad: tf.backend_util.ExplicitPadding } {
  const [b, h, w, c] = x.shape as [number, number, number, number];
  const [pt, pb] = sweepPads(h, lead[0], span[0], out[0], step[0]);
  const [pl, pr] = sweepPads(w, lead[1], span[1], out[1], step[1]);
  const cropT = Math.max(0, -pt);
  const cropL = Math.max(0, -pl);
  const cropB = Math.max(0, -pb);
  const cropR = Math.max(0, -pr);
  const fitted =
    cropT + cropL + cropB + cropR > 0 ? s.slice(x, [0, cropT, cropL, 0], [b, h - cropT - cropB, w - cropL - cropR, c]) : x;
  const pad: tf.backend_util.ExplicitPadding = [
    [0, 0],
    [Math.max(0, pt), Math.max(0, pb)],
    [Math.max(0, pl), Math.max(0, pr)],
    [0, 0],
  ];
  return { x: fitted, pad };
}

/**
 * Leading/trailing pads along one axis that make a stride-1 window sweep of extent `span` over an
 * axis of `size` (after `lead` pad) produce exactly `outSize` outputs spaced `step` apart. A negative
 * trailing pad means the input has rows no output reads: the caller crops them.
 */
export function sweepPads(size: number, lead: number, span: number, outSize: number, step: number): Padding {
  return [lead, (outSize - 1) * step + span - size - lead];
}

/** dy [N,Ho,Wo,C] with (sh-1) zero rows between rows and (sw-1) zero columns between columns. */
export function insertZeros(s: KernelScope, dy: tf.TensorInfo, sh: number, sw: number): tf.TensorInfo {
  if (sh === 1 && sw === 1) return dy;
  const [n, ho, wo, c] = dy.shape as Shape4;
  const hz = (ho - 1) * sh + 1;
  const wz = (wo - 1) * sw + 1;
  const out = s.zeros([n, hz, wz, c]);
  const src = s.backend.typedArrayFromHeap(dy) as Float32Array;
  const dst = out.values;
  for (let b = 0; b < n; b++) {
    for (let i = 0; i < ho; i++) {
      for (let j = 0; j < wo; j++) {
        const from = ((b * ho + i) * wo + j) * c;
        dst.set(src.subarray(from, from + c), ((b * hz + i * sh) * wz + j * sw) * c);
      }
    }
  }
  return out.info;
}
