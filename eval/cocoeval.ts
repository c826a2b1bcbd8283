// COCOeval (pycocotools cocoeval.py at cocoapi 8c9bcc3): evaluate -> accumulate -> summarize, with
// the same method and field names. Shape shorthand: T IoU thresholds, R recall thresholds,
// K categories (1 with useCats=0), A area ranges, M maxDets, I images.
import { CocoEvalError } from './errors.js';
import type { Accumulated, EvalStore } from './accumulate.js';
import { accumulate, IGNORED, MATCHED } from './accumulate.js';
import type { COCO } from './coco.js';
import { groupIous } from './ious.js';
import type { MatchGroup } from './match.js';
import { MatchScratch, matchImage } from './match.js';
import type { Params } from './params.js';
import { defaultParams } from './params.js';
import type { Prepared } from './prepare.js';
import { checkIouPairs, prepare } from './prepare.js';
import { summarize } from './summarize.js';
import type { IouType } from './types.js';

/** evaluateImg's dict (cocoeval.py:300-313); matrices are [T,D] / [T,G] row-major. */
export interface EvalImg {
  image_id: number;
  category_id: number;
  aRng: [number, number];
  maxDet: number;
  dtIds: number[];
  gtIds: number[];
  dtMatches: Float64Array;
  gtMatches: Float64Array;
  dtScores: number[];
  gtIgnore: Uint8Array;
  dtIgnore: Uint8Array;
}

export type ProgressFn = (phase: 'evaluate' | 'accumulate', done: number, total: number) => void;

/** The dt/gt lists of group g = k*I + i. */
function groupAt(pr: Prepared, g: number): MatchGroup {
  return {
    gt: pr.gt, gtList: pr.gtList, g0: pr.gtStart[g], G: pr.gtStart[g + 1] - pr.gtStart[g],
    dt: pr.dt, dtList: pr.dtList, d0: pr.dtStart[g], D: pr.dtStart[g + 1] - pr.dtStart[g], ious: null,
  };
}

/** evaluate()'s output columns, empty; in shared memory when threads fill them together. */
export function newEvalStore(pr: Prepared, p: Params, shared = false): EvalStore {
  const { I, K } = pr;
  const T = p.iouThrs.length, A = p.areaRng.length;
  const S = pr.dtList.length;
  const bytes = (n: number) => (shared ? new SharedArrayBuffer(n) : new ArrayBuffer(n));
  const st: EvalStore = {
    T, A, K, I, present: new Uint8Array(bytes(K * I)), npig: new Int32Array(bytes(4 * K * A)),
    dtStart: pr.dtStart, score: new Float64Array(bytes(8 * S)), codes: new Uint8Array(bytes(S * A * T)),
  };
  for (let s = 0; s < S; s++) st.score[s] = pr.dt.score[pr.dtList[s]];
  return st;
}

/** One thread's reusable buffers for evaluateCategory. */
export class EvaluateWork {
  scratch = new MatchScratch();
  ious = new Float64Array(1024);
}

/**
 * evaluateImg over every image and area range of category group k (cocoeval.py:148-156), into the
 * store's rows of k: codes, present, npig. Category groups are independent of each other.
 */
export function evaluateCategory(pr: Prepared, p: Params, st: EvalStore, k: number, w: EvaluateWork): void {
  const { I } = pr;
  const T = p.iouThrs.length, A = p.areaRng.length;
  const scratch = w.scratch;
  const codes = st.codes, S = st.score.length;
  for (let g = k * I; g < (k + 1) * I; g++) {
    const m = groupAt(pr, g);
    if (m.G === 0 && m.D === 0) continue;
    st.present[g] = 1;
    checkIouPairs(pr.source, m.D, m.G, p.imgIds[g - k * I], p.useCats ? p.catIds[k] : 'all');
    if (w.ious.length < m.D * m.G) w.ious = new Float64Array(m.D * m.G * 2);
    m.ious = groupIous(m, p, p.useCats === 1, w.ious) ? w.ious : null;
    for (let a = 0; a < A; a++) {
      matchImage(m, p.iouThrs, p.areaRng[a][0], p.areaRng[a][1], scratch);
      let kept = 0;
      for (let j = 0; j < m.G; j++) if (scratch.gtIg[j] === 0) kept++;
      st.npig[k * A + a] += kept;
      // rows of codes, one per (a, t), in slot order: reads and writes both sequential
      const { dtm, dtIg } = scratch;
      const D = m.D;
      for (let t = 0; t < T; t++) {
        const row = (a * T + t) * S + m.d0, off = t * D;
        for (let d = 0; d < D; d++) codes[row + d] = (dtm[off + d] !== 0 ? MATCHED : 0) | (dtIg[off + d] !== 0 ? IGNORED : 0);
      }
    }
  }
}

export class COCOeval {
  cocoGt: COCO;
  cocoDt: COCO;
  params: Params;
  /**
   * Per image/category results; null before evaluate(). DEVIATION (pycocotools): columns of typed
   * arrays (EvalStore), not a [K*A*I] list of dicts; evaluateImg() gives one image's dict.
   */
  evalImgs: EvalStore | null = null;
  /** accumulate()'s output (precision/recall/scores and counts); null before it. */
  eval: Accumulated | null = null;
  stats: number[] = [];
  /** The printed summary, one string a line. */
  summaryLines: string[] = [];
  private prepared: Prepared | null = null;

  constructor(cocoGt: COCO, cocoDt: COCO, iouType: IouType = 'segm') {
    this.cocoGt = cocoGt;
    this.cocoDt = cocoDt;
    this.params = defaultParams(iouType);
    this.params.imgIds = [...cocoGt.getImgIds()].sort((a, b) => a - b);
    this.params.catIds = [...cocoGt.getCatIds()].sort((a, b) => a - b);
  }

