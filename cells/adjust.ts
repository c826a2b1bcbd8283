// The adjust block: makes h_{i-1} match the cell's spatial size and width F (Keras `_adjust_block`,
// K3 nasnet.py 550-634; TF-slim `_reduce_prev_layer` + `factorized_reduction`, nasnet_utils.py 90-128, 274-293).
// Shape shorthand: p [N,Hp,Wp,Cp], ip [N,H,W,C] -> [N,H,W,F].
import * as tfl from '@tensorflow/tfjs-layers';
import type { SymbolicTensor } from '@tensorflow/tfjs-layers';
import { applyTo, batchNorm, channels, concat, conv2d, pool2d, relu, zeroPad, type KerasNamer } from './keras_layers.js';

export interface FactorizedNames {
  readonly relu: string;
  readonly pool1: string;
  readonly conv1: string;
  readonly pool2: string;
  readonly conv2: string;
  readonly bn: string;
}

/** Keras' names for the factorized reduction of cell `id`. */
export function adjustNames(id: string): FactorizedNames {
  return {
    relu: `adjust_relu_1_${id}`,
    pool1: `adjust_avg_pool_1_${id}`,
    conv1: `adjust_conv_1_${id}`,
    pool2: `adjust_avg_pool_2_${id}`,
    conv2: `adjust_conv_2_${id}`,
    bn: `adjust_bn_${id}`,
  };
}

/**
 * Factorized reduction: relu, then two 1x1-avg-pool-stride-2 + 1x1-conv paths, the second on the input
 * shifted by one pixel (Keras: ZeroPadding2D((0,1),(0,1)) then Cropping2D((1,0),(1,0)), so path 2 samples
 * pixels (1,1), (1,3), ... and its last row/col is zero padding for odd sizes), concat, BN.
 * Path 2 takes the extra filter when F is odd (slim nasnet_utils.py 123; Keras gives both F//2).
 */
export function factorizedReduction(namer: KerasNamer, p: SymbolicTensor, filters: number, names: FactorizedNames): SymbolicTensor {
  const x = relu(namer, p, names.relu);
  const half = Math.floor(filters / 2);
  let p1 = pool2d(x, 'avg', 1, 2, 'valid', names.pool1);
  p1 = conv2d(p1, { filters: half, kernel: 1, name: names.conv1 });
  let p2 = zeroPad(namer, x, [
    [0, 1],
    [0, 1],
  ]);
  p2 = applyTo(tfl.layers.cropping2D({ cropping: [[1, 0], [1, 0]], name: namer.next('cropping2d') }), p2);
  p2 = pool2d(p2, 'avg', 1, 2, 'valid', names.pool2);
  p2 = conv2d(p2, { filters: filters - half, kernel: 1, name: names.conv2 });
  return batchNorm(concat(namer, [p1, p2]), names.bn);
}

/**
 * P for a cell whose previous-cell input is `ip`: `ip` itself when there is no older state (the first
 * cell), a factorized reduction when P is wider than `ip` (a reduction happened in between), a
 * relu -> 1x1 conv -> BN projection when only the width differs from F, else P unchanged.
 */
export function adjustBlock(namer: KerasNamer, p: SymbolicTensor | null, ip: SymbolicTensor, filters: number, id: string): SymbolicTensor {
  if (p === null) return ip;
  // Keras compares the width axis (-2); in NHWC that is shape[2].
  if (p.shape[2] !== ip.shape[2]) return factorizedReduction(namer, p, filters, adjustNames(id));
  if (channels(p) !== filters) {
    const y = conv2d(relu(namer, p), { filters, kernel: 1, name: `adjust_conv_projection_${id}` });
    return batchNorm(y, `adjust_bn_${id}`);
  }
  return p;
}
