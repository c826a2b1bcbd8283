// Precision-recall curves as an SVG document (pure string building; rasterising is the caller's).
// One panel per area range; in each, the curves at IoU=.50, IoU=.75 and the mean over all IoU
// thresholds, precision averaged over the categories that have GT, at the largest maxDets.
import type { Accumulated } from './accumulate.js';
import type { Params } from './params.js';
import { formatFixed } from './summarize.js';

export interface PrCurve {
  label: string;
  /** Precision at each recall threshold; NaN where no category has a value. */
  precision: number[];
  /** Mean of the defined points (the AP of this setting). */
  ap: number;
}

/** The curves of one area range: precision[t, r, :, a, lastM] averaged over valid categories (and t). */
export function prCurves(e: Accumulated, p: Params, a: number): PrCurve[] {
  const [T, R, K, A, M] = e.counts;
  const m = M - 1;
  const curve = (label: string, ts: number[]): PrCurve => {
    const precision = Array.from({ length: R }, (_, r) => {
      let sum = 0, n = 0;
      for (const t of ts) {
        for (let k = 0; k < K; k++) {
          const v = e.precision[(((t * R + r) * K + k) * A + a) * M + m];
          if (v > -1) { sum += v; n++; }
        }
      }
      return n ? sum / n : NaN;
    });
    const defined = precision.filter((v) => !Number.isNaN(v));
    return { label, precision, ap: defined.length ? defined.reduce((s, v) => s + v, 0) / defined.length : -1 };
  };
  const at = (thr: number) => p.iouThrs.flatMap((v, t) => (v === thr ? [t] : []));
  const all = Array.from({ length: T }, (_, t) => t);
  const range = `${formatFixed(p.iouThrs[0], 2)}:${formatFixed(p.iouThrs[T - 1], 2)}`;
  return [curve('IoU=0.50', at(0.5)), curve('IoU=0.75', at(0.75)), curve(`IoU=${range}`, all)]
    .filter((c) => c.precision.length > 0 && c.ap !== -1);
}

const COLORS = ['#1f77b4', '#d62728', '#2ca02c'];
const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const f1 = (x: number): string => x.toFixed(1);

function panel(x0: number, y0: number, size: number, title: string, curves: PrCurve[], recThrs: number[]): string {
  const px = (r: number) => x0 + r * size;
  const py = (v: number) => y0 + (1 - v) * size;
  const out: string[] = [];
  out.push(`<rect x="${x0}" y="${y0}" width="${size}" height="${size}" fill="#fff" stroke="#333"/>`);
  for (let i = 0; i <= 5; i++) {
    const v = i / 5;
    out.push(`<line x1="${f1(px(v))}" y1="${y0}" x2="${f1(px(v))}" y2="${y0 + size}" stroke="#ddd"/>`);
    out.push(`<line x1="${x0}" y1="${f1(py(v))}" x2="${x0 + size}" y2="${f1(py(v))}" stroke="#ddd"/>`);
    out.push(`<text x="${f1(px(v))}" y="${y0 + size + 16}" text-anchor="middle">${v.toFixed(1)}</text>`);
    out.push(`<text x="${x0 - 6}" y="${f1(py(v) + 4)}" text-anchor="end">${v.toFixed(1)}</text>`);
  }
  out.push(`<text x="${x0 + size / 2}" y="${y0 - 10}" text-anchor="middle" font-weight="bold">${esc(title)}</text>`);
  out.push(`<text x="${x0 + size / 2}" y="${y0 + size + 34}" text-anchor="middle">recall</text>`);
  out.push(`<text transform="translate(${x0 - 36},${y0 + size / 2}) rotate(-90)" text-anchor="middle">precision</text>`);
  // legend in the top-right corner, where precision-recall curves rarely go
  const lx = x0 + size - 196, ly0 = y0 + 8;
  if (curves.length > 0) out.push(`<rect x="${lx}" y="${ly0}" width="188" height="${curves.length * 18 + 8}" fill="#fff" fill-opacity="0.85" stroke="#bbb"/>`);
  curves.forEach((c, j) => {
    const color = COLORS[j % COLORS.length];
    const pts = c.precision.flatMap((v, r) => (Number.isNaN(v) ? [] : [`${f1(px(recThrs[r]))},${f1(py(v))}`]));
    out.push(`<polyline fill="none" stroke="${color}" stroke-width="2" points="${pts.join(' ')}"/>`);
    const ly = ly0 + 18 + j * 18;
    out.push(`<line x1="${lx + 8}" y1="${ly - 4}" x2="${lx + 28}" y2="${ly - 4}" stroke="${color}" stroke-width="3"/>`);
    out.push(`<text x="${lx + 34}" y="${ly}">${esc(c.label)}  AP=${formatFixed(c.ap, 3)}</text>`);
  });
  return out.join('\n');
}

/** The whole figure: one panel per area range, two panels a row. */
export function prCurveSvg(e: Accumulated, p: Params, title = 'Precision-recall'): string {
  const A = e.counts[3];
  const size = 300, gap = 90, cols = Math.min(2, A), rows = Math.ceil(A / cols);
  const width = cols * (size + gap) + 40, height = rows * (size + gap) + 60;
  const maxDet = p.maxDets[p.maxDets.length - 1];
  const body = Array.from({ length: A }, (_, a) => {
    const x0 = 70 + (a % cols) * (size + gap), y0 = 70 + Math.floor(a / cols) * (size + gap);
    return panel(x0, y0, size, `area=${p.areaRngLbl[a]}, maxDets=${maxDet}`, prCurves(e, p, a), p.recThrs);
  });
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="DejaVu Sans, Arial, sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="#f7f7f7"/>`,
    `<text x="${width / 2}" y="28" text-anchor="middle" font-size="16" font-weight="bold">${esc(title)} (${p.iouType})</text>`,
    ...body,
    '</svg>',
  ].join('\n');
}
