// The greedy matching of COCOeval.evaluateImg (cocoeval.py:235-313) on typed arrays, for one
// (image, category group, area range). Shape shorthand: T IoU thresholds, D dts (sorted by score and
// cut), G gts; `ious` is [D,G] row-major in the GTs' group order; outputs are [T,D] / [T,G] row-major
// in the sorted orders (dts by score, gts with non-ignored first).
import type { AnnTable } from './prepare.js';

/** Reusable buffers; grown on demand so the hot loop allocates nothing. */
export class MatchScratch {
  dtm = new Float64Array(0);
  gtm = new Float64Array(0);
  dtIg = new Uint8Array(0);
  gtIg = new Uint8Array(0);
  gtCrowd = new Uint8Array(0);
  gtind = new Int32Array(0);

  ensure(T: number, D: number, G: number): void {
    if (this.dtm.length < T * D) { this.dtm = new Float64Array(T * D * 2); this.dtIg = new Uint8Array(T * D * 2); }
    if (this.gtm.length < T * G) this.gtm = new Float64Array(T * G * 2);
    if (this.gtIg.length < G) { this.gtIg = new Uint8Array(G * 2); this.gtCrowd = new Uint8Array(G * 2); this.gtind = new Int32Array(G * 2); }
  }
}

export interface MatchGroup {
  gt: AnnTable;
  gtList: Int32Array;
  g0: number;
  G: number;
  dt: AnnTable;
  dtList: Int32Array;
  d0: number;
  D: number;
  /** [D,G] IoUs, or null when pycocotools has `ious == []` (no gt or no dt, or keypoints with useCats=0). */
  ious: Float64Array | null;
}

/**
 * Fill s.dtm (matched gt id, 0 = none), s.gtm (matched dt id), s.dtIg, s.gtIg and s.gtind for one
 * area range [lo, hi] (bounds inclusive).
 */
export function matchImage(m: MatchGroup, iouThrs: ArrayLike<number>, lo: number, hi: number, s: MatchScratch): void {
  const { gt, gtList, g0, G, dt, dtList, d0, D, ious } = m;
  const T = iouThrs.length;
  s.ensure(T, D, G);
  const { dtm, gtm, dtIg, gtIg, gtCrowd, gtind } = s;
  // gt _ignore, then a stable argsort of it: non-ignored first (cocoeval.py:250-258).
  let n = 0;
  for (let j = 0; j < G; j++) {
    const idx = gtList[g0 + j];
    const area = gt.area[idx];
    if (!(gt.ignore[idx] || area < lo || area > hi)) gtind[n++] = j;
  }
  const nKept = n;
  for (let j = 0; j < G; j++) {
    const idx = gtList[g0 + j];
    const area = gt.area[idx];
    if (gt.ignore[idx] || area < lo || area > hi) gtind[n++] = j;
  }
  for (let j = 0; j < G; j++) {
    gtIg[j] = j < nKept ? 0 : 1;
    gtCrowd[j] = gt.crowd[gtList[g0 + gtind[j]]];
  }
  dtm.fill(0, 0, T * D);
  dtIg.fill(0, 0, T * D);
  gtm.fill(0, 0, T * G);
  if (ious !== null && D > 0 && G > 0) {
    for (let t = 0; t < T; t++) {
      const thr = Math.min(iouThrs[t], 1 - 1e-10);
      const gRow = t * G;
      for (let d = 0; d < D; d++) {
        let iou = thr;
        let best = -1;
        const row = d * G;
        for (let j = 0; j < G; j++) {
          // already matched and not a crowd: skip
          if (gtm[gRow + j] > 0 && !gtCrowd[j]) continue;
          // matched to a regular gt and reached the ignored ones: stop
          if (best > -1 && gtIg[best] === 0 && gtIg[j] === 1) break;
          const v = ious[row + gtind[j]];
          if (v < iou) continue;
          iou = v;
          best = j;
        }
        if (best === -1) continue;
        dtIg[t * D + d] = gtIg[best];
        dtm[t * D + d] = gt.id[gtList[g0 + gtind[best]]];
        gtm[gRow + best] = dt.id[dtList[d0 + d]];
      }
    }
  }
  // Unmatched dts outside the area range are ignored, judged on the dt's own (loadRes) area.
  for (let d = 0; d < D; d++) {
    const area = dt.area[dtList[d0 + d]];
    if (!(area < lo || area > hi)) continue;
    for (let t = 0; t < T; t++) if (dtm[t * D + d] === 0) dtIg[t * D + d] = 1;
  }
}
