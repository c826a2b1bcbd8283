// Public surface of backbones/: NASNet configs and presets, the builder, endpoints, the detection split
// and Keras weight import/export.
export {
  NASNET_A_MOBILE,
  NASNET_A_LARGE,
  NASNET_CIFAR,
  NASNET_PRESETS,
  FILTER_MULTIPLIER,
  resolveNasnetConfig,
  baseFilters,
  type NasnetConfig,
  type NasnetPresetName,
  type StemKind,
  type ClassifierActivation,
} from './config.js';
export { buildNasnet, endpointModel, cellPlan, type NasnetNetwork, type NasnetEndpoint, type EndpointKind, type CellPlan } from './nasnet.js';
export { splitForDetection, type DetectionSplit, type DetectionSplitOptions } from './detection_split.js';
export { loadKerasWeightsIntoModel, modelWeightsForKeras, modelWeightSpecs, type LoadKerasWeightsOptions } from './keras_weights.js';
export { kerasLayerOrder } from './keras_order.js';
export { setDropPathProgress } from '../cells/drop_path.js';
