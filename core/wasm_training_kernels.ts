// Training on the wasm backend. tfjs-backend-wasm 4.22 lacks some kernels a training step runs and
// gets a few wrong; this registers the missing ones and replaces the wrong ones. They were found by
// profiling training steps of every NASNet search-space op and of the detection losses on the cpu
// backend, diffing the kernel names with the wasm registry, and comparing every gradient with cpu
// and with adjoint identities (test/core/wasm_training_kernels.test.ts). It also registers gradient
// fixes tfjs-core needs on every backend (core/wasm_kernels/gradients.ts).
//
// Added:
//   Conv2DBackpropFilter                 one XNNPACK Conv2D (x as a batch of Ci images, dy as the filter)
//   DepthwiseConv2dNativeBackpropInput   zero-inserted dy, XNNPACK depthwise conv with the rotated filter
//   DepthwiseConv2dNativeBackpropFilter  one XNNPACK depthwise conv (x as [1,H,W,N*C], dy as the filter)
//   UnsortedSegmentSum                   one JS pass over heap views (gradient of gather)
// Replaced:
//   Conv2DBackpropInput                  one XNNPACK Conv2D (rotated filter, zero-inserted dy); the stock
//                                        one is a scalar loop, ~30x slower
//   MaxPoolGrad                          JS loop; the stock one misroutes windows whose values are all < 0
//   Tile                                 copyWithin doubling; the stock one is slow (batch-norm gradients)
//   StridedSlice                         stock kernel, with int32/bool results no longer labelled float32
//   Cast                                 stock kernel, except to bool: x != 0 (the stock one truncates)
import * as tf from '@tensorflow/tfjs-core';
import { conv2DBackpropFilterConfig, conv2DBackpropInputConfig } from './wasm_kernels/conv2d_backprop.js';
import { depthwiseBackpropFilterConfig, depthwiseBackpropInputConfig } from './wasm_kernels/depthwise_backprop.js';
import { registerGradientFixes } from './wasm_kernels/gradients.js';
import { maxPoolGradConfig } from './wasm_kernels/max_pool_grad.js';
import { unsortedSegmentSumConfig } from './wasm_kernels/segment_sum.js';
import { castConfig, stridedSliceConfig } from './wasm_kernels/dtype_fixes.js';
import { tileConfig } from './wasm_kernels/tile.js';

/** Kernels registered for wasm whatever was there before (absent or wrong in tfjs-backend-wasm 4.22). */
export const WASM_TRAINING_KERNELS: readonly tf.KernelConfig[] = [
  conv2DBackpropFilterConfig,
  conv2DBackpropInputConfig,
  depthwiseBackpropInputConfig,
  depthwiseBackpropFilterConfig,
  unsortedSegmentSumConfig,
  maxPoolGradConfig,
  tileConfig,
];

/** Stock wasm kernels that are right except for one case, each wrapped by its fix. */
const STOCK_FIXES: ReadonlyArray<readonly [string, (stock: tf.KernelConfig) => tf.KernelConfig]> = [
  [tf.StridedSlice, stridedSliceConfig],
  [tf.Cast, castConfig],
];

const wrapped = new Set<string>();
let gradientsFixed = false;

function replaceKernel(config: tf.KernelConfig): void {
  // Unregister first: registerKernel over an existing kernel logs a warning.
  if (tf.getKernel(config.kernelName, 'wasm') !== undefined) tf.unregisterKernel(config.kernelName, 'wasm');
  tf.registerKernel(config);
}

/**
 * Registers the wasm training kernels and the gradient fixes. Idempotent. The stock-kernel fixes
 * (StridedSlice, Cast) apply once the wasm backend package is loaded; calling this again after loading
 * it completes them. The gradient fixes are global: they also correct gradients on the cpu backend.
 */
export function registerWasmTrainingKernels(): void {
  for (const config of WASM_TRAINING_KERNELS) {
    if (tf.getKernel(config.kernelName, 'wasm') !== config) replaceKernel(config);
  }
  for (const [name, fix] of STOCK_FIXES) {
    const stock = tf.getKernel(name, 'wasm');
    if (stock === undefined || wrapped.has(name)) continue;
    replaceKernel(fix(stock));
    wrapped.add(name);
  }
  if (!gradientsFixed) {
    registerGradientFixes();
    gradientsFixed = true;
  }
}
