// COCOeval._prepare (cocoeval.py:94-117) in columnar form. Shape shorthand: I images (sorted
// p.imgIds), K category groups (p.catIds with useCats=1, one group with useCats=0), group g = k*I + i.
// Each group lists its GTs in gathering order and its dts sorted by -score (stable) and cut to
// maxDets[-1] (computeIoU, cocoeval.py:173-176). With useCats=0 a group is the concatenation, in
// p.catIds order, of the image's per-category lists (cocoeval.py:169-170, 245-246).
import type { BoxResults, COCO } from './coco.js';
import type { Params } from './params.js';
import type { CocoAnnotation } from './types.js';
import type { RleData } from './rle.js';
import type { RecordRef } from './validate.js';
import { CocoEvalError } from './errors.js';
import { dataError, isFiniteNumber, requireBbox, requireKeypoints, validateGtAnnotation } from './validate.js';

export interface AnnTable {
  bbox: Float64Array;
  area: Float64Array;
  id: Float64Array;
  /** gt: `ignore` = iscrowd (or num_keypoints == 0 for keypoints); dt: unused. */
  ignore: Uint8Array;
  /** gt: int(iscrowd); dt: unused. */
  crowd: Uint8Array;
  /** dt: score; gt: unused. */
  score: Float64Array;
  /** segm: each annotation's mask (annToRLE). */
  rles: RleData[];
  /** keypoints: [n, 3*numKeypoints] row-major. */
  keypoints: Float64Array;
}

export interface Prepared {
  I: number;
  K: number;
  gt: AnnTable;
  dt: AnnTable;
  /** [K*I+1] offsets into gtList / dtList. */
  gtStart: Int32Array;
  gtList: Int32Array;
  dtStart: Int32Array;
  dtList: Int32Array;
  /** The results' source (file), for error messages. */
  source: string;
}

/** The annotations of p.imgIds x p.catIds, bucketed by (image, category cell), file order kept. */
function gather(coco: COCO, imgIds: number[], catCell: Map<number, number>) {
  const C = catCell.size;
  const anns: CocoAnnotation[] = [];
  const cells: number[] = [];
  imgIds.forEach((imgId, i) => {
    for (const a of coco.imgToAnns.get(imgId) ?? []) {
      const c = catCell.get(a.category_id);
      if (c === undefined) continue;
      anns.push(a);
      cells.push(i * C + c);
    }
  });
  // Stable counting sort by cell.
  const cellStart = new Int32Array(imgIds.length * C + 1);
  for (const c of cells) cellStart[c + 1]++;
  for (let c = 0; c < imgIds.length * C; c++) cellStart[c + 1] += cellStart[c];
  const fill = cellStart.slice(0, -1);
  const cellList = new Int32Array(anns.length);
  cells.forEach((c, j) => { cellList[fill[c]++] = j; });
  return { anns, cellStart, cellList };
}

/**
 * gather() for box results in columns: the same cells in the same order (file order within a cell),
 * listing the detections' own indices, so the columns serve as the table without a copy.
 */
function gatherColumns(r: BoxResults, imgIds: number[], catCell: Map<number, number>) {
  const C = catCell.size;
  const imgIndex = new Map<number, number>();
  imgIds.forEach((id, i) => { if (!imgIndex.has(id)) imgIndex.set(id, i); });
  const imgOf = denseLookup(imgIndex), catOf = denseLookup(catCell);
  const cells = new Int32Array(r.n);
  const cellStart = new Int32Array(imgIds.length * C + 1);
  for (let j = 0; j < r.n; j++) {
    const i = imgOf(r.imageId[j]), c = catOf(r.categoryId[j]);
    cells[j] = i < 0 || c < 0 ? -1 : i * C + c;
    if (cells[j] >= 0) cellStart[cells[j] + 1]++;
  }
  for (let c = 0; c < imgIds.length * C; c++) cellStart[c + 1] += cellStart[c];
  const fill = cellStart.slice(0, -1);
  const cellList = new Int32Array(cellStart[imgIds.length * C]);
  for (let j = 0; j < r.n; j++) if (cells[j] >= 0) cellList[fill[cells[j]]++] = j;
  return { cellStart, cellList };
}

