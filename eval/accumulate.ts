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
  /** [A,T,S] (a row of slots per area range and IoU threshold): bit 0 = dtMatches != 0, bit 1 = dtIgnore. */
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

/** Set bits of a 32-bit word. */
function popcnt(x: number): number {
  x -= (x >>> 1) & 0x55555555;
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  x = (x + (x >>> 4)) & 0x0f0f0f0f;
  return Math.imul(x, 0x01010101) >>> 24;
}

/**
 * One (k, a, m, t) cell. pycocotools builds rc = cumsum(tp)/npig and pr = tp/(tp+fp+eps) over the
 * nd sorted dts, makes pr non-increasing from the right and reads it at searchsorted(rc, recThrs,
 * 'left'). rc only rises at true positives, and between two of them pr only falls, so the same
 * numbers come from the true-positive events alone: event c (1-based) sits at position tpPos[c-1],
 * has rc = c/npig and pr = tpPr[c-1]; the envelope there is the max of tpPr over events >= c.
 * The sorted dts come as bitsets of W words: `valid` (not ignored), `tpBits` (matched, not ignored)
 * and `kept` (within the image's first maxDet); tp+fp at an event is the number of valid kept bits
 * up to it, so only the words and the true positives are visited, not every dt.
 */
function precisionAtRecalls(
  valid: Int32Array, tpBits: Int32Array, off: number, kept: Int32Array, W: number, nd: number, first: number,
  npig: number, recThrs: readonly number[], sortedScore: Float64Array, ev: { pos: Int32Array; pr: Float64Array },
  q: Float64Array, ss: Float64Array,
): number {
  let tp = 0, nTp = 0, before = 0;
  for (let w = 0; w < W; w++) {
    const v = valid[off + w] & kept[w];
    let x = tpBits[off + w] & kept[w];
    while (x !== 0) {
      const low = x & -x;
      const b = 31 - Math.clz32(low);
      tp++;
      // valid kept bits up to and including b: tp + fp at this event
      const upTo = before + popcnt(b === 31 ? v : v & ((low << 1) - 1));
      ev.pos[nTp] = (w << 5) + b;
      ev.pr[nTp++] = tp / (upTo + EPS);
      x ^= low;
    }
    before += popcnt(v);
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
    q[r] = lo === 0 ? (nTp > 0 ? ev.pr[0] : 0) : ev.pr[lo - 1];
    ss[r] = sortedScore[lo === 0 ? first : ev.pos[lo - 1]];
  }
  return tp / npig;
}

/** The output arrays, filled with -1 ("absent"); in shared memory when threads fill them together. */
export function newAccumulated(st: EvalStore, R: number, M: number, shared = false): Accumulated {
  const { T, A, K } = st;
  const alloc = (n: number) => {
    const a = shared ? new Float64Array(new SharedArrayBuffer(8 * n)) : new Float64Array(n);
    return a.fill(-1);
  };
  return { counts: [T, R, K, A, M], precision: alloc(T * R * K * A * M), recall: alloc(T * K * A * M), scores: alloc(T * R * K * A * M) };
}

export function accumulate(st: EvalStore, recThrs: readonly number[], maxDets: readonly number[]): Accumulated {
  const out = newAccumulated(st, recThrs.length, maxDets.length);
  for (let k = 0; k < st.K; k++) accumulateCategory(st, k, recThrs, maxDets, out);
  return out;
}

/** accumulate() for category group k: its entries of precision, recall and scores (independent of the other k). */
export function accumulateCategory(st: EvalStore, k: number, recThrs: readonly number[], maxDets: readonly number[], out: Accumulated): void {
  const { T, A, K, I } = st;
  const R = recThrs.length, M = maxDets.length;
  const { precision, recall, scores } = out;
  const q = new Float64Array(R), ss = new Float64Array(R);
  let anyPresent = false;
  for (let i = 0; i < I && !anyPresent; i++) anyPresent = st.present[k * I + i] === 1;
  if (!anyPresent) return;
  // All images concatenated in imgId order, then a stable sort by -score: slot order is the
  // concatenation order, so (score desc, slot asc) is exactly numpy's mergesort result.
  const s0 = st.dtStart[k * I], s1 = st.dtStart[(k + 1) * I];
  const n = s1 - s0;
  const order = argsortDesc(st.score.subarray(s0, s1));
  // each dt's rank within its image, for the per-image cut [0:maxDet]
  const rank = new Int32Array(n);
  for (let g = k * I; g < (k + 1) * I; g++) for (let s = st.dtStart[g]; s < st.dtStart[g + 1]; s++) rank[s - s0] = s - st.dtStart[g];
  // scores and ranks in sorted order; codes as bitsets over the sorted order, one pair per (a, t)
  const AT = A * T;
  const W = (n + 31) >>> 5;
  const valid = new Int32Array(AT * W), tpBits = new Int32Array(AT * W);
  const sortedScore = new Float64Array(n), sortedRank = new Int32Array(n);
  for (let j = 0; j < n; j++) {
    sortedScore[j] = st.score[s0 + order[j]];
    sortedRank[j] = rank[order[j]];
  }
  // each (a, t) row of codes read in sorted order (within the category's n slots), 32 dts a word
  const codes = st.codes, S = st.score.length;
  for (let at = 0; at < AT; at++) {
    const row = at * S + s0, base = at * W;
    for (let w = 0; w < W; w++) {
      let v = 0, tp = 0;
      const j0 = w << 5, jEnd = Math.min(n, j0 + 32);
      for (let j = j0; j < jEnd; j++) {
        const c = codes[row + order[j]];
        const kept = ((c >> 1) & 1) ^ 1; // not IGNORED
        v |= kept << (j - j0);
        tp |= (c & kept & MATCHED) << (j - j0);
      }
      valid[base + w] = v;
      tpBits[base + w] = tp;
    }
  }
  const ev = { pos: new Int32Array(n), pr: new Float64Array(n) };
  const kept = new Int32Array(W);
  for (let m = 0; m < M; m++) {
    // the dts within each image's first maxDet
    const maxDet = maxDets[m];
    kept.fill(0);
    let nd = 0, first = -1;
    for (let j = 0; j < n; j++) {
      if (sortedRank[j] >= maxDet) continue;
      kept[j >>> 5] |= 1 << (j & 31);
      nd++;
      if (first < 0) first = j;
    }
    for (let a = 0; a < A; a++) {
      const npig = st.npig[k * A + a];
      if (npig === 0) continue;
      for (let t = 0; t < T; t++) {
        const rc = precisionAtRecalls(valid, tpBits, (a * T + t) * W, kept, W, nd, first, npig, recThrs, sortedScore, ev, q, ss);
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
