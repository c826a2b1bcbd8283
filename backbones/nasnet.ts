// NASNet: stem, three stacks of N normal cells separated by two reduction cells, head
// (Keras `NASNet`, K3 nasnet.py 190-258; slim `_build_nasnet_base`, TFN 452-547). With the NASNet-A
// genotype and an ImageNet preset the graph is Keras' layer for layer (names, weights, order of creation).
// Shape shorthand: image [N,S,S,3] -> cells [N,h,w,K] -> logits [N,classes] (or the final map).
import * as tfl from '@tensorflow/tfjs-layers';
import type { LayersModel, SymbolicTensor } from '@tensorflow/tfjs-layers';
import { buildCell } from '../cells/cell.js';
import { KerasNamer, channels, relu, setBatchNormMomentum } from '../cells/keras_layers.js';
import type { CellKind } from '../cells/search_space.js';
import { FILTER_MULTIPLIER, baseFilters, resolveNasnetConfig, type NasnetConfig, type NasnetPresetName } from './config.js';
import { buildAuxHead, buildClassifier, buildStem } from './heads.js';
import { NasnetError } from '../core/errors.js';

/** One cell of the network, in build order. */
export interface CellPlan {
  readonly kind: CellKind;
  /** Keras cell id: `stem_1`, `stem_2`, `0`..`N-1`, `reduce_N`, `N+1`..`2N`, `reduce_2N`, `2N+1`..`3N`. */
  readonly id: string;
  readonly filters: number;
  /** Position c for ScheduledDropPath (stems first). */
  readonly cellIndex: number;
  /** Input-to-output stride of the cell's output (stem conv and every reduction halve). */
  readonly stride: number;
}

/** The cells of a config in build order (Keras block ids, slim cell numbering for drop path). */
export function cellPlan(config: NasnetConfig): CellPlan[] {
  const f = baseFilters(config);
  const n = config.numCells;
  const cells: Omit<CellPlan, 'cellIndex'>[] = [];
  let stride = config.stem === 'imagenet' ? 2 : 1;
  const reduction = (id: string, filters: number): void => {
    stride *= 2;
    cells.push({ kind: 'reduction', id, filters, stride });
  };
  if (config.stem === 'imagenet') {
    reduction('stem_1', Math.floor(f / FILTER_MULTIPLIER ** 2));
    reduction('stem_2', Math.floor(f / FILTER_MULTIPLIER));
  }
  for (let stack = 0; stack < 3; stack++) {
    const filters = f * FILTER_MULTIPLIER ** stack;
    if (stack > 0) reduction(`reduce_${stack * n}`, filters);
    for (let i = 0; i < n; i++) cells.push({ kind: 'normal', id: String(stack === 0 ? i : stack * n + 1 + i), filters, stride });
  }
  return cells.map((cell, cellIndex) => ({ ...cell, cellIndex }));
}

export interface CellStates {
  /** h_i: output of the last cell built. */
  readonly x: SymbolicTensor;
  /** h_{i-1}: what the next cell receives as its older state (null before the first cell). */
  readonly p: SymbolicTensor | null;
}

/** Builds `cells` on top of (x, p); calls `onCell` with each cell output. Keras' (x, p) threading. */
export function buildCells(
  config: NasnetConfig,
  cells: readonly CellPlan[],
  start: CellStates,
  namer: KerasNamer,
  onCell: (cell: CellPlan, output: SymbolicTensor) => void,
): CellStates {
  const totalCells = cellPlan(config).length;
  let { x, p } = start;
  for (const cell of cells) {
    const genotype = cell.kind === 'normal' ? config.genotype.normal : config.genotype.reduction;
    const { output } = buildCell(genotype, x, p, {
      kind: cell.kind,
      id: cell.id,
      filters: cell.filters,
      namer,
      dropPath: { keepProb: config.dropPathKeepProb, cellIndex: cell.cellIndex, totalCells },
    });
    // A cell passes its input on as the next h_{i-1}; with skipReduction a non-stem reduction cell
    // passes on its own h_{i-1} instead (K3 215-236).
    const skip = cell.kind === 'reduction' && config.skipReduction && !cell.id.startsWith('stem_');
    if (!skip) p = x;
    x = output;
    onCell(cell, output);
  }
  return { x, p };
}

export type EndpointKind = 'stem' | CellKind | 'final';

/** A named feature map of the network (every cell output, the stem and the final relu). */
export interface NasnetEndpoint {
  /** `stem`, the Keras cell id (`stem_1`, `0`, `reduce_4`, ...) or `final`. */
  readonly name: string;
  /** The Keras layer producing it (`stem_bn1`, `normal_concat_0`, `reduction_concat_reduce_4`, ...). */
  readonly layerName: string;
  readonly kind: EndpointKind;
  readonly stride: number;
  readonly channels: number;
  readonly tensor: SymbolicTensor;
}

export interface NasnetNetwork {
  readonly model: LayersModel;
  readonly config: NasnetConfig;
  readonly endpoints: readonly NasnetEndpoint[];
}

function endpointOf(name: string, kind: EndpointKind, stride: number, tensor: SymbolicTensor): NasnetEndpoint {
  return { name, kind, stride, tensor, channels: channels(tensor), layerName: tensor.sourceLayer.name };
}

/**
 * Builds a NASNet as a tfjs-layers functional model. Outputs: the classifier (or the relu'd final map
 * without top), plus the aux logits when `auxHead` is on.
 */
export function buildNasnet(partial: Partial<NasnetConfig> & { readonly preset?: NasnetPresetName } = {}): NasnetNetwork {
  const config = resolveNasnetConfig(partial);
  const namer = new KerasNamer();
  const image = tfl.input({ shape: [config.inputSize, config.inputSize, 3], name: 'input_layer' });
  const stem = buildStem(config, image);
  const stemStride = config.stem === 'imagenet' ? 2 : 1;
  const endpoints: NasnetEndpoint[] = [endpointOf('stem', 'stem', stemStride, stem)];
  const plan = cellPlan(config);
  const auxCellId = String(2 * config.numCells);
  const { x } = buildCells(config, plan, { x: stem, p: null }, namer, (cell, output) => {
    endpoints.push(endpointOf(cell.id, cell.kind, cell.stride, output));
  });
  const features = relu(namer, x);
  endpoints.push(endpointOf('final', 'final', plan[plan.length - 1]!.stride, features));
  const outputs = [config.includeTop ? buildClassifier(config, namer, features) : features];
  if (config.auxHead) outputs.push(buildAuxHead(config, endpoints.find((e) => e.name === auxCellId)!.tensor));
  const model = tfl.model({ inputs: image, outputs: outputs.length === 1 ? outputs[0]! : outputs, name: 'NASNet' });
  setBatchNormMomentum(model, config.bnMomentum);
  return { model, config, endpoints };
}

/** A model sharing the network's layers whose outputs are the named endpoints (e.g. ['stem_2', '8']). */
export function endpointModel(network: NasnetNetwork, names: readonly string[]): LayersModel {
  const outputs = names.map((name) => {
    const found = network.endpoints.find((e) => e.name === name || e.layerName === name);
    if (found === undefined) {
      throw new NasnetError('INVALID_ARGUMENT', `endpointModel: no endpoint ${JSON.stringify(name)}; known: ${network.endpoints.map((e) => e.name).join(', ')}`);
    }
    return found.tensor;
  });
  return tfl.model({ inputs: network.model.inputs, outputs, name: 'NASNet_endpoints' });
}
