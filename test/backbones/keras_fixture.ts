// Readers for the Keras NASNet fixtures copied into test/fixtures/keras-nasnet (see its README.md).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { packageRoot } from '../../core/paths.js';
import { readKerasWeightsFile, type KerasWeightFile } from '../../backbones/keras_h5.js';

export function fixturePath(name: string): string {
  return join(packageRoot(), 'test', 'fixtures', 'keras-nasnet', name);
}

export function readJson<T>(name: string): T {
  return JSON.parse(readFileSync(fixturePath(name), 'utf8')) as T;
}

export function readFloat32(name: string): Float32Array {
  const bytes = readFileSync(fixturePath(name));
  return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
}

/** The two preprocessed fixture images, [2,224,224,3]. */
export function fixtureInputs(): tf.Tensor4D {
  return tf.tensor4d(readFloat32('inputs_224.bin'), [2, 224, 224, 3]);
}

/** Trimmed Keras manifest: every layer [name, class, output shape without batch, inbound] and every weight [h5 name, shape]. */
export interface TrimmedManifest {
  readonly totals: { readonly total_params: number; readonly num_layers: number; readonly num_weight_tensors: number };
  readonly layers: [string, string, (number | null)[], string[]][];
  readonly weights: [string, number[]][];
}

interface PredictionsSidecar {
  readonly tensors: { name: string; shape: number[]; offset: number }[];
}

let cached: Promise<KerasWeightFile> | undefined;

/**
 * mobile_seed1.h5 reassembled: mobile_notop_seed1.h5 (the same file minus `predictions`, checked by the
 * fixture generator) plus the `predictions` tensors stored in mobile_seed1_predictions.bin.
 */
export function mobileSeed1WithTop(): Promise<KerasWeightFile> {
  cached ??= (async () => {
    const notop = await readKerasWeightsFile(fixturePath('mobile_notop_seed1.h5'));
    const all = readFloat32('mobile_seed1_predictions.bin');
    const sidecar = readJson<PredictionsSidecar>('mobile_seed1_predictions.json');
    const weights = sidecar.tensors.map(({ name, shape, offset }) => {
      const size = shape.reduce((a, b) => a * b, 1);
      return { name, shape, data: all.subarray(offset / 4, offset / 4 + size) };
    });
    return { ...notop, layerNames: [...notop.layerNames, 'global_average_pooling2d', 'predictions'], layers: [...notop.layers, { name: 'predictions', weights }] };
  })();
  return cached;
}
