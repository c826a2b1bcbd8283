// The library entry the detector's training loop calls: GT + results in, the 12 COCO stats (10 for
// keypoints), the printed summary, the per-category table and the PR arrays out.
import { COCO } from './coco.js';
import type { ProgressFn } from './cocoeval.js';
import { COCOeval } from './cocoeval.js';
import type { Accumulated } from './accumulate.js';
import type { Params, ParamsOverrides } from './params.js';
import { applyOverrides } from './params.js';
import { ResultColumns } from './results_parser.js';
import { summarizeOne } from './summarize.js';
import { evaluateAccumulateParallel, type EvalPool } from './parallel.js';
import type { CocoDataset, CocoResult, IouType } from './types.js';

export interface EvaluateCocoParams extends ParamsOverrides {
  iouType?: IouType;
  /**
   * An empty results list is an error by default (pycocotools' loadRes raises IndexError on it);
   * true evaluates it as "no detections" instead (every stat 0, or -1 where there is no GT).
   */
  allowEmptyResults?: boolean;
  onProgress?: ProgressFn;
  /** Names used in error messages (file paths in the CLI). */
  gtSource?: string;
  dtSource?: string;
}

export interface PerCategoryRow {
  id: number;
  name: string;
  /** -1 where the category has no non-ignored GT (as pycocotools). */
  ap: number;
  ap50: number;
  ap75: number;
  /** Average recall at the largest maxDets (AR100 with the defaults). */
  ar: number;
}

export interface CocoEvalResult {
  stats: number[];
  lines: string[];
  params: Params;
  perCategory: PerCategoryRow[];
  eval: Accumulated;
}

/** Per-category AP, AP50, AP75 and AR at the last maxDets over area 'all' (empty with useCats=0). */
export function perCategory(E: COCOeval): PerCategoryRow[] {
  const p = E.params;
  if (!p.useCats || E.eval === null) return [];
  const last = p.maxDets[p.maxDets.length - 1];
  return p.catIds.map((id, k) => {
    const cat = E.cocoGt.cats.get(id);
    const one = (ap: boolean, iouThr?: number) => summarizeOne(E.eval!, p, { ap, iouThr, areaRng: 'all', maxDets: last, k });
    return {
      id, name: typeof cat?.name === 'string' ? cat.name : String(id),
      ap: one(true), ap50: one(true, 0.5), ap75: one(true, 0.75), ar: one(false),
    };
  });
}

function setUp(gt: CocoDataset | COCO, dt: CocoResult[] | COCO | ResultColumns, params: EvaluateCocoParams): COCOeval {
  const cocoGt = gt instanceof COCO ? gt : new COCO(gt, params.gtSource ?? 'ground truth');
  let cocoDt: COCO;
  if (dt instanceof COCO) cocoDt = dt;
  else if (((Array.isArray(dt) && dt.length === 0) || (dt instanceof ResultColumns && dt.n === 0)) && params.allowEmptyResults) {
    // What the fixtures call "an empty result set built by hand": GT images and categories, no annotations.
    cocoDt = new COCO({ images: cocoGt.dataset.images, categories: cocoGt.dataset.categories, annotations: [] }, params.dtSource);
  } else cocoDt = cocoGt.loadRes(dt, params.dtSource ?? 'results');
  const E = new COCOeval(cocoGt, cocoDt, params.iouType ?? 'bbox');
  E.params = applyOverrides(E.params, params);
  return E;
}

function result(E: COCOeval): CocoEvalResult {
  const lines = E.summarize();
  return { stats: E.stats, lines, params: E.params, perCategory: perCategory(E), eval: E.eval! };
}

/** evaluate -> accumulate -> summarize on in-memory GT and results. */
export function evaluateCoco(gt: CocoDataset | COCO, dt: CocoResult[] | COCO | ResultColumns, params: EvaluateCocoParams = {}): CocoEvalResult {
  const E = setUp(gt, dt, params);
  E.evaluate(params.onProgress);
  E.accumulate(params.onProgress);
  return result(E);
}

/**
 * evaluateCoco with evaluate + accumulate shared among the pool's worker threads (and this one):
 * the same result, bit for bit. The caller owns the pool (EvalPool; close() it when done).
 */
export async function evaluateCocoParallel(
  gt: CocoDataset | COCO, dt: CocoResult[] | COCO | ResultColumns, pool: EvalPool, params: EvaluateCocoParams = {},
): Promise<CocoEvalResult> {
  const E = setUp(gt, dt, params);
  await evaluateAccumulateParallel(E, pool, params.onProgress);
  return result(E);
}
