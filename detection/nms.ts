// Greedy non-maximum suppression on typed arrays, torchvision semantics.
//
// Shape shorthand: N = boxes. boxes: Float32Array [N*4] (any consistent frame), scores: Float32Array
// [N], groups: Int32Array [N] (class or level ids). Output: Int32Array of kept indices in decreasing
// score order, ties broken by the lower index.
//
// Why not tf.image.nonMaxSuppression: TF.js suppresses when IoU >= threshold with IoU in float64, while
// torchvision (torchvision/csrc/ops/cpu/nms_kernel.cpp) suppresses when the float32 IoU is strictly
// greater than the threshold taken as a double. The two differ exactly at boundary pairs (IoU 0.5 at
// threshold 0.5 is kept by torchvision, suppressed by TF.js; see test/detection/nms.test.ts), and TF.js
// has no batched (per-class) variant. This loop is O(N * kept) and stops once `maxOutput` boxes are
// kept, which gives the same first `maxOutput` indices as running to the end.
import { NasnetError } from '../core/errors.js';
import { boxArea, boxCount, clipBoxes, gatherRows, pairIou, removeSmall, type BoxFrame } from './box_ops.js';

/** Indices 0..N-1 (or `subset`) sorted by decreasing score; stable, so ties keep the lower index first. */
export function argsortDescending(scores: Float32Array, subset?: ArrayLike<number>): Int32Array {
  const order = subset === undefined ? Array.from(scores.keys()) : Array.from(subset);
  order.sort((i, j) => (scores[j] as number) - (scores[i] as number));
  return Int32Array.from(order);
}

function suppress(boxes: Float32Array, scores: Float32Array, groups: Int32Array | undefined, iouThreshold: number, maxOutput: number): Int32Array {
  const n = boxCount(boxes, 'nonMaxSuppression');
  if (scores.length !== n || (groups !== undefined && groups.length !== n)) {
    throw new NasnetError(
      'INVALID_ARGUMENT',
      `nonMaxSuppression: scores${groups ? ' and groups' : ''} must have one entry per box (${n}); received ${scores.length}${groups ? `, ${groups.length}` : ''}`,
      { argument: 'scores' },
    );
  }
  if (!Number.isFinite(iouThreshold)) {
    throw new NasnetError('INVALID_ARGUMENT', `nonMaxSuppression: iouThreshold must be a finite number; received ${iouThreshold}`, {
      argument: 'iouThreshold',
    });
  }
  const order = argsortDescending(scores);
  const areas = new Float32Array(n);
  for (let i = 0; i < n; i++) areas[i] = boxArea(boxes, i);
  const suppressed = new Uint8Array(n);
  const keep: number[] = [];
  for (let a = 0; a < n && keep.length < maxOutput; a++) {
    const i = order[a] as number;
    if (suppressed[i]) continue;
    keep.push(i);
    const areaI = areas[i] as number;
    for (let b = a + 1; b < n; b++) {
      const j = order[b] as number;
      if (suppressed[j] || (groups !== undefined && groups[j] !== groups[i])) continue;
      if (pairIou(boxes, i, areaI, boxes, j, areas[j] as number) > iouThreshold) suppressed[j] = 1;
    }
  }
  return Int32Array.from(keep);
}

/** torchvision `nms`: keep a box unless a higher-scored kept box overlaps it with IoU > threshold. */
export function nonMaxSuppression(boxes: Float32Array, scores: Float32Array, iouThreshold: number, maxOutput = Infinity): Int32Array {
  return suppress(boxes, scores, undefined, iouThreshold, maxOutput);
}

/**
 * torchvision `batched_nms`: NMS within each group, never across; the result is ordered by score over
 * all groups. Runs as one pass over the global score order (no coordinate-offset trick, so no extra
 * rounding for large coordinates).
 */
export function batchedNonMaxSuppression(
  boxes: Float32Array,
  scores: Float32Array,
  groups: Int32Array,
  iouThreshold: number,
  maxOutput = Infinity,
): Int32Array {
  return suppress(boxes, scores, groups, iouThreshold, maxOutput);
}

export interface SelectionRule {
  /** Minimum height and width in pixels. */
  readonly minSize: number;
  readonly scoreThreshold: number;
  /** `>=` (RPN proposals) or `>` (final detections), as torchvision. */
  readonly scoreComparison: '>=' | '>';
  readonly nmsThreshold: number;
  readonly maxOutput: number;
}

export interface Selection {
  /** [D*4] clipped boxes in decreasing score order. */
  readonly boxes: Float32Array;
  readonly scores: Float32Array;
  /** Row of each selected box in the input. */
  readonly indices: Int32Array;
}

/**
 * The common tail of proposal filtering and detection post-processing: clip to the frame's window, drop
 * boxes under `minSize` pixels and scores under the threshold (float32 comparison), NMS per group, keep
 * the first `maxOutput`.
 */
export function clipFilterSuppress(boxes: Float32Array, scores: Float32Array, groups: Int32Array, frame: BoxFrame, rule: SelectionRule): Selection {
  const clipped = clipBoxes(boxes, frame.clipWindow);
  const threshold = Math.fround(rule.scoreThreshold);
  const passes = rule.scoreComparison === '>=' ? (s: number) => s >= threshold : (s: number) => s > threshold;
  const valid = Array.from(removeSmall(clipped, rule.minSize, frame.pixelScale)).filter((i) => passes(scores[i] as number));
  const validBoxes = gatherRows(clipped, valid);
  const validScores = gatherRows(scores, valid, 1);
  const keep = batchedNonMaxSuppression(validBoxes, validScores, Int32Array.from(valid, (i) => groups[i] as number), rule.nmsThreshold, rule.maxOutput);
  return { boxes: gatherRows(validBoxes, keep), scores: gatherRows(validScores, keep, 1), indices: Int32Array.from(keep, (k) => valid[k] as number) };
}
