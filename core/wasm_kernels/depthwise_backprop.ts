// Depthwise-conv gradients for the wasm backend, built from XNNPACK depthwise convolutions.
//
// Shapes: x [N,H,W,C], filter [kh,kw,C,M], dy [N,Ho,Wo,C*M]; stride (sh,sw), dilation (dh,dw) (one
// of the two is 1, as the forward op requires), pads (pt,pl). Output channel of (c,m) is c*M+m.
//
// Input gradient (a transposed depthwise conv):
//   dx[n,y,x,c] = sum_{a,b,m} dyz[n, y + pt - a*dh, x + pl - b*dw, c*M+m] * w[a,b,c,m]
// where dyz is dy with (sh-1) zeros inserted between rows ((sw-1) between columns). That is a stride-1
// depthwise conv of dyz with the 180-degree-rotated filter over C*M channels (multiplier 1), then a sum
// over m.
//
// Filter gradient:
//   dW[a,b,c,m] = sum_{n,i,j} xpad[n, i*sh + a*dh, j*sw + b*dw, c] * dy[n,i,j,c*M+m]
// Read x as ONE image [1,H,W,N*C] and dy as a depthwise filter [Ho,Wo,N*C,M]: each (n,c) channel
// is convolved with its own dy plane (dilation (sh,sw), stride (dh,dw)), giving [1,kh,kw,N*C*M];
// summing over n gives dW.
import * as tf from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { composite, fitSweep, insertZeros, view, type KernelArgs, type Shape4 } from './kernel_scope.js';


function depthwiseInfo(xShape: Shape4, filterShape: Shape4, attrs: Pick<tf.DepthwiseConv2dNativeAttrs, 'strides' | 'pad' | 'dilations' | 'dimRoundingMode'>) {
  const dilations = attrs.dilations ?? [1, 1];
  return tf.backend_util.computeConv2DInfo(xShape, filterShape, attrs.strides, dilations, attrs.pad, attrs.dimRoundingMode, true);
}

function depthwiseBackpropInput(args: KernelArgs): tf.TensorInfo {
  const { dy, filter } = args.inputs as { dy: tf.TensorInfo; filter: tf.TensorInfo };
  const attrs = args.attrs as unknown as tf.DepthwiseConv2dNativeBackpropInputAttrs;
  const xShape = attrs.inputShape as Shape4;
  const [kh, kw, c, m] = filter.shape as Shape4;
  const info = depthwiseInfo(xShape, filter.shape as Shape4, attrs);
  const { strideHeight: sh, strideWidth: sw, dilationHeight: dh, dilationWidth: dw } = info;
  return composite(args.backend as BackendWasm, (s) => {
    const rotated = s.run(tf.Reverse, { x: filter }, { dims: [0, 1] }); // [kh,kw,C,M] -> one channel per c*M+m
    const dyz = insertZeros(s, dy, sh, sw);
    const effH = (kh - 1) * dh;
    const effW = (kw - 1) * dw;
    const fit = fitSweep(s, dyz, [effH - info.padInfo.top, effW - info.padInfo.left], [effH + 1, effW + 1], [xShape[1], xShape[2]], [1, 1]);
    const dxm = s.run(
      tf.DepthwiseConv2dNative,
      { x: fit.x, filter: view(rotated, [kh, kw, c * m, 1]) },
      { strides: [1, 1], pad: fit.pad, dilations: [dh, dw], dataFormat: 'NHWC' },
    ); // [N,H,W,C*M]
    return m === 1 ? dxm : s.sum(view(dxm, [...xShape, m]), [4]);
  });
}

function depthwiseBackpropFilter(args: KernelArgs): tf.TensorInfo {
  const { x, dy } = args.inputs as { x: tf.TensorInfo; dy: tf.TensorInfo };
  const attrs = args.attrs as unknown as tf.DepthwiseConv2dNativeBackpropFilterAttrs;
  const filterShape = attrs.filterShape as Shape4;
  const [kh, kw, c, m] = filterShape;
  const [n, , , cx] = x.shape as Shape4;
  if (cx !== c) throw new Error(`wasm DepthwiseConv2dNativeBackpropFilter: x has ${cx} channels, filterShape expects ${c}`);
  const info = depthwiseInfo(x.shape as Shape4, filterShape, attrs);
  const { strideHeight: sh, strideWidth: sw, dilationHeight: dh, dilationWidth: dw, outHeight: ho, outWidth: wo } = info;
  return composite(args.backend as BackendWasm, (s) => {
    const image = s.transpose(x, [1, 2, 0, 3]); // [H,W,N,C] = one image with N*C channels
    const planes = s.transpose(dy, [1, 2, 0, 3]); // [Ho,Wo,N,C*M] = a depthwise filter over N*C channels
    const [h, w] = [x.shape[1], x.shape[2]];
    const fit = fitSweep(
      s,
      view(image, [1, h, w, n * c]),
      [info.padInfo.top, info.padInfo.left],
      [(ho - 1) * sh + 1, (wo - 1) * sw + 1],
      [kh, kw],
      [dh, dw],
    );
    const perSample = s.run(
      tf.DepthwiseConv2dNative,
      { x: fit.x, filter: view(planes, [ho, wo, n * c, m]) },
      { strides: [dh, dw], pad: fit.pad, dilations: [sh, sw], dataFormat: 'NHWC' },
    ); // [1,kh,kw,N*C*M]
    return view(s.sum(view(perSample, [kh, kw, n, c * m]), [2]), filterShape);
  });
}

export const depthwiseBackpropInputConfig: tf.KernelConfig = {
  kernelName: tf.DepthwiseConv2dNativeBackpropInput,
  backendName: 'wasm',
  kernelFunc: depthwiseBackpropInput,
};

export const depthwiseBackpropFilterConfig: tf.KernelConfig = {
  kernelName: tf.DepthwiseConv2dNativeBackpropFilter,
  backendName: 'wasm',
  kernelFunc: depthwiseBackpropFilter,
};

