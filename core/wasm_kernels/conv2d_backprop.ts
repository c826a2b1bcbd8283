// Conv2D gradients for the wasm backend, each one XNNPACK convolution.
//
// Shapes: x [N,H,W,Ci], dy [N,Ho,Wo,Co], filter [kh,kw,Ci,Co]; forward stride (sh,sw), pads (pt,pl).
//
// Filter gradient:
//   dW[a,b,ci,co] = sum_{n,i,j} xpad[n, i*sh + a, j*sw + b, ci] * dy[n,i,j,co]
// Read x as a batch of Ci images with N channels and dy as a [Ho,Wo,N,Co] filter: dW is their
// stride-1 convolution with dilation (sh,sw), output [Ci,kh,kw,Co] (the classic "filter gradient is a
// convolution of the input with the output gradient"; cf. TF conv_grad_ops.h on Conv2DBackpropFilter).
// A 1x1 stride-1 filter gradient is the plain product x^T dy ([Ci,R] x [R,Co], R = N*H*W pixels), run as
// a 1x1 convolution (XNNPACK's GEMM path) of x^T as Ci one-pixel images with dy as the filter.
//
// Input gradient (replaces the stock kernel, a scalar C++ loop: ~200 ms for a 1x1 conv on
// [32,16,16,64], ~30x slower than XNNPACK):
//   dx[n,y,x,ci] = sum_{a,b,co} dyz[n, y + pt - a, x + pl - b, co] * w[a,b,ci,co]
// with dyz = dy with (sh-1) zeros between rows ((sw-1) between columns): a stride-1 convolution of dyz
// with the filter rotated by 180 degrees and its channel axes swapped ([kh,kw,Co,Ci]).
import * as tf from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { assertChannelsLast, composite, fitSweep, insertZeros, view, type KernelArgs, type Shape4 } from './kernel_scope.js';


function conv2DBackpropFilter(args: KernelArgs): tf.TensorInfo {
  const { x, dy } = args.inputs as { x: tf.TensorInfo; dy: tf.TensorInfo };
  const attrs = args.attrs as unknown as tf.Conv2DBackpropFilterAttrs;
  assertChannelsLast('Conv2DBackpropFilter', attrs.dataFormat);
  const info = tf.backend_util.computeConv2DInfo(x.shape as Shape4, attrs.filterShape, attrs.strides, 1, attrs.pad, attrs.dimRoundingMode);
  const { filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw, outHeight: ho, outWidth: wo } = info;
  return composite(args.backend as BackendWasm, (s) => {
    if (kh === 1 && kw === 1 && sh === 1 && sw === 1) {
      const [n, h, w, ci] = x.shape as Shape4;
      const pixels = n * h * w;
      const xt = s.transpose(view(x, [pixels, ci]), [1, 0]); // [Ci,R]
      const dw = s.run(tf.Conv2D, { x: view(xt, [ci, 1, 1, pixels]), filter: view(dy, [1, 1, pixels, attrs.filterShape[3]]) }, { strides: [1, 1], pad: 'valid', dataFormat: 'NHWC', dilations: [1, 1] });
      return view(dw, attrs.filterShape);
    }
    const images = s.transpose(x, [3, 1, 2, 0]); // [Ci,H,W,N]
    const filter = s.transpose(dy, [1, 2, 0, 3]); // [Ho,Wo,N,Co]
    const fit = fitSweep(s, images, [info.padInfo.top, info.padInfo.left], [(ho - 1) * sh + 1, (wo - 1) * sw + 1], [kh, kw], [1, 1]);
    const dw = s.run(tf.Conv2D, { x: fit.x, filter }, { strides: [1, 1], pad: fit.pad, dataFormat: 'NHWC', dilations: [sh, sw] }); // [Ci,kh,kw,Co]
    return s.transpose(dw, [1, 2, 0, 3]);
  });
}

function conv2DBackpropInput(args: KernelArgs): tf.TensorInfo {
  const { dy, filter } = args.inputs as { dy: tf.TensorInfo; filter: tf.TensorInfo };
  const attrs = args.attrs as unknown as tf.Conv2DBackpropInputAttrs;
  assertChannelsLast('Conv2DBackpropInput', attrs.dataFormat);
  const xShape = attrs.inputShape as Shape4;
  const info = tf.backend_util.computeConv2DInfo(xShape, filter.shape as Shape4, attrs.strides, 1, attrs.pad, attrs.dimRoundingMode);
  const { filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw } = info;
  return composite(args.backend as BackendWasm, (s) => {
    const rotated = s.transpose(s.run(tf.Reverse, { x: filter }, { dims: [0, 1] }), [0, 1, 3, 2]); // [kh,kw,Co,Ci]
    const dyz = insertZeros(s, dy, sh, sw);
    const fit = fitSweep(s, dyz, [kh - 1 - info.padInfo.top, kw - 1 - info.padInfo.left], [kh, kw], [xShape[1], xShape[2]], [1, 1]);
    return s.run(tf.Conv2D, { x: fit.x, filter: rotated }, { strides: [1, 1], pad: fit.pad, dataFormat: 'NHWC', dilations: [1, 1] });
  });
}

export const conv2DBackpropFilterConfig: tf.KernelConfig = {
  kernelName: tf.Conv2DBackpropFilter,
  backendName: 'wasm',
  kernelFunc: conv2DBackpropFilter,
};

export const conv2DBackpropInputConfig: tf.KernelConfig = {
  kernelName: tf.Conv2DBackpropInput,
  backendName: 'wasm',
  kernelFunc: conv2DBackpropInput,
};
