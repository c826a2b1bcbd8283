// ONNX export and inference: importing this module registers the converters for the Keras layers.
import './keras_converters.js';

export {
  exportLayersModel,
  exportLayersGraph,
  registerLayerConverter,
  hasLayerConverter,
  type ExportOptions,
  type ExportedGraph,
  type LayerConverter,
} from './export_layers.js';
export { type GraphBuilder } from './graph.js';
export { OnnxSession, spinningFromEnv, SPINNING_ENV, type NamedOutput } from './session.js';
