// Training targets of the two stages for one image: match, label, sample, pair each sample with its
// ground-truth box (torchvision rpn.py `assign_targets_to_anchors`, roi_heads.py
// `select_training_samples`).
//
// Shape shorthand: A = anchors, P = proposals, G = gt boxes, R = sampled ROIs. Boxes are flat
// Float32Array [n*4] in the library frame ([y1, x1, y2, x2] normalised to the network input).
//   rpnTargets: anchors [A*4], gt [G*4] -> labels [A] (1 / 0 sampled, -1 not), matchedGt [A*4]
//   roiTargets: proposals [P*4], gt [G*4], gtLabels [G] -> rois [R*4], labels [R], matchedGt [R*4]
// `matchedGt` row i is the gt box of prediction i (any gt when it is background, so that encoding it
// stays finite; the losses mask those rows), ready for encodeBoxes against the anchors / ROIs.
import type { Prng } from '../core/prng.js';
import { gatherRows } from './box_ops.js';
import { clampedMatches, matchBoxes, roiLabels, rpnLabels, ROI_MATCHER_CONFIG, RPN_MATCHER_CONFIG } from './matcher.js';
import { sampleBalanced, sampledLabels, type SamplerConfig } from './sampler.js';

export interface GroundTruth {
  /** [G*4] */
  readonly boxes: Float32Array;
  /** [G] labels 1..K */
  readonly labels: Int32Array;
}

/** Drops boxes with zero or negative height or width (the matcher rejects them; see matcher.ts). */
export function properGroundTruth(gt: GroundTruth): GroundTruth {
  const keep: number[] = [];
  for (let g = 0; g < gt.labels.length; g++) {
    const o = 4 * g;
    if ((gt.boxes[o + 2] as number) > (gt.boxes[o] as number) && (gt.boxes[o + 3] as number) > (gt.boxes[o + 1] as number)) keep.push(g);
  }
  if (keep.length === gt.labels.length) return gt;
  return { boxes: gatherRows(gt.boxes, keep), labels: Int32Array.from(keep, (g) => gt.labels[g] as number) };
}

function matchedBoxes(gt: Float32Array, matches: Int32Array, fallback: Float32Array): Float32Array {
  // Without any gt every prediction is background: pair it with itself (a zero code).
  return gt.length === 0 ? fallback : gatherRows(gt, clampedMatches(matches));
}

export interface RpnTargets {
  /** [A] 1 sampled foreground, 0 sampled background, -1 not in the minibatch. */
  readonly labels: Int32Array;
  /** [A*4] */
  readonly matchedGt: Float32Array;
}

export function rpnTargets(anchors: Float32Array, gt: GroundTruth, sampler: SamplerConfig, prng: Prng): RpnTargets {
  const matches = matchBoxes(gt.boxes, anchors, RPN_MATCHER_CONFIG);
  const labels = rpnLabels(matches);
  return { labels: sampledLabels(labels, sampleBalanced(labels, sampler, prng)), matchedGt: matchedBoxes(gt.boxes, matches, anchors) };
}

export interface RoiTargets {
  /** [R*4] sampled ROIs: proposals and gt boxes (appended to the proposals, as torchvision does). */
  readonly rois: Float32Array;
  /** [R] class labels, 0 for background. */
  readonly labels: Int32Array;
  /** [R*4] */
  readonly matchedGt: Float32Array;
}

export function roiTargets(proposals: Float32Array, gt: GroundTruth, sampler: SamplerConfig, prng: Prng): RoiTargets {
  const candidates = new Float32Array(proposals.length + gt.boxes.length);
  candidates.set(proposals);
  candidates.set(gt.boxes, proposals.length);
  const matches = matchBoxes(gt.boxes, candidates, ROI_MATCHER_CONFIG);
  const labels = roiLabels(matches, gt.labels);
  const sample = sampleBalanced(labels, sampler, prng);
  const chosen = [...sample.positive, ...sample.negative];
  const matched = matchedBoxes(gt.boxes, matches, candidates);
  return {
    rois: gatherRows(candidates, chosen),
    labels: Int32Array.from(chosen, (i, n) => (n < sample.positive.length ? (labels[i] as number) : 0)),
    matchedGt: gatherRows(matched, chosen),
  };
}
