// Reports built from an evaluation: the per-category table the CLI prints and the --json document.
import type { CocoEvalResult, PerCategoryRow } from './evaluate_coco.js';
import { formatFixed } from './summarize.js';
import type { Params } from './params.js';

const cell = (v: number): string => (v === -1 ? '    -' : formatFixed(v, 3));

/** A fixed-width table: id, name, AP, AP50, AP75, AR@maxDets (absent values as '-'). */
export function perCategoryTable(rows: readonly PerCategoryRow[], maxDets: number): string[] {
  const nameWidth = Math.max(8, ...rows.map((r) => r.name.length));
  const idWidth = Math.max(2, ...rows.map((r) => String(r.id).length));
  const ar = `AR${maxDets}`;
  const head = `${'id'.padStart(idWidth)}  ${'category'.padEnd(nameWidth)}     AP   AP50   AP75  ${ar.padStart(5)}`;
  return [head, ...rows.map((r) =>
    `${String(r.id).padStart(idWidth)}  ${r.name.padEnd(nameWidth)}  ${cell(r.ap)}  ${cell(r.ap50)}  ${cell(r.ap75)}  ${cell(r.ar)}`)];
}

export interface CocoEvalJson {
  stats: number[];
  /** The evaluation parameters, less the keypoint sigmas. */
  params: Omit<Params, 'kpt_oks_sigmas'>;
  perCategory: PerCategoryRow[];
}

/** The --json document: {stats, params, perCategory}. */
export function resultJson(r: CocoEvalResult): CocoEvalJson {
  const p = r.params;
  return {
    stats: r.stats,
    params: {
      iouType: p.iouType, useCats: p.useCats, imgIds: p.imgIds, catIds: p.catIds, iouThrs: p.iouThrs,
      recThrs: p.recThrs, maxDets: p.maxDets, areaRng: p.areaRng, areaRngLbl: p.areaRngLbl,
    },
    perCategory: r.perCategory,
  };
}
