// COCOeval.summarize (cocoeval.py:422-493): the 12 detection stats (10 for keypoints) and the lines
// pycocotools prints, character for character. Means follow NumPy's summation order.
import type { Accumulated } from './accumulate.js';
import { npMean } from './numpy_sum.js';
import type { Params } from './params.js';

export interface SummaryQuery {
  ap: boolean;
  iouThr?: number;
  areaRng: string;
  maxDets: number;
  /** Restrict to one category group index (per-category tables); all when undefined. */
  k?: number;
}

/** Python's '{:0.Nf}'.format(x): like toFixed, but exact ties round half to even. */
export function formatFixed(x: number, digits: number): string {
  const plain = x.toFixed(digits);
  const exact = Math.abs(x).toFixed(Math.min(100, digits + 60));
  const tail = exact.slice(exact.indexOf('.') + 1 + digits);
  if (!/^50*$/.test(tail)) return plain;
  // An exact tie: toFixed rounded away from zero; Python keeps the even digit.
  const scale = 10 ** digits;
  const down = Math.trunc(Math.abs(x) * scale);
  const even = down % 2 === 0 ? down : down + 1;
  return `${x < 0 && even !== 0 ? '-' : ''}${(even / scale).toFixed(digits)}`;
}

/** _summarize: the mean of the selected valid (> -1) entries, -1 when there are none. */
export function summarizeOne(e: Accumulated, p: Params, query: SummaryQuery): number {
  const [, R, K, A, M] = e.counts;
  const ts = query.iouThr === undefined ? p.iouThrs.map((_, t) => t) : p.iouThrs.flatMap((v, t) => (v === query.iouThr ? [t] : []));
  const aind = p.areaRngLbl.flatMap((l, a) => (l === query.areaRng ? [a] : []));
  const mind = p.maxDets.flatMap((v, m) => (v === query.maxDets ? [m] : []));
  // s[:, :, :, aind, mind]: the two index lists broadcast against each other (numpy advanced indexing).
  let pairs: [number, number][];
  if (aind.length === mind.length) pairs = aind.map((a, j) => [a, mind[j]]);
  else if (aind.length === 1) pairs = mind.map((m) => [aind[0], m]);
  else if (mind.length === 1) pairs = aind.map((a) => [a, mind[0]]);
  else throw new Error(`summarize: area labels ${aind.length} and maxDets ${mind.length} matches cannot broadcast`);
  const ks = query.k === undefined ? Array.from({ length: K }, (_, k) => k) : [query.k];
  const valid = new Float64Array(ts.length * (query.ap ? R : 1) * ks.length * pairs.length);
  let n = 0;
  for (const t of ts) {
    for (let r = 0; r < (query.ap ? R : 1); r++) {
      for (const k of ks) {
        for (const [a, m] of pairs) {
          const v = query.ap ? e.precision[(((t * R + r) * K + k) * A + a) * M + m] : e.recall[((t * K + k) * A + a) * M + m];
          if (v > -1) valid[n++] = v;
        }
      }
    }
  }
  return n === 0 ? -1 : npMean(valid.subarray(0, n));
}

/** The line pycocotools prints for one query. */
export function summaryLine(p: Params, query: SummaryQuery, value: number): string {
  const title = query.ap ? 'Average Precision' : 'Average Recall';
  const type = query.ap ? '(AP)' : '(AR)';
  const iou = query.iouThr === undefined
    ? `${formatFixed(p.iouThrs[0], 2)}:${formatFixed(p.iouThrs[p.iouThrs.length - 1], 2)}`
    : formatFixed(query.iouThr, 2);
  return ` ${title.padEnd(18)} ${type} @[ IoU=${iou.padEnd(9)} | area=${query.areaRng.padStart(6)} | maxDets=${String(query.maxDets).padStart(3)} ] = ${formatFixed(value, 3)}`;
}

/** The queries behind stats[0..11] (_summarizeDets) or stats[0..9] (_summarizeKps). */
export function summaryQueries(p: Params): SummaryQuery[] {
  const q = (ap: boolean, maxDets: number, areaRng = 'all', iouThr?: number): SummaryQuery => ({ ap, iouThr, areaRng, maxDets });
  if (p.iouType === 'keypoints') {
    return [
      q(true, 20), q(true, 20, 'all', 0.5), q(true, 20, 'all', 0.75), q(true, 20, 'medium'), q(true, 20, 'large'),
      q(false, 20), q(false, 20, 'all', 0.5), q(false, 20, 'all', 0.75), q(false, 20, 'medium'), q(false, 20, 'large'),
    ];
  }
  const [m0, m1, m2] = p.maxDets;
  // stats[0] uses the literal maxDets=100 (cocoeval.py:460), whatever p.maxDets is.
  return [
    q(true, 100), q(true, m2, 'all', 0.5), q(true, m2, 'all', 0.75),
    q(true, m2, 'small'), q(true, m2, 'medium'), q(true, m2, 'large'),
    q(false, m0), q(false, m1), q(false, m2),
    q(false, m2, 'small'), q(false, m2, 'medium'), q(false, m2, 'large'),
  ];
}

export function summarize(e: Accumulated, p: Params): { stats: number[]; lines: string[] } {
  const stats: number[] = [];
  const lines: string[] = [];
  for (const query of summaryQueries(p)) {
    const v = summarizeOne(e, p, query);
    stats.push(v);
    lines.push(summaryLine(p, query, v));
  }
  return { stats, lines };
}
