// Builders for the 13 search-space ops, each mapping a branch input to F channels at stride 1 or 2.
// Shape shorthand: x [N,H,W,Cin] -> [N,H/s,W/s,F] (s = stride; 'same'-style output sizes, ceil(H/s)).
// Conventions:
// - Convs are ReLU -> conv -> BN (PAPER App. A.4). A separable op is Keras' `_separable_conv_block`
//   (K3 nasnet.py 492-547): two stacked relu -> separable conv -> BN, only the first strided, with an
//   explicit `correct_pad` ZeroPadding2D before a stride-2 'valid' conv.
// - Pools: stride 1 'same' (avg excludes the padding, as TF); stride 2 zero-pads explicitly with
//   `correct_pad` and pools 'valid', as current Keras (max sees the zeros, avg counts them). A pool
//   whose input width differs from F is followed by 1x1 conv -> BN (slim `_apply_conv_operation`).
// - identity is a pass-through unless the stride or width must change; then relu -> 1x1 conv (strided)
//   -> BN (slim, same function).
import type { SymbolicTensor } from '@tensorflow/tfjs-layers';
import { DilatedConv2D } from './dilated_conv.js';
import {
  applyTo,
  batchNorm,
  channels,
  conv2d,
  correctPad,
  pool2d,
  relu,
  separableConv2d,
  spatialSize,
  zeroPad,
  type KerasNamer,
} from './keras_layers.js';
import { OP_SPECS, type OpName } from './search_space.js';

export interface OpContext {
  readonly namer: KerasNamer;
  /** Output width F of the cell. */
  readonly filters: number;
  /** Zero-padded copy of the branch input for a stride-2 k x k pool (shared per input and k, as Keras' `reduction_pad_1`). */
  readonly padForPool: (x: SymbolicTensor, k: number) => SymbolicTensor;
}

export interface OpArgs {
  readonly op: OpName;
  readonly stride: 1 | 2;
  /** Keras block id naming the op's layers, e.g. `normal_left1_0`. */
  readonly blockId: string;
}

/** Keras `_separable_conv_block`. */
export function separableConvBlock(ctx: OpContext, x: SymbolicTensor, k: number, stride: 1 | 2, blockId: string): SymbolicTensor {
  let y = relu(ctx.namer, x);
  let padding: 'same' | 'valid' = 'same';
  if (stride === 2) {
    y = zeroPad(ctx.namer, y, correctPad(spatialSize(y, blockId), k), `separable_conv_1_pad_${blockId}`);
    padding = 'valid';
  }
  y = separableConv2d(y, { filters: ctx.filters, kernel: k, strides: stride, padding, name: `separable_conv_1_${blockId}` });
  y = batchNorm(y, `separable_conv_1_bn_${blockId}`);
  y = relu(ctx.namer, y);
  y = separableConv2d(y, { filters: ctx.filters, kernel: k, name: `separable_conv_2_${blockId}` });
  return batchNorm(y, `separable_conv_2_bn_${blockId}`);
}

function projection(ctx: OpContext, x: SymbolicTensor, stride: 1 | 2, blockId: string, withRelu: boolean): SymbolicTensor {
  const y = withRelu ? relu(ctx.namer, x) : x;
  return batchNorm(conv2d(y, { filters: ctx.filters, kernel: 1, strides: stride, name: `proj_conv_${blockId}` }), `proj_bn_${blockId}`);
}

function pool(ctx: OpContext, x: SymbolicTensor, kind: 'avg' | 'max', k: number, stride: 1 | 2, blockId: string): SymbolicTensor {
  const y = stride === 1 ? pool2d(x, kind, k, 1, 'same', blockId) : pool2d(ctx.padForPool(x, k), kind, k, 2, 'valid', blockId);
  return channels(x) === ctx.filters ? y : projection(ctx, y, 1, blockId, false);
}

/** relu -> conv(s) -> BN for the plain convolution ops. TF 'same' with stride 2 equals Keras' correct_pad. */
function convOp(ctx: OpContext, x: SymbolicTensor, op: OpName, stride: 1 | 2, blockId: string): SymbolicTensor {
  const { filters, namer } = ctx;
  let y = relu(namer, x);
  if (op === 'conv_1x3_3x1' || op === 'conv_1x7_7x1') {
    // Factorized pair as in DARTS operations.py `conv_7x1_1x7`: the stride splits over the two convs.
    const k = OP_SPECS[op].kernel;
    y = conv2d(y, { filters, kernel: [1, k], strides: [1, stride], name: `conv_1x${k}_${blockId}` });
    y = conv2d(y, { filters, kernel: [k, 1], strides: [stride, 1], name: `conv_${k}x1_${blockId}` });
  } else if (op === 'dil_conv_3x3') {
    y = applyTo(new DilatedConv2D({ filters, name: `dil_conv_3x3_${blockId}` }), y);
    // Dilated convs cannot stride in tfjs; stride 2 samples every other output (pixel (0,0), (0,2), ...).
    if (stride === 2) y = pool2d(y, 'avg', 1, 2, 'valid', `dil_conv_stride_${blockId}`);
  } else {
    const k = OP_SPECS[op].kernel;
    y = conv2d(y, { filters, kernel: k, strides: stride, name: `conv_${k}x${k}_${blockId}` });
  }
  return batchNorm(y, `conv_bn_${blockId}`);
}

/** Builds one branch op; the result has F channels and the input size divided by the stride. */
export function buildOp(ctx: OpContext, x: SymbolicTensor, { op, stride, blockId }: OpArgs): SymbolicTensor {
  const spec = OP_SPECS[op];
  switch (spec.family) {
    case 'identity':
      return stride === 1 && channels(x) === ctx.filters ? x : projection(ctx, x, stride, blockId, true);
    case 'pool':
      return pool(ctx, x, spec.pool!, spec.kernel, stride, blockId);
    case 'separable':
      return separableConvBlock(ctx, x, spec.kernel, stride, blockId);
    case 'conv':
      return convOp(ctx, x, op, stride, blockId);
  }
}
