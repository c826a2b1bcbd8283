// Layer factories configured as the Keras NASNet application configures them (keras/src/applications/
// nasnet.py: convs without bias, BN epsilon 1e-3 momentum 0.9997) and named the Keras way: an explicit
// name, or the next auto-name of Keras' per-class counter (`activation`, `activation_1`, ...).
// Shape shorthand: N batch, H x W spatial, C channels; all tensors NHWC.
import * as tfl from '@tensorflow/tfjs-layers';
import type { SymbolicTensor } from '@tensorflow/tfjs-layers';
import { NasnetError } from '../core/errors.js';
import { TensorCopy } from './tensor_copy.js';

/** BatchNormalization settings of every Keras NASNet BN (K3 nasnet.py, e.g. lines 200-202). */
export const KERAS_BN = { epsilon: 1e-3, momentum: 0.9997 } as const;

/**
 * Keras auto-naming: a layer built without a name gets `<prefix>` the first time, then `<prefix>_1`,
 * `<prefix>_2`, ... (one counter per class; named layers do not advance it). One namer per model build.
 */
export class KerasNamer {
  private readonly counts = new Map<string, number>();

  next(prefix: string): string {
    const n = this.counts.get(prefix) ?? 0;
    this.counts.set(prefix, n + 1);
    return n === 0 ? prefix : `${prefix}_${n}`;
  }
}

export type Padding2D = [[number, number], [number, number]];

/** Applies a single-input layer to a symbolic tensor. */
export function applyTo(layer: tfl.layers.Layer, x: SymbolicTensor | SymbolicTensor[]): SymbolicTensor {
  if (!Array.isArray(x)) return layer.apply(x) as SymbolicTensor;
  // A tensor listed twice reaches the layer the second time through a TensorCopy (tensor_copy.ts says why).
  const inputs = x.map((t, i) => (x.indexOf(t) === i ? t : applyTo(new TensorCopy({ name: `${layer.name}_copy${i}` }), t)));
  return layer.apply(inputs) as SymbolicTensor;
}

/** Static [H, W] of a symbolic NHWC tensor; the Keras padding rules need them. */
export function spatialSize(x: SymbolicTensor, where: string): [number, number] {
  const [, h, w] = x.shape;
  if (typeof h !== 'number' || typeof w !== 'number') {
    throw new NasnetError('INVALID_CONFIG', `${where}: needs a static spatial size; received shape ${JSON.stringify(x.shape)}`);
  }
  return [h, w];
}

/** Channel count (last axis) of a symbolic NHWC tensor. */
export function channels(x: SymbolicTensor): number {
  return x.shape[3] as number;
}

/**
 * Keras `imagenet_utils.correct_pad`: the zero padding that makes a stride-2 'valid' k x k window equal
 * TF 'SAME' (odd size: k//2 on both sides; even size: one less on top/left).
 */
export function correctPad([h, w]: [number, number], k: number): Padding2D {
  const half = Math.floor(k / 2);
  return [
    [half - (1 - (h % 2)), half],
    [half - (1 - (w % 2)), half],
  ];
}

export function relu(namer: KerasNamer, x: SymbolicTensor, name?: string): SymbolicTensor {
  return applyTo(tfl.layers.activation({ activation: 'relu', name: name ?? namer.next('activation') }), x);
}

export function batchNorm(x: SymbolicTensor, name: string): SymbolicTensor {
  return applyTo(tfl.layers.batchNormalization({ axis: -1, ...KERAS_BN, name }), x);
}

/**
 * Sets the moving-average momentum of every BatchNormalization layer of a built model; returns how many.
 * tfjs-layers reads `momentum` at each training call (layers/normalization.js `doMovingAverage`), and it
 * is the layer's only way to hold it, so this writes that field; getConfig() reports the new value.
 */
export function setBatchNormMomentum(model: tfl.LayersModel, momentum: number): number {
  const layers = model.layers.filter((layer) => layer.getClassName() === 'BatchNormalization');
  for (const layer of layers) (layer as unknown as { momentum: number }).momentum = momentum;
  return layers.length;
}

export interface ConvArgs {
  readonly filters: number;
  readonly kernel: number | [number, number];
  readonly strides?: number | [number, number];
  readonly padding?: 'same' | 'valid';
  readonly name: string;
}

export function conv2d(x: SymbolicTensor, args: ConvArgs): SymbolicTensor {
  const layer = tfl.layers.conv2d({
    filters: args.filters,
    kernelSize: args.kernel,
    strides: args.strides ?? 1,
    padding: args.padding ?? 'same',
    useBias: false,
    kernelInitializer: 'heNormal',
    name: args.name,
  });
  return applyTo(layer, x);
}

export function separableConv2d(x: SymbolicTensor, args: ConvArgs): SymbolicTensor {
  const layer = tfl.layers.separableConv2d({
    filters: args.filters,
    kernelSize: args.kernel,
    strides: args.strides ?? 1,
    padding: args.padding ?? 'same',
    depthMultiplier: 1,
    useBias: false,
    name: args.name,
  });
  return applyTo(layer, x);
}

export function zeroPad(namer: KerasNamer, x: SymbolicTensor, padding: Padding2D, name?: string): SymbolicTensor {
  return applyTo(tfl.layers.zeroPadding2d({ padding, name: name ?? namer.next('zero_padding2d') }), x);
}

export function pool2d(x: SymbolicTensor, kind: 'avg' | 'max', k: number, stride: number, padding: 'same' | 'valid', name: string): SymbolicTensor {
  const args = { poolSize: k, strides: stride, padding, name };
  return applyTo(kind === 'avg' ? tfl.layers.averagePooling2d(args) : tfl.layers.maxPooling2d(args), x);
}

export function add(namer: KerasNamer, xs: SymbolicTensor[], name?: string): SymbolicTensor {
  return applyTo(tfl.layers.add({ name: name ?? namer.next('add') }), xs);
}

export function concat(namer: KerasNamer, xs: SymbolicTensor[], name?: string): SymbolicTensor {
  return applyTo(tfl.layers.concatenate({ axis: -1, name: name ?? namer.next('concatenate') }), xs);
}
