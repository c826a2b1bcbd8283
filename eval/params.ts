// COCOeval Params (cocoeval.py:498-534 at cocoapi 8c9bcc3): thresholds, area ranges, maxDets, and the
// validated overrides (`imgIds`, `catIds`, `iouThrs`, `recThrs`, `maxDets`, `useCats`, `areaRng`).
import { CocoEvalError } from './errors.js';
import type { IouType } from './types.js';
import { IOU_TYPES } from './types.js';

export interface Params {
  iouType: IouType;
  imgIds: number[];
  catIds: number[];
  /** T IoU thresholds. */
  iouThrs: number[];
  /** R recall thresholds. */
  recThrs: number[];
  /** M max detections per image (sorted by evaluate()). */
  maxDets: number[];
  /** A [lo, hi] area ranges, bounds inclusive. */
  areaRng: [number, number][];
  areaRngLbl: string[];
  /** 1: per-category evaluation; 0: labels ignored (proposal scoring). */
  useCats: 0 | 1;
  /** Keypoint OKS sigmas (keypoints only). */
  kpt_oks_sigmas: number[];
}

/** What callers may override; everything else keeps the pycocotools default. */
export type ParamsOverrides = Partial<Omit<Params, 'iouType' | 'useCats'>> & { useCats?: 0 | 1 | boolean };

/** np.linspace(start, stop, num): `start + i*step` with `step = (stop-start)/(num-1)`, last entry = stop. */
export function linspace(start: number, stop: number, num: number): number[] {
  const step = (stop - start) / (num - 1);
  const out: number[] = [];
  for (let i = 0; i < num; i++) out.push(i * step + start);
  if (num > 1) out[num - 1] = stop;
  return out;
}

// np.array([...])/10.0 (cocoeval.py:519).
const KPT_OKS_SIGMAS = [0.26, 0.25, 0.25, 0.35, 0.35, 0.79, 0.79, 0.72, 0.72, 0.62, 0.62, 1.07, 1.07, 0.87, 0.87, 0.89, 0.89]
  .map((s) => s / 10.0);

/** Params(iouType): setDetParams / setKpParams. */
export function defaultParams(iouType: IouType): Params {
  if (!IOU_TYPES.includes(iouType)) {
    throw new CocoEvalError('INVALID_ARGUMENT', `Params: iouType must be one of ${IOU_TYPES.join(', ')}; received ${String(iouType)}`);
  }
  // int(np.round((0.95 - .5) / .05)) + 1 = 10 and int(np.round(1.0 / .01)) + 1 = 101.
  const iouThrs = linspace(0.5, 0.95, 10);
  const recThrs = linspace(0.0, 1.0, 101);
  const big = 1e5 ** 2;
  if (iouType === 'keypoints') {
    return {
      iouType, imgIds: [], catIds: [], iouThrs, recThrs, maxDets: [20],
      areaRng: [[0, big], [32 ** 2, 96 ** 2], [96 ** 2, big]], areaRngLbl: ['all', 'medium', 'large'],
      useCats: 1, kpt_oks_sigmas: KPT_OKS_SIGMAS.slice(),
    };
  }
  return {
    iouType, imgIds: [], catIds: [], iouThrs, recThrs, maxDets: [1, 10, 100],
    areaRng: [[0, big], [0, 32 ** 2], [32 ** 2, 96 ** 2], [96 ** 2, big]], areaRngLbl: ['all', 'small', 'medium', 'large'],
    useCats: 1, kpt_oks_sigmas: KPT_OKS_SIGMAS.slice(),
  };
}

function bad(field: string, expected: string, received: unknown): CocoEvalError {
  const shown = JSON.stringify(received);
  return new CocoEvalError('INVALID_ARGUMENT', `params.${field}: expected ${expected}; received ${shown === undefined ? String(received) : shown.slice(0, 120)}`, { field });
}

function numberList(field: string, v: unknown, check: (x: number) => boolean, expected: string, allowEmpty: boolean): number[] {
  if (!Array.isArray(v) || (!allowEmpty && v.length === 0) || !v.every((x) => typeof x === 'number' && check(x))) {
    throw bad(field, expected, v);
  }
  return v.slice() as number[];
}

/** Apply overrides to `base` (a copy is returned), validating each: field, expected, received. */
export function applyOverrides(base: Params, o: ParamsOverrides): Params {
  const p: Params = { ...base, areaRng: base.areaRng.map((r) => [r[0], r[1]]), areaRngLbl: base.areaRngLbl.slice() };
  const finite = Number.isFinite;
  if (o.imgIds !== undefined) p.imgIds = numberList('imgIds', o.imgIds, finite, 'an array of image ids', true);
  if (o.catIds !== undefined) p.catIds = numberList('catIds', o.catIds, finite, 'an array of category ids', true);
  if (o.iouThrs !== undefined) {
    p.iouThrs = numberList('iouThrs', o.iouThrs, (x) => x >= 0 && x <= 1, 'a non-empty array of numbers in [0, 1]', false);
  }
  if (o.recThrs !== undefined) {
    p.recThrs = numberList('recThrs', o.recThrs, (x) => x >= 0 && x <= 1, 'a non-empty array of numbers in [0, 1]', false);
  }
  if (o.maxDets !== undefined) {
    p.maxDets = numberList('maxDets', o.maxDets, (x) => Number.isInteger(x) && x > 0, 'a non-empty array of positive integers', false);
  }
  if (o.areaRng !== undefined) {
    const r = o.areaRng as unknown;
    if (!Array.isArray(r) || r.length === 0 || !r.every((x) => Array.isArray(x) && x.length === 2 && x.every((y) => typeof y === 'number' && !Number.isNaN(y)))) {
      throw bad('areaRng', 'a non-empty array of [lo, hi] pairs', r);
    }
    p.areaRng = r.map((x: number[]) => [x[0], x[1]] as [number, number]);
  }
  if (o.areaRngLbl !== undefined) {
    if (!Array.isArray(o.areaRngLbl) || o.areaRngLbl.length !== p.areaRng.length || !o.areaRngLbl.every((x) => typeof x === 'string')) {
      throw bad('areaRngLbl', `${p.areaRng.length} labels (one per areaRng)`, o.areaRngLbl);
    }
    p.areaRngLbl = o.areaRngLbl.slice();
  } else if (o.areaRng !== undefined && p.areaRng.length !== base.areaRng.length) {
    throw bad('areaRngLbl', `${p.areaRng.length} labels to go with the new areaRng`, o.areaRngLbl);
  }
  if (o.kpt_oks_sigmas !== undefined) {
    p.kpt_oks_sigmas = numberList('kpt_oks_sigmas', o.kpt_oks_sigmas, (x) => x > 0 && finite(x), 'positive numbers', false);
  }
  if (o.useCats !== undefined) {
    if (o.useCats !== 0 && o.useCats !== 1 && typeof o.useCats !== 'boolean') throw bad('useCats', '0, 1, true or false', o.useCats);
    p.useCats = o.useCats === 1 || o.useCats === true ? 1 : 0;
  }
  // DEVIATION (pycocotools): summarize() indexes maxDets[2] for bbox/segm and crashes with fewer
  // than 3 values (cocoeval.py:461); we refuse them up front.
  if (p.iouType !== 'keypoints' && p.maxDets.length < 3) {
    throw bad('maxDets', `at least 3 values for iouType ${p.iouType} (summarize reads maxDets[0..2])`, p.maxDets);
  }
  return p;
}