/** id -> index of a Map, through a table when the ids are small non-negative integers (COCO's are); -1 when absent. */
function denseLookup(m: Map<number, number>): (id: number) => number {
  let max = -1;
  for (const id of m.keys()) {
    if (!Number.isInteger(id) || id < 0 || id > 1e7) return (id) => m.get(id) ?? -1;
    max = Math.max(max, id);
  }
  const table = new Int32Array(max + 1).fill(-1);
  for (const [id, i] of m) table[id] = i;
  return (id) => (id >= 0 && id <= max && Number.isInteger(id) ? table[id] : -1);
}

/** The dt table of box results in columns: the columns themselves (ids are index + 1). */
function columnsTable(source: string, r: BoxResults, cellList: Int32Array): AnnTable {
  // checkDts' area rule: w*h can overflow to Infinity
  for (let q = 0; q < cellList.length; q++) {
    const j = cellList[q];
    if (!Number.isFinite(r.area[j])) throw dataError(source, ['results', j], 'area', 'a finite number', r.area[j]);
  }
  // shared memory, as the columns: worker threads read the table without a copy
  const id = new Float64Array(new SharedArrayBuffer(8 * r.n));
  for (let j = 0; j < r.n; j++) id[j] = j + 1;
  return {
    bbox: r.bbox, area: r.area, score: r.score, id,
    ignore: new Uint8Array(new SharedArrayBuffer(r.n)), crowd: new Uint8Array(new SharedArrayBuffer(r.n)), rles: [], keypoints: new Float64Array(0),
  };
}

function groupLists(p: Params, I: number, catCell: Map<number, number>, cellStart: Int32Array, cellList: Int32Array) {
  const C = catCell.size;
  const K = p.useCats ? p.catIds.length : 1;
  // the cells making up group k: its category's cell with useCats, every p.catIds entry's without
  const cellCols = p.useCats ? [] : Int32Array.from(p.catIds, (id) => catCell.get(id)!);
  const start = new Int32Array(K * I + 1);
  // with useCats=0 a cell is listed once for each time its category is in p.catIds (pycocotools does so)
  let total = cellList.length;
  if (!p.useCats) {
    total = 0;
    for (let i = 0; i < I; i++) for (let q = 0; q < cellCols.length; q++) total += cellStart[i * C + cellCols[q] + 1] - cellStart[i * C + cellCols[q]];
  }
  const list = new Int32Array(total);
  let n = 0;
  for (let k = 0; k < K; k++) {
    const col = p.useCats ? catCell.get(p.catIds[k])! : -1;
    for (let i = 0; i < I; i++) {
      if (col >= 0) {
        const c = i * C + col;
        for (let j = cellStart[c]; j < cellStart[c + 1]; j++) list[n++] = cellList[j];
      } else {
        for (let q = 0; q < cellCols.length; q++) {
          const c = i * C + cellCols[q];
          for (let j = cellStart[c]; j < cellStart[c + 1]; j++) list[n++] = cellList[j];
        }
      }
      start[k * I + i + 1] = n;
    }
  }
  return { K, start, list };
}

// A dt record name for error messages: loadRes numbered results from 1 in file order.
const resultRecord = (a: CocoAnnotation): RecordRef => ['results', a.id - 1];

/** Validate the dt fields an iouType reads (a COCO made by loadRes has them for its own kind). */
function checkDts(coco: COCO, anns: CocoAnnotation[], p: Params): void {
  for (const a of anns) {
    const r = a as unknown as Record<string, unknown>;
    if (!isFiniteNumber(a.score)) throw dataError(coco.source, resultRecord(a), 'score', 'a finite number', a.score);
    if (!isFiniteNumber(a.area)) throw dataError(coco.source, resultRecord(a), 'area', 'a finite number', a.area);
    const ok = p.iouType === 'bbox' ? Array.isArray(a.bbox) && a.bbox.length === 4
      : p.iouType === 'segm' ? a.segmentation !== undefined || Array.isArray(a.bbox)
        : Array.isArray(a.keypoints) && a.keypoints.length === 3 * p.kpt_oks_sigmas.length;
    if (ok) continue;
    if (p.iouType === 'bbox') requireBbox(coco.source, resultRecord(a), r);
    if (p.iouType === 'segm') throw dataError(coco.source, resultRecord(a), 'segmentation', 'a segmentation', undefined);
    requireKeypoints(coco.source, resultRecord(a), r, p.kpt_oks_sigmas.length);
  }
}

