// A weightless layer that passes its input on as a new tensor (the ONNX export writes Identity).
// Why it exists: tfjs-layers' executor frees a tensor too early when one layer takes it twice (a cell block
// whose two branches are `identity` of the same state, e.g. concat(h, h)): inference then fails with
// "Cannot read properties of undefined (reading 'backend')". applyTo (keras_layers.ts) gives every repeat
// its own tensor through this layer.
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';

export class TensorCopy extends tfl.layers.Layer {
  static readonly className = 'TensorCopy';

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.clone(Array.isArray(inputs) ? inputs[0]! : inputs);
  }
}
tf.serialization.registerClass(TensorCopy);
