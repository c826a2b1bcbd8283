// A 3x3 convolution with dilation 2 as a sum of nine shifted 1x1 convolutions. tfjs-core has no
// gradient for dilated conv2d (Conv2D_grad asserts dilations == 1), so the search-space op
// `dil_conv_3x3` is written with ops that all have gradients on every backend.
// Shape shorthand: x [N,H,W,Cin] -> y [N,H,W,Cout] ('same' padding, stride 1); kernel [3,3,Cin,Cout].
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import type { LayerVariable } from '@tensorflow/tfjs-layers';

export interface DilatedConv2DArgs {
  readonly filters: number;
  readonly kernelSize?: number;
  readonly dilation?: number;
  readonly name?: string;
}

export class DilatedConv2D extends tfl.layers.Layer {
  static readonly className = 'DilatedConv2D';
  readonly filters: number;
  readonly kernelSize: number;
  readonly dilation: number;
  private kernel: LayerVariable | undefined;

  constructor(args: DilatedConv2DArgs) {
    super({ name: args.name });
    this.filters = args.filters;
    this.kernelSize = args.kernelSize ?? 3;
    this.dilation = args.dilation ?? 2;
  }

  override build(inputShape: tfl.Shape | tfl.Shape[]): void {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tfl.Shape;
    const k = this.kernelSize;
    this.kernel = this.addWeight('kernel', [k, k, shape[3] as number, this.filters], 'float32', tfl.initializers.heNormal({}));
    this.built = true;
  }

  override computeOutputShape(inputShape: tfl.Shape | tfl.Shape[]): tfl.Shape {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tfl.Shape;
    return [shape[0], shape[1], shape[2], this.filters];
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = (Array.isArray(inputs) ? inputs[0]! : inputs) as tf.Tensor4D;
      const [n, h, w, cin] = x.shape;
      const { kernelSize: k, dilation: d } = this;
      const half = (d * (k - 1)) / 2;
      const padded = tf.pad(x, [[0, 0], [half, half], [half, half], [0, 0]]);
      const kernel = this.kernel!.read();
      let y: tf.Tensor4D | undefined;
      for (let i = 0; i < k; i++) {
        for (let j = 0; j < k; j++) {
          const tap = tf.slice(padded, [0, i * d, j * d, 0], [n, h, w, cin]);
          const weights = tf.slice(kernel, [i, j, 0, 0], [1, 1, cin, this.filters]) as tf.Tensor4D;
          const term = tf.conv2d(tap, weights, 1, 'valid');
          y = y === undefined ? term : tf.add<tf.Tensor4D>(y, term);
        }
      }
      return y!;
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), filters: this.filters, kernelSize: this.kernelSize, dilation: this.dilation };
  }
}
tf.serialization.registerClass(DilatedConv2D);
