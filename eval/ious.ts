// computeIoU / computeOks (cocoeval.py:160-233) for one group. Shape shorthand: D dts (sorted, cut),
// G gts (group order); the result is [D,G] row-major, as `maskUtils.iou(d, g, iscrowd)` returns it.
import type { MatchGroup } from './match.js';
import type { Params } from './params.js';
import { pairwiseSum } from './numpy_sum.js';
import { boxIou, rleIou } from './rle.js';

// np.spacing(1): the gap between 1.0 and the next double.
export const EPS = 2 ** -52;

/** IoUs of a group into `out` (length >= D*G); false when pycocotools would give `[]`. */
export function groupIous(m: MatchGroup, p: Params, useCatsGroup: boolean, out: Float64Array): boolean {
  const { gt, gtList, g0, G, dt, dtList, d0, D } = m;
  if (D === 0 || G === 0) return false;
  if (p.iouType === 'bbox') {
    for (let d = 0; d < D; d++) {
      const di = 4 * dtList[d0 + d];
      for (let j = 0; j < G; j++) {
        const gi = gtList[g0 + j];
        out[d * G + j] = boxIou(dt.bbox, di, gt.bbox, 4 * gi, gt.crowd[gi] !== 0);
      }
    }
    return true;
  }
  if (p.iouType === 'segm') {
    const drles = Array.from({ length: D }, (_, d) => dt.rles[dtList[d0 + d]]);
    const grles = Array.from({ length: G }, (_, j) => gt.rles[gtList[g0 + j]]);
    const crowd = Array.from({ length: G }, (_, j) => gt.crowd[gtList[g0 + j]]);
    rleIou(drles, grles, crowd, out);
    return true;
  }
  // computeOks reads self._gts[imgId, catId] with catId = -1 when useCats=0, so it sees no GT at all.
  if (!useCatsGroup) return false;
  computeOks(m, p.kpt_oks_sigmas, out);
  return true;
}

/** Object keypoint similarity (cocoeval.py:191-233), in NumPy's operation order. */
function computeOks(m: MatchGroup, sigmas: readonly number[], out: Float64Array): void {
  const { gt, gtList, g0, G, dt, dtList, d0, D } = m;
  const k = sigmas.length;
  const nk = 3 * k;
  const vars = sigmas.map((s) => (s * 2) * (s * 2));
  const e = new Float64Array(k);
  for (let j = 0; j < G; j++) {
    const gi = gtList[g0 + j];
    const g = gi * nk;
    let k1 = 0;
    for (let q = 0; q < k; q++) if (gt.keypoints[g + 3 * q + 2] > 0) k1++;
    const bx = gt.bbox[4 * gi], by = gt.bbox[4 * gi + 1], bw = gt.bbox[4 * gi + 2], bh = gt.bbox[4 * gi + 3];
    const x0 = bx - bw, x1 = bx + bw * 2, y0 = by - bh, y1 = by + bh * 2;
    const denom = gt.area[gi] + EPS;
    for (let d = 0; d < D; d++) {
      const dd = dtList[d0 + d] * nk;
      let n = 0;
      for (let q = 0; q < k; q++) {
        const xd = dt.keypoints[dd + 3 * q], yd = dt.keypoints[dd + 3 * q + 1];
        let dx: number, dy: number;
        if (k1 > 0) {
          if (!(gt.keypoints[g + 3 * q + 2] > 0)) continue;
          dx = xd - gt.keypoints[g + 3 * q];
          dy = yd - gt.keypoints[g + 3 * q + 1];
        } else {
          // distance to the box doubled around the GT box
          dx = Math.max(0, x0 - xd) + Math.max(0, xd - x1);
          dy = Math.max(0, y0 - yd) + Math.max(0, yd - y1);
        }
        e[n++] = Math.exp(-((dx * dx + dy * dy) / vars[q] / denom / 2));
      }
      out[d * G + j] = pairwiseSum(e, 0, n) / n;
    }
  }
}
