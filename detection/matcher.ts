// Matcher: assigns each prediction (anchor or proposal) to a ground-truth box, or marks it as background
// or ignored, from a quality (IoU) matrix.
//
// Shape shorthand: G = ground-truth boxes, P = predictions. quality: Float32Array [G, P] row-major.
// matches: Int32Array [P] = gt index, BELOW_LOW_THRESHOLD (-1) or BETWEEN_THRESHOLDS (-2).
//
// Port of torchvision/models/detection/_utils.py `Matcher` (float32 threshold comparisons, argmax ties
// to the first gt, low-quality matches restored for every (gt, prediction) pair that ties with the gt's
// best). The label rules of the two stages (`rpnLabels`, `roiLabels`) follow
// `RegionProposalNetwork.assign_targets_to_anchors` and `RoIHeads.assign_targets_to_proposals`.
import { NasnetError } from '../core/errors.js';
import { boxCount, iouMatrix } from './box_ops.js';

export const BELOW_LOW_THRESHOLD = -1;
export const BETWEEN_THRESHOLDS = -2;

export interface MatcherConfig {
  /** Predictions with best quality >= high are matched. */
  readonly highThreshold: number;
  /** Below low: background (-1); in [low, high): ignored (-2). */
  readonly lowThreshold: number;
  /** Restore, for each gt, the predictions of highest quality even if below `highThreshold`. */
  readonly allowLowQualityMatches: boolean;
}

/** RPN: fg >= 0.7, bg < 0.3, each gt keeps its best anchors (torchvision and TF OD API). */
export const RPN_MATCHER_CONFIG: MatcherConfig = { highThreshold: 0.7, lowThreshold: 0.3, allowLowQualityMatches: true };
/** Box head: fg >= 0.5, bg otherwise (torchvision RoIHeads). */
export const ROI_MATCHER_CONFIG: MatcherConfig = { highThreshold: 0.5, lowThreshold: 0.5, allowLowQualityMatches: false };

/** Matches [P] from a quality matrix [G, P] (see the header for the values). */
export function matchQuality(quality: Float32Array, numGt: number, config: MatcherConfig): Int32Array {
  if (config.lowThreshold > config.highThreshold) {
    throw new NasnetError('INVALID_CONFIG', `matchQuality: lowThreshold (${config.lowThreshold}) must be <= highThreshold (${config.highThreshold})`, {
      field: 'lowThreshold',
    });
  }
  if (numGt === 0 || quality.length % numGt !== 0) {
    throw new NasnetError('INVALID_ARGUMENT', `matchQuality: quality must be a [G, P] matrix with G = ${numGt} >= 1; received ${quality.length} values`, {
      argument: 'quality',
    });
  }
  const numPred = quality.length / numGt;
  const high = Math.fround(config.highThreshold);
  const low = Math.fround(config.lowThreshold);
  const best = new Int32Array(numPred);
  const matches = new Int32Array(numPred);
  for (let p = 0; p < numPred; p++) {
    let bestGt = 0;
    let bestVal = quality[p] as number;
    for (let g = 1; g < numGt; g++) {
      const v = quality[g * numPred + p] as number;
      if (v > bestVal) {
        bestVal = v;
        bestGt = g;
      }
    }
    best[p] = bestGt;
    matches[p] = bestVal < low ? BELOW_LOW_THRESHOLD : bestVal < high ? BETWEEN_THRESHOLDS : bestGt;
  }
  if (config.allowLowQualityMatches) {
    for (let g = 0; g < numGt; g++) {
      const row = quality.subarray(g * numPred, (g + 1) * numPred);
      let gtBest = -Infinity;
      for (const v of row) if (v > gtBest) gtBest = v;
      for (let p = 0; p < numPred; p++) if (row[p] === gtBest) matches[p] = best[p] as number;
    }
  }
  return matches;
}

/**
 * IoU matching of boxes [P*4] against gt boxes [G*4] (same frame). Degenerate gt boxes (zero or
 * negative height or width) are rejected: one would tie at IoU 0 with every prediction and, through the
 * low-quality rule, turn every background prediction into a match (torchvision refuses them too).
 */
export function matchBoxes(gtBoxes: Float32Array, boxes: Float32Array, config: MatcherConfig): Int32Array {
  const numGt = boxCount(gtBoxes, 'matchBoxes', 'gtBoxes');
  for (let g = 0; g < numGt; g++) {
    const [y1, x1, y2, x2] = gtBoxes.subarray(4 * g, 4 * g + 4) as unknown as [number, number, number, number];
    if (!(y2 > y1 && x2 > x1)) {
      throw new NasnetError('INVALID_DATA', `matchBoxes: gt box ${g} must have positive height and width; received [${y1}, ${x1}, ${y2}, ${x2}]`, {
        argument: 'gtBoxes',
        index: g,
      });
    }
  }
  const numPred = boxCount(boxes, 'matchBoxes');
  if (numGt === 0) return new Int32Array(numPred).fill(BELOW_LOW_THRESHOLD);
  return matchQuality(iouMatrix(gtBoxes, boxes), numGt, config);
}

/** RPN labels [P]: 1 foreground, 0 background, -1 ignored. */
export function rpnLabels(matches: Int32Array): Int32Array {
  return matches.map((m) => (m >= 0 ? 1 : m === BELOW_LOW_THRESHOLD ? 0 : -1));
}

/** Box-head labels [P]: the matched gt's class, 0 for background, -1 for ignored. */
export function roiLabels(matches: Int32Array, gtLabels: Int32Array): Int32Array {
  return matches.map((m) => (m >= 0 ? (gtLabels[m] as number) : m === BELOW_LOW_THRESHOLD ? 0 : -1));
}

/** Gt index per prediction with background/ignored mapped to 0, for gathering regression targets. */
export function clampedMatches(matches: Int32Array): Int32Array {
  return matches.map((m) => Math.max(m, 0));
}