/** The typed columns of the gathered annotations (validated before). */
function buildTable(coco: COCO, anns: CocoAnnotation[], p: Params): AnnTable {
  const n = anns.length;
  const nk = 3 * p.kpt_oks_sigmas.length;
  const t: AnnTable = {
    bbox: new Float64Array(4 * n), area: new Float64Array(n), id: new Float64Array(n),
    ignore: new Uint8Array(n), crowd: new Uint8Array(n), score: new Float64Array(n),
    // _prepare converts every segmentation to an RLE for iouType segm (cocoeval.py:103-105).
    rles: p.iouType === 'segm' ? anns.map((a) => coco.annToRLE(a)) : [],
    keypoints: new Float64Array(p.iouType === 'keypoints' ? n * nk : 0),
  };
  for (let j = 0; j < n; j++) {
    const a = anns[j];
    if (p.iouType !== 'segm') {
      const b = a.bbox as number[];
      t.bbox[4 * j] = b[0]; t.bbox[4 * j + 1] = b[1]; t.bbox[4 * j + 2] = b[2]; t.bbox[4 * j + 3] = b[3];
    }
    if (p.iouType === 'keypoints') {
      const kp = a.keypoints as number[];
      for (let q = 0; q < nk; q++) t.keypoints[j * nk + q] = kp[q];
    }
    t.area[j] = a.area as number;
    t.id[j] = a.id;
    t.score[j] = typeof a.score === 'number' ? a.score : 0;
    t.crowd[j] = a.iscrowd ? 1 : 0;
    // gt['ignore'] = 'iscrowd' in gt and gt['iscrowd'] (cocoeval.py:108-109): an input `ignore` is
    // overwritten; keypoints also ignore GTs without keypoints (cocoeval.py:110-111).
    t.ignore[j] = t.crowd[j] || (p.iouType === 'keypoints' && a.num_keypoints === 0) ? 1 : 0;
  }
  return t;
}

/**
 * What one evaluation may allocate, checked before anything is: (image, category) cells, values of
 * the [T,R,K,A,M] precision array (it and `scores` take 16 bytes a value), per-detection codes
 * (S dts x A x T bytes) and one group's [D,G] IoU matrix. COCO val2017 needs 400,000 cells and
 * 969,600 precision values; LVIS (1,203 categories, 19,809 images) 23.8 million and 14.6 million.
 */
export const EVAL_LIMITS = { cells: 2 ** 25, precisionValues: 2 ** 25, codes: 2 ** 30, iouPairs: 2 ** 26 } as const;

const fmt = (n: number): string => n.toLocaleString('en-US');

function tooLarge(source: string, what: string, hint: string): CocoEvalError {
  return new CocoEvalError('INVALID_DATA', `${source}: too large to evaluate: ${what}; ${hint}`, { source });
}

/** The size checks of EVAL_LIMITS that follow from the params alone (before gathering). */
function checkSizes(source: string, p: Params, I: number, C: number): void {
  const K = p.useCats ? C : 1;
  const [T, R, A, M] = [p.iouThrs.length, p.recThrs.length, p.areaRng.length, p.maxDets.length];
  const hint = 'evaluate a subset (--img-ids, --cat-ids) or fewer thresholds and maxDets';
  if (I * C > EVAL_LIMITS.cells) {
    throw tooLarge(source, `${fmt(I)} images x ${fmt(C)} categories = ${fmt(I * C)} (image, category) cells, more than the limit of ${fmt(EVAL_LIMITS.cells)}`, hint);
  }
  const values = T * R * K * A * M;
  if (values > EVAL_LIMITS.precisionValues) {
    throw tooLarge(source, `the precision array [T=${T}, R=${R}, K=${fmt(K)}, A=${A}, M=${M}] would hold ${fmt(values)} values, more than the limit of ${fmt(EVAL_LIMITS.precisionValues)}`, hint);
  }
}

/** A group's [D,G] IoU matrix within EVAL_LIMITS.iouPairs (checked before it is allocated). */
export function checkIouPairs(source: string, D: number, G: number, imgId: number, catId: number | string): void {
  if (D * G <= EVAL_LIMITS.iouPairs) return;
  throw tooLarge(source, `image ${imgId}, category ${catId}: ${fmt(D)} detections x ${fmt(G)} GT = ${fmt(D * G)} IoUs, more than the limit of ${fmt(EVAL_LIMITS.iouPairs)}`, 'lower maxDets or split the image\'s annotations');
}

