// Stems and heads around the cell stacks.
// - ImageNet stem (Keras NASNet, K3 nasnet.py 190-205): 3x3 stride-2 'valid' conv `stem_conv1` + BN `stem_bn1`.
// - CIFAR stem (slim nasnet.py `_cifar_stem`, TFN 280-289): 3x3 stride-1 'same' conv + BN, Keras-style names.
// - Classifier (Keras): relu -> GlobalAveragePooling2D -> Dense `predictions`; no dropout.
// - Aux head (slim `_build_aux_head`, TFN 227-250): relu -> 5x5/3 valid avg pool -> 1x1 conv 128 -> BN ->
//   relu -> conv (kernel = remaining size) 768 -> BN -> relu -> flatten -> FC. Training only.
// Shape shorthand: image [N,S,S,3]; feature [N,h,w,C]; logits [N,classes].
import * as tfl from '@tensorflow/tfjs-layers';
import type { SymbolicTensor } from '@tensorflow/tfjs-layers';
import { KerasNamer, applyTo, batchNorm, conv2d, pool2d, relu, spatialSize } from '../cells/keras_layers.js';
import type { NasnetConfig } from './config.js';
import { NasnetError } from '../core/errors.js';

export function buildStem(config: NasnetConfig, image: SymbolicTensor): SymbolicTensor {
  const imagenet = config.stem === 'imagenet';
  const x = conv2d(image, {
    filters: config.stemFilters,
    kernel: 3,
    strides: imagenet ? 2 : 1,
    padding: imagenet ? 'valid' : 'same',
    name: 'stem_conv1',
  });
  return batchNorm(x, 'stem_bn1');
}

export function buildClassifier(config: NasnetConfig, namer: KerasNamer, features: SymbolicTensor): SymbolicTensor {
  const pooled = applyTo(tfl.layers.globalAveragePooling2d({ name: namer.next('global_average_pooling2d') }), features);
  const dense = tfl.layers.dense({ units: config.classes, activation: config.classifierActivation, name: 'predictions' });
  return applyTo(dense, pooled);
}

/** slim's auxiliary classifier; its layers are named `aux_*` (it has no Keras counterpart). */
export function buildAuxHead(config: NasnetConfig, features: SymbolicTensor): SymbolicTensor {
  const unused = new KerasNamer(); // every aux layer is named explicitly
  const [inH, inW] = spatialSize(features, 'buildAuxHead');
  if (inH < 5 || inW < 5) {
    // A smaller map gives an empty 5x5/3 'valid' pool (tfjs-backend-wasm then reads out of bounds).
    throw new NasnetError('INVALID_CONFIG', `buildAuxHead: the aux head needs a map of at least 5x5 (cell ${2 * config.numCells}); received ${inH}x${inW}: raise inputSize or set auxHead false`, { field: 'auxHead' });
  }
  let x = relu(unused, features, 'aux_relu_0');
  x = pool2d(x, 'avg', 5, 3, 'valid', 'aux_avg_pool');
  x = relu(unused, batchNorm(conv2d(x, { filters: 128, kernel: 1, name: 'aux_proj' }), 'aux_bn0'), 'aux_relu_1');
  const [h, w] = spatialSize(x, 'buildAuxHead');
  x = conv2d(x, { filters: 768, kernel: [h, w], padding: 'valid', name: 'aux_conv' });
  x = relu(unused, batchNorm(x, 'aux_bn1'), 'aux_relu_2');
  x = applyTo(tfl.layers.flatten({ name: 'aux_flatten' }), x);
  return applyTo(tfl.layers.dense({ units: config.classes, activation: 'linear', name: 'aux_logits' }), x);
}
