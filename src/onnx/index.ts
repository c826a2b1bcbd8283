// ONNX export and inference: importing this module registers the converters for the Keras layers.
import './keras_converters.js';

export { exportLayersModel, registerLayerConverter, hasLayerConverter, type LayerConverter, type GraphBuilder } from './export_layers.js';
export { OnnxSession, type NamedOutput } from './session.js';