  /** evaluate() (cocoeval.py:120-158): unique sorted imgIds (and catIds with useCats), sorted maxDets. */
  evaluate(onProgress?: ProgressFn): void {
    const p = this.params;
    const pr = this.prepareGroups();
    const st = newEvalStore(pr, p);
    const work = new EvaluateWork();
    for (let k = 0; k < pr.K; k++) {
      onProgress?.('evaluate', k * pr.I, pr.K * pr.I);
      evaluateCategory(pr, p, st, k, work);
    }
    onProgress?.('evaluate', pr.K * pr.I, pr.K * pr.I);
    this.evalImgs = st;
  }

  /**
   * The first part of evaluate(): params normalised (unique sorted imgIds/catIds, sorted maxDets)
   * and the groups prepared; evaluateCategory then fills each category group (parallel.ts runs
   * them on threads).
   */
  prepareGroups(): Prepared {
    const p = this.params;
    // np.unique: sorted, without repeats (a typed sort: fast on a million ids too)
    const uniqSorted = (xs: number[]) => {
      const a = Float64Array.from(xs).sort();
      const out: number[] = [];
      for (let j = 0; j < a.length; j++) if (j === 0 || a[j] !== a[j - 1]) out.push(a[j] === 0 ? 0 : a[j]);
      return out;
    };
    p.imgIds = uniqSorted(p.imgIds);
    if (p.useCats) p.catIds = uniqSorted(p.catIds);
    p.maxDets = [...p.maxDets].sort((a, b) => a - b);
    this.prepared = prepare(this.cocoGt, this.cocoDt, p);
    this.evalImgs = null;
    this.eval = null;
    return this.prepared;
  }

  /** The dt/gt lists of group g = k*I + i. */
  private group(g: number): MatchGroup {
    return groupAt(this.prepared!, g);
  }

  private groupOf(imgId: number, catId: number): number {
    const pr = this.requireEvaluated();
    const i = this.params.imgIds.indexOf(imgId);
    const k = this.params.useCats ? this.params.catIds.indexOf(catId) : 0;
    if (i < 0 || k < 0) throw new CocoEvalError('INVALID_ARGUMENT', `COCOeval: (imgId ${imgId}, catId ${catId}) is not in params.imgIds x params.catIds`);
    return k * pr.I + i;
  }

  private requireEvaluated(): Prepared {
    if (this.prepared === null) throw new CocoEvalError('INVALID_ARGUMENT', 'COCOeval: run evaluate() first');
    return this.prepared;
  }

  /** computeIoU / computeOks for one image and category: [D,G] row-major, or [] (length 0). */
  computeIoU(imgId: number, catId: number): Float64Array {
    const m = this.group(this.groupOf(imgId, catId));
    checkIouPairs(this.cocoDt.source, m.D, m.G, imgId, catId);
    const out = new Float64Array(m.D * m.G);
    return groupIous(m, this.params, this.params.useCats === 1, out) ? out : new Float64Array(0);
  }

  /**
   * evaluateImg for one image, category and area range, as pycocotools returns it (null when the
   * image has neither gt nor dt). DEVIATION (pycocotools): maxDet must be <= maxDets[-1], the cut
   * evaluate() prepared; evaluate() itself keeps the results in columns (evalImgs), not dicts.
   */
  evaluateImg(imgId: number, catId: number, aRng: [number, number], maxDet: number): EvalImg | null {
    const m = this.group(this.groupOf(imgId, catId));
    if (m.G === 0 && m.D === 0) return null;
    m.D = Math.min(m.D, maxDet);
    checkIouPairs(this.cocoDt.source, m.D, m.G, imgId, catId);
    const out = new Float64Array(m.D * m.G);
    m.ious = groupIous(m, this.params, this.params.useCats === 1, out) ? out : null;
    const s = new MatchScratch();
    matchImage(m, this.params.iouThrs, aRng[0], aRng[1], s);
    const T = this.params.iouThrs.length;
    const dtIdx = Array.from(m.dtList.subarray(m.d0, m.d0 + m.D));
    const gtIdx = Array.from(s.gtind.subarray(0, m.G), (j) => m.gtList[m.g0 + j]);
    return {
      image_id: imgId, category_id: catId, aRng, maxDet,
      dtIds: dtIdx.map((d) => m.dt.id[d]), gtIds: gtIdx.map((j) => m.gt.id[j]),
      dtMatches: s.dtm.slice(0, T * m.D), gtMatches: s.gtm.slice(0, T * m.G),
      dtScores: dtIdx.map((d) => m.dt.score[d]), gtIgnore: s.gtIg.slice(0, m.G), dtIgnore: s.dtIg.slice(0, T * m.D),
    };
  }

  /**
   * accumulate() (cocoeval.py:315-420). DEVIATION (pycocotools): no `p` argument -- the params of
   * evaluate() are used, and params.catIds is not overwritten with [-1] when useCats=0.
   */
  accumulate(onProgress?: ProgressFn): void {
    if (this.evalImgs === null) throw new CocoEvalError('INVALID_ARGUMENT', 'COCOeval.accumulate: run evaluate() first');
    onProgress?.('accumulate', 0, 1);
    this.eval = accumulate(this.evalImgs, this.params.recThrs, this.params.maxDets);
    onProgress?.('accumulate', 1, 1);
  }

  /** summarize(): sets stats and summaryLines; returns the lines (pycocotools prints them). */
  summarize(): string[] {
    if (this.eval === null) throw new CocoEvalError('INVALID_ARGUMENT', 'COCOeval.summarize: run accumulate() first');
    const { stats, lines } = summarize(this.eval, this.params);
    this.stats = stats;
    this.summaryLines = lines;
    return lines;
  }
}