export function prepare(cocoGt: COCO, cocoDt: COCO, p: Params): Prepared {
  const I = p.imgIds.length;
  const catCell = new Map<number, number>();
  for (const c of p.catIds) if (!catCell.has(c)) catCell.set(c, catCell.size);
  checkSizes(cocoGt.source, p, I, catCell.size);
  const g = gather(cocoGt, p.imgIds, catCell);
  cocoGt.dataset.annotations.forEach((a, j) => {
    validateGtAnnotation(cocoGt.source, j, a as unknown as Record<string, unknown>, p.iouType, p.kpt_oks_sigmas.length);
  });
  const gt = buildTable(cocoGt, g.anns, p);
  let d: { cellStart: Int32Array; cellList: Int32Array };
  let dt: AnnTable;
  // Box results in columns are evaluated from the columns for bbox (segm reads the records' boxes).
  if (cocoDt.results !== null && p.iouType === 'bbox') {
    d = gatherColumns(cocoDt.results, p.imgIds, catCell);
    dt = columnsTable(cocoDt.source, cocoDt.results, d.cellList);
  } else {
    const o = gather(cocoDt, p.imgIds, catCell);
    checkDts(cocoDt, o.anns, p);
    dt = buildTable(cocoDt, o.anns, p);
    d = o;
  }
  const gg = groupLists(p, I, catCell, g.cellStart, g.cellList);
  const dg = groupLists(p, I, catCell, d.cellStart, d.cellList);
  const dd = sortAndCut(dg.start, dg.list, dt.score, p.maxDets[p.maxDets.length - 1]);
  const codes = dd.list.length * p.areaRng.length * p.iouThrs.length;
  if (codes > EVAL_LIMITS.codes) {
    throw tooLarge(cocoDt.source, `${fmt(dd.list.length)} detections x ${p.areaRng.length} area ranges x ${p.iouThrs.length} IoU thresholds = ${fmt(codes)} match codes, more than the limit of ${fmt(EVAL_LIMITS.codes)}`, 'lower maxDets or use fewer IoU thresholds');
  }
  return { I, K: gg.K, gt, dt, gtStart: gg.start, gtList: gg.list, dtStart: dd.start, dtList: dd.list, source: cocoDt.source };
}

/**
 * Sort each group's dts by -score, stably (np.argsort kind='mergesort': ties keep list order), and
 * keep the first maxDet: an insertion sort for short groups, a merge sort for long ones, in place.
 */
function sortAndCut(start: Int32Array, list: Int32Array, score: Float64Array, maxDet: number) {
  const groups = start.length - 1;
  const outStart = new Int32Array(start.length);
  const out = new Int32Array(list.length);
  let tmp = new Int32Array(0);
  let n = 0;
  for (let g = 0; g < groups; g++) {
    const s = start[g], e = start[g + 1];
    if (e - s > 32) {
      if (tmp.length < e - s) tmp = new Int32Array(2 * (e - s));
      mergeSortDesc(list, s, e, score, tmp);
    } else {
      for (let j = s + 1; j < e; j++) {
        const v = list[j], sv = score[v];
        let q = j - 1;
        while (q >= s && score[list[q]] < sv) { list[q + 1] = list[q]; q--; }
        list[q + 1] = v;
      }
    }
    const keep = Math.min(e - s, maxDet);
    for (let j = 0; j < keep; j++) out[n++] = list[s + j];
    outStart[g + 1] = n;
  }
  return { start: outStart, list: out.slice(0, n) };
}

/** Stable sort of list[s..e) by descending score[list[j]] (bottom-up merges; ties keep their order). */
function mergeSortDesc(list: Int32Array, s: number, e: number, score: Float64Array, tmp: Int32Array): void {
  const n = e - s;
  for (let w = 1; w < n; w *= 2) {
    for (let lo = s; lo < e - w; lo += 2 * w) {
      const mid = lo + w, hi = Math.min(lo + 2 * w, e);
      if (!(score[list[mid - 1]] < score[list[mid]])) continue; // already in order
      let i = lo, j = mid, o = 0;
      while (i < mid && j < hi) tmp[o++] = score[list[j]] > score[list[i]] ? list[j++] : list[i++];
      while (i < mid) tmp[o++] = list[i++];
      while (j < hi) tmp[o++] = list[j++];
      for (let q = 0; q < o; q++) list[lo + q] = tmp[q];
    }
  }
}
