// COCOeval.accumulate (cocoeval.py:315-420) over the compact per-image results. Shape shorthand:
// T IoU thresholds, R recall thresholds, K category groups, A area ranges, M maxDets, I images,
// S dt slots (each group's dts, sorted by score and cut to maxDets[-1], groups in [K][I] order).

import { argsortDesc } from './argsort.js';

/** evalImgs in columns: what accumulate reads of the pycocotools dicts. */
export interface EvalStore {
  T: number;
  A: number;
  K: number;
  I: number;
  /** [K*I]: 1 where evaluateImg returned a dict (the image has a gt or a dt of the group). */
  present: Uint8Array;
  /** [K*A]: non-ignored GTs summed over images (np.count_nonzero(gtIg == 0)). */
  npig: Int32Array;
  /** [K*I+1]: slot offsets of the groups. */
  dtStart: Int32Array;
  /** [S]: dtScores. */
  score: Float64Array;
  /** [S,A,T]: bit 0 = dtMatches != 0, bit 1 = dtIgnore. */
  codes: Uint8Array;
}

export const MATCHED = 1;
export const IGNORED = 2;

export interface Accumulated {
  counts: [number, number, number, number, number];
  /** [T,R,K,A,M], -1 where absent. */
  precision: Float64Array;
  /** [T,K,A,M], -1 where absent. */
  recall: Float64Array;
  /** [T,R,K,A,M]: the score at which each precision value is reached. */
  scores: Float64Array;
}

const EPS = 2 ** -52; // np.spacing(1)

/**
 * One (k, a, m, t) cell. pycocotools builds rc = cumsum(tp)/npig and pr = tp/(tp+fp+eps) over the
 * nd sorted dts, makes pr non-increasing from the right and reads it at searchsorted(rc, recThrs,
 * 'left'). rc only rises at true positives, and between two of them pr only falls, so the same
 * numbers come from the true-positive events alone: event c (1-based) sits at position tpPos[c-1],
 * has rc = c/npig and pr = tpPr[c-1]; the envelope there is the max of tpPr over events >= c.
 */
function precisionAtRecalls(
  code: Uint8Array, off: number, stride: number, nd: number, npig: number, recThrs: readonly number[],
  sc: Float64Array, ev: { pos: Int32Array; pr: Float64Array }, q: Float64Array, ss: Float64Array,
): number {
  let tp = 0, fp = 0, nTp = 0;
  for (let j = 0; j < nd; j++) {
    const c = code[j * stride + off];
    if (c & IGNORED) continue;
    if (c & MATCHED) {
      tp++;
      ev.pos[nTp] = j;
      ev.pr[nTp++] = tp / (fp + tp + EPS);
    } else fp++;
  }
  for (let c = nTp - 2; c >= 0; c--) if (ev.pr[c + 1] > ev.pr[c]) ev.pr[c] = ev.pr[c + 1];
  q.fill(0); ss.fill(0);
  if (nd === 0) return 0; // recall 0, precision stays 0
  for (let r = 0; r < recThrs.length; r++) {
    const thr = recThrs[r];
    // smallest event count c with c/npig >= thr (c = 0 means position 0)
    let lo = 0, hi = nTp + 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (mid / npig < thr) lo = mid + 1; else hi = mid;
    }
    if (lo > nTp) break; // past the end: the try/except stops filling (cocoeval.py:402-408)
    const pi = lo === 0 ? 0 : ev.pos[lo - 1];
    q[r] = lo === 0 ? (nTp > 0 ? ev.pr[0] : 0) : ev.pr[lo - 1];
    ss[r] = sc[pi];
  }
  return tp / npig;
}

export function accumulate(st: EvalStore, recThrs: readonly number[], maxDets: readonly number[]): Accumulated {
  const { T, A, K, I } = st;
  const R = recThrs.length, M = maxDets.length;
  const precision = new Float64Array(T * R * K * A * M).fill(-1);
  const recall = new Float64Array(T * K * A * M).fill(-1);
  const scores = new Float64Array(T * R * K * A * M).fill(-1);
  const q = new Float64Array(R), ss = new Float64Array(R);
  for (let k = 0; k < K; k++) {
    let anyPresent = false;
    for (let i = 0; i < I && !anyPresent; i++) anyPresent = st.present[k * I + i] === 1;
    if (!anyPresent) continue;
    // All images concatenated in imgId order, then a stable sort by -score: slot order is the
    // concatenation order, so (score desc, slot asc) is exactly numpy's mergesort result.
    const s0 = st.dtStart[k * I], s1 = st.dtStart[(k + 1) * I];
    const n = s1 - s0;
    const order = argsortDesc(st.score.subarray(s0, s1));
    // each dt's rank within its image, for the per-image cut [0:maxDet]
    const rank = new Int32Array(n);
    for (let g = k * I; g < (k + 1) * I; g++) for (let s = st.dtStart[g]; s < st.dtStart[g + 1]; s++) rank[s - s0] = s - st.dtStart[g];
    // codes, scores and ranks in sorted order: rows of A*T codes, one row per dt
    const AT = A * T;
    const sorted = new Uint8Array(n * AT), sortedScore = new Float64Array(n), sortedRank = new Int32Array(n);
    for (let j = 0; j < n; j++) {
      const src = (s0 + order[j]) * AT, dst = j * AT;
      for (let at = 0; at < AT; at++) sorted[dst + at] = st.codes[src + at];
      sortedScore[j] = st.score[s0 + order[j]];
      sortedRank[j] = rank[order[j]];
    }
    const ev = { pos: new Int32Array(n), pr: new Float64Array(n) };
    for (let m = 0; m < M; m++) {
      // the dts within each image's first maxDet, still in sorted order
      const maxDet = maxDets[m];
      let nd = 0;
      for (let j = 0; j < n; j++) nd += sortedRank[j] < maxDet ? 1 : 0;
      let code = sorted, sc = sortedScore;
      if (nd < n) {
        code = new Uint8Array(nd * AT);
        sc = new Float64Array(nd);
        for (let j = 0, kept = 0; j < n; j++) {
          if (sortedRank[j] >= maxDet) continue;
          for (let at = 0; at < AT; at++) code[kept * AT + at] = sorted[j * AT + at];
          sc[kept++] = sortedScore[j];
        }
      }
      for (let a = 0; a < A; a++) {
        const npig = st.npig[k * A + a];
        if (npig === 0) continue;
        for (let t = 0; t < T; t++) {
          const rc = precisionAtRecalls(code, a * T + t, AT, nd, npig, recThrs, sc, ev, q, ss);
          recall[((t * K + k) * A + a) * M + m] = rc;
          for (let r = 0; r < R; r++) {
            const at = (((t * R + r) * K + k) * A + a) * M + m;
            precision[at] = q[r];
            scores[at] = ss[r];
          }
        }
      }
    }
  }
  return { counts: [T, R, K, A, M], precision, recall, scores };
}
