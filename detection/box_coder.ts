// Box coder: boxes <-> regression codes relative to reference boxes (anchors or proposals), on tensors
// so that the losses and the proposal/detection decoders run on the backend.
//
// Shape shorthand: N = boxes, K = classes. Boxes [N, 4] = [y1, x1, y2, x2] in any consistent unit (the
// code is scale-invariant). Codes [N, 4] = (dy, dx, dh, dw): the TF Object Detection API order, which
// matches our box order. torchvision's BoxCoder writes (dx, dy, dw, dh) for (x1, y1, x2, y2) boxes;
// converting its weights or deltas is the per-box permutation [1, 0, 3, 2] (test/detection/box_coder).
//
// Formulas and float32 operation order follow torchvision/models/detection/_utils.py `BoxCoder`
// (encode_single, decode_single): centre = y1 + 0.5 * h (not (y1 + y2) / 2), weights multiply the
// offset before dividing by the reference size, and dh/dw are clamped from above only, after dividing
// by their weight, at log(1000 / 16).
import * as tf from '@tensorflow/tfjs-core';
import { NasnetError } from '../core/errors.js';

/** Code weights (wy, wx, wh, ww). */
export type BoxCodeWeights = readonly [number, number, number, number];

/** torchvision's RPN weights. */
export const RPN_BOX_CODE_WEIGHTS: BoxCodeWeights = [1, 1, 1, 1];
/** torchvision's RoIHeads weights (also the TF OD API FasterRcnnBoxCoder scale factors). */
export const ROI_BOX_CODE_WEIGHTS: BoxCodeWeights = [10, 10, 5, 5];
/** Upper clamp of dh and dw before exp: log(1000 / 16), as torchvision's `bbox_xform_clip`. */
export const BOX_CODE_CLIP = Math.log(1000 / 16);

type Parts = [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor];

function splitLast(x: tf.Tensor): Parts {
  return tf.split(x, 4, -1) as Parts;
}

function checkLast4(t: tf.Tensor, fn: string, arg: string): void {
  if (t.rank < 2 || t.shape[t.rank - 1] !== 4) {
    throw new NasnetError('INVALID_ARGUMENT', `${fn}: ${arg} must have shape [..., 4]; received [${t.shape.join(', ')}]`, {
      argument: arg,
    });
  }
}

/** Centre and size along one axis, in torchvision's order of float32 operations. */
function centreSize(lo: tf.Tensor, hi: tf.Tensor): [tf.Tensor, tf.Tensor] {
  const size = tf.sub(hi, lo);
  return [tf.add(lo, tf.mul(0.5, size)), size];
}

/**
 * Codes [N, 4] that turn `reference` boxes [N, 4] into `boxes` [N, 4] (row-wise). Argument order is
 * target first, as torchvision's `encode_single(reference_boxes=gt, proposals)`.
 */
export function encodeBoxes(boxes: tf.Tensor2D, reference: tf.Tensor2D, weights: BoxCodeWeights): tf.Tensor2D {
  checkLast4(boxes, 'encodeBoxes', 'boxes');
  checkLast4(reference, 'encodeBoxes', 'reference');
  return tf.tidy(() => {
    const [by1, bx1, by2, bx2] = splitLast(boxes);
    const [ry1, rx1, ry2, rx2] = splitLast(reference);
    const [bcy, bh] = centreSize(by1, by2);
    const [bcx, bw] = centreSize(bx1, bx2);
    const [rcy, rh] = centreSize(ry1, ry2);
    const [rcx, rw] = centreSize(rx1, rx2);
    const [wy, wx, wh, ww] = weights;
    const dy = tf.div(tf.mul(wy, tf.sub(bcy, rcy)), rh);
    const dx = tf.div(tf.mul(wx, tf.sub(bcx, rcx)), rw);
    const dh = tf.mul(wh, tf.log(tf.div(bh, rh)));
    const dw = tf.mul(ww, tf.log(tf.div(bw, rw)));
    return tf.concat([dy, dx, dh, dw], -1) as tf.Tensor2D;
  });
}

function decodeParts(codes: tf.Tensor, reference: tf.Tensor, weights: BoxCodeWeights, clip: number): tf.Tensor {
  const [ry1, rx1, ry2, rx2] = splitLast(reference);
  const [rcy, rh] = centreSize(ry1, ry2);
  const [rcx, rw] = centreSize(rx1, rx2);
  const [cy, cx, ch, cw] = splitLast(codes);
  const [wy, wx, wh, ww] = weights;
  const limit = tf.scalar(clip);
  const dy = tf.div(cy, wy);
  const dx = tf.div(cx, wx);
  const dh = tf.minimum(tf.div(ch, wh), limit);
  const dw = tf.minimum(tf.div(cw, ww), limit);
  const pcy = tf.add(tf.mul(dy, rh), rcy);
  const pcx = tf.add(tf.mul(dx, rw), rcx);
  const halfH = tf.mul(0.5, tf.mul(tf.exp(dh), rh));
  const halfW = tf.mul(0.5, tf.mul(tf.exp(dw), rw));
  return tf.concat([tf.sub(pcy, halfH), tf.sub(pcx, halfW), tf.add(pcy, halfH), tf.add(pcx, halfW)], -1);
}

/** Boxes [N, 4] from codes [N, 4] relative to `reference` [N, 4]. No clipping to the image. */
export function decodeBoxes(codes: tf.Tensor2D, reference: tf.Tensor2D, weights: BoxCodeWeights, clip = BOX_CODE_CLIP): tf.Tensor2D {
  checkLast4(codes, 'decodeBoxes', 'codes');
  checkLast4(reference, 'decodeBoxes', 'reference');
  return tf.tidy(() => decodeParts(codes, reference, weights, clip) as tf.Tensor2D);
}

/**
 * Class-specific boxes [N, K, 4] from codes [N, K*4] (class k in columns 4k..4k+3), all relative to
 * the same reference box of their row (torchvision `BoxCoder.decode`).
 */
export function decodeClassBoxes(codes: tf.Tensor2D, reference: tf.Tensor2D, weights: BoxCodeWeights, clip = BOX_CODE_CLIP): tf.Tensor3D {
  checkLast4(reference, 'decodeClassBoxes', 'reference');
  const [n, k4] = codes.shape;
  if (codes.rank !== 2 || k4 % 4 !== 0 || n !== reference.shape[0]) {
    throw new NasnetError(
      'INVALID_ARGUMENT',
      `decodeClassBoxes: codes must have shape [${reference.shape[0]}, K*4]; received [${codes.shape.join(', ')}]`,
      { argument: 'codes' },
    );
  }
  return tf.tidy(() => {
    const perClass = tf.reshape(codes, [n, k4 / 4, 4]); // [N, K, 4]
    const ref = tf.expandDims(reference, 1); // [N, 1, 4]
    return decodeParts(perClass, ref, weights, clip) as tf.Tensor3D;
  });
}
