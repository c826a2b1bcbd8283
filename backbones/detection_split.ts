// The NASNet split for Faster R-CNN (TF Object Detection API faster_rcnn_nas_feature_extractor.py,
// FRX 160-286): stage 1 runs the image up to the last normal cell before the second reduction (stride 16)
// and feeds the RPN with concat(h_{i-1}, h_i) of that point; stage 2 runs the remaining cells (the second
// reduction cell, the third stack, a final relu) on each ROI crop, split back into (h_{i-1}, h_i).
//
// | Keras cells               | Mobile (N=4)                 | Large (N=6)                    | role                    |
// |---------------------------|------------------------------|--------------------------------|-------------------------|
// | stem, stem_1 .. 2N        | stem_1, stem_2, 0-3, r_4, 5-8 | stem_1, stem_2, 0-5, r_6, 7-12 | stage 1                 |
// | h_{i-1}, h_i entering reduce_2N | 7, 8                   | 11, 12 (slim Cell_10, Cell_11) | RPN input (concat)      |
// | reduce_2N, 2N+1 .. 3N     | reduce_8, 9-12               | reduce_12, 13-18               | stage 2 (box head)      |
// (h_{i-1} follows Keras' threading: with skipReduction it is the cell before h_i's input; for both
// presets it is cell 2N-1.)
// Shape shorthand: image [N,S,S,3]; rpn_features [N,S/16,S/16,Cp+Ch]; crops [R,c,c,Cp] / [R,c,c,Ch] -> [R,c/2,c/2,24F].
import * as tfl from '@tensorflow/tfjs-layers';
import type { LayersModel, SymbolicTensor } from '@tensorflow/tfjs-layers';
import { KerasNamer, channels, concat, relu } from '../cells/keras_layers.js';
import { NasnetError } from '../core/errors.js';
import { resolveNasnetConfig, type NasnetConfig, type NasnetPresetName } from './config.js';
import { buildStem } from './heads.js';
import { buildCells, cellPlan } from './nasnet.js';

export interface DetectionSplitOptions {
  /** Square detector input size (FRC: 1200). Keras' explicit padding is computed from it. */
  readonly imageSize: number;
  /** ROI crop size fed to stage 2 (FRC initial_crop_size 17). */
  readonly cropSize: number;
}

export interface DetectionSplit {
  /** image -> [hiddenPrevious, hidden, rpnFeatures]. */
  readonly stage1: LayersModel;
  /** [hiddenPrevious crop, hidden crop] -> relu'd final feature map (the box head's input). */
  readonly stage2: LayersModel;
  /** Keras cell ids of stage 1, of the two RPN states and of stage 2. */
  readonly stage1Cells: readonly string[];
  readonly rpnCells: readonly [hiddenPrevious: string, hidden: string];
  readonly stage2Cells: readonly string[];
  /** Channels of hiddenPrevious and hidden (rpnFeatures = their concat, in that order). */
  readonly channels: readonly [hiddenPrevious: number, hidden: number];
  /** Stride of the RPN feature map relative to the image (16 for the ImageNet stem). */
  readonly featureStride: number;
}

/**
 * Builds the two detection stages as separate models with Keras layer names; their weights together are
 * exactly the no-top backbone's, so `loadKerasWeightsIntoModel([stage1, stage2], file, {strict: false})`
 * loads a classification .h5 (strict would reject its `predictions`).
 */
export function splitForDetection(
  partial: Partial<NasnetConfig> & { readonly preset?: NasnetPresetName },
  options: DetectionSplitOptions,
): DetectionSplit {
  const config = resolveNasnetConfig({ ...partial, inputSize: options.imageSize, includeTop: false, auxHead: false });
  if (!Number.isInteger(options.cropSize) || options.cropSize < 1) {
    throw new NasnetError('INVALID_CONFIG', `splitForDetection: cropSize must be a positive integer; received ${options.cropSize}`, { field: 'cropSize' });
  }
  const plan = cellPlan(config);
  const cut = plan.findIndex((cell) => cell.id === `reduce_${2 * config.numCells}`);
  const cellOf = new Map<SymbolicTensor, string>();

  const namer1 = new KerasNamer();
  const image = tfl.input({ shape: [config.inputSize, config.inputSize, 3], name: 'input_layer' });
  const stem = buildStem(config, image);
  cellOf.set(stem, 'stem');
  const { x: hidden, p } = buildCells(config, plan.slice(0, cut), { x: stem, p: null }, namer1, (cell, out) => cellOf.set(out, cell.id));
  const hiddenPrevious = p!;
  const rpnFeatures = concat(namer1, [hiddenPrevious, hidden], 'rpn_features');
  const stage1 = tfl.model({ inputs: image, outputs: [hiddenPrevious, hidden, rpnFeatures], name: 'NASNet_stage1' });

  const namer2 = new KerasNamer();
  const c = options.cropSize;
  const cropPrevious = tfl.input({ shape: [c, c, channels(hiddenPrevious)], name: 'hidden_previous_crop' });
  const cropHidden = tfl.input({ shape: [c, c, channels(hidden)], name: 'hidden_crop' });
  const { x } = buildCells(config, plan.slice(cut), { x: cropHidden, p: cropPrevious }, namer2, () => undefined);
  const stage2 = tfl.model({ inputs: [cropPrevious, cropHidden], outputs: relu(namer2, x), name: 'NASNet_stage2' });

  return {
    stage1,
    stage2,
    stage1Cells: plan.slice(0, cut).map((cell) => cell.id),
    rpnCells: [cellOf.get(hiddenPrevious)!, cellOf.get(hidden)!],
    stage2Cells: plan.slice(cut).map((cell) => cell.id),
    channels: [channels(hiddenPrevious), channels(hidden)],
    featureStride: plan[cut - 1]!.stride,
  };
}
