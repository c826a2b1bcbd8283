// Run-length encoded masks: a port of cocoapi common/maskApi.c (Dollar & Lin, 2015; pycocotools
// 2.0.x). A mask is h x w, stored column-major (Fortran order); `cnts` alternates runs of 0s and 1s,
// starting with 0s. Counts are uint32 as in C; every loop mirrors the C one so results match bit for bit.

import { CocoEvalError } from './errors.js';

/**
 * Boundary points rleFrPoly may trace (5x upsampled): 2^24 is a perimeter of 3.3 million pixels.
 * DEVIATION (pycocotools): C's rleFrPoly casts coordinates to int and mallocs whatever the edges
 * need, so a polygon with coordinates like 1e300 is undefined behaviour there; we refuse it.
 */
export const POLY_POINTS_LIMIT = 2 ** 24;

export interface RleData {
  h: number;
  w: number;
  cnts: Uint32Array;
}

const U32 = 2 ** 32;

/** rleEncode: a column-major h*w byte mask to counts. */
export function rleEncode(mask: Uint8Array, h: number, w: number): RleData {
  const a = h * w;
  const cnts: number[] = [];
  let p = 0;
  let c = 0;
  for (let j = 0; j < a; j++) {
    const v = mask[j] ? 1 : 0;
    if (v !== p) { cnts.push(c); c = 0; p = v; }
    c++;
  }
  cnts.push(c);
  return { h, w, cnts: Uint32Array.from(cnts) };
}

/** rleDecode: counts to a column-major h*w byte mask (runs past h*w are cut, as in pycocotools 2.0.x). */
export function rleDecode(R: RleData): Uint8Array {
  const out = new Uint8Array(R.h * R.w);
  let pos = 0;
  let v = 0;
  for (let j = 0; j < R.cnts.length; j++) {
    const end = Math.min(pos + R.cnts[j], out.length);
    if (v) out.fill(1, pos, end);
    pos = end;
    v = 1 - v;
  }
  return out;
}

/** rleMerge: union (or intersection) of RLEs of one size; a size mismatch gives an empty 0x0 RLE. */
export function rleMerge(Rs: readonly RleData[], intersect: boolean): RleData {
  if (Rs.length === 0) return { h: 0, w: 0, cnts: new Uint32Array(0) };
  let h = Rs[0].h;
  let w = Rs[0].w;
  let cur: number[] = Array.from(Rs[0].cnts);
  for (let i = 1; i < Rs.length; i++) {
    const B = Rs[i].cnts;
    if (Rs[i].h !== h || Rs[i].w !== w) { h = 0; w = 0; cur = []; break; }
    const A = cur;
    const out: number[] = [];
    let ca = A[0];
    let cb = B[0];
    let v = 0, va = 0, vb = 0;
    let a = 1, b = 1, cc = 0, ct = 1;
    while (ct > 0) {
      const c = Math.min(ca, cb);
      cc += c; ct = 0;
      ca -= c; if (!ca && a < A.length) { ca = A[a++]; va = 1 - va; } ct += ca;
      cb -= c; if (!cb && b < B.length) { cb = B[b++]; vb = 1 - vb; } ct += cb;
      const vp = v;
      v = intersect ? va & vb : va | vb;
      if (v !== vp || ct === 0) { out.push(cc); cc = 0; }
    }
    cur = out;
  }
  return { h, w, cnts: Uint32Array.from(cur) };
}

/** rleArea: the number of 1 pixels. */
export function rleArea(R: RleData): number {
  let a = 0;
  for (let j = 1; j < R.cnts.length; j += 2) a += R.cnts[j];
  return a;
}

/** rleToBbox (pycocotools 2.0.x version): [x, y, w, h] of the 1 pixels, zeros when empty. */
export function rleToBbox(R: RleData): [number, number, number, number] {
  const { h, w } = R;
  const m = Math.floor(R.cnts.length / 2) * 2;
  if (m === 0) return [0, 0, 0, 0];
  let xs = w, ys = h, xe = 0, ye = 0, cc = 0;
  for (let j = 0; j < m; j++) {
    const start = cc;
    cc += R.cnts[j];
    if (j % 2 === 0 || R.cnts[j] === 0) continue;
    const yStart = start % h, xStart = (start - yStart) / h;
    const yEnd = (cc - 1) % h, xEnd = (cc - 1 - yEnd) / h;
    xs = Math.min(xs, xStart); xe = Math.max(xe, xEnd);
    if (xStart < xEnd) { ys = 0; ye = h - 1; } else { ys = Math.min(ys, yStart); ye = Math.max(ye, yEnd); }
  }
  return [xs, ys, xe - xs + 1, ye - ys + 1];
}

// C's (int) cast of a double: truncation toward zero (NaN only arises for repeated vertices and
// those points are never read, see rleFrPoly).
const toInt = (x: number): number => (Number.isNaN(x) ? 0 : Math.trunc(x));

/** rleFrPoly: rasterise one polygon [x0,y0,x1,y1,...] (k = floor(len/2) vertices). */
export function rleFrPoly(xy: ArrayLike<number>, h: number, w: number): RleData {
  const k = Math.floor(xy.length / 2);
  const scale = 5;
  const x = new Array<number>(k + 1);
  const y = new Array<number>(k + 1);
  for (let j = 0; j < k; j++) x[j] = toInt(scale * xy[j * 2] + 0.5);
  x[k] = x[0];
  for (let j = 0; j < k; j++) y[j] = toInt(scale * xy[j * 2 + 1] + 0.5);
  y[k] = y[0];
  let points = 0;
  for (let j = 0; j < k; j++) points += Math.max(Math.abs(x[j + 1] - x[j]), Math.abs(y[j + 1] - y[j])) + 1;
  if (!(points <= POLY_POINTS_LIMIT)) {
    throw new CocoEvalError('INVALID_DATA', `polygon too large to rasterise: its edges span ${points} upsampled points, more than the limit of ${POLY_POINTS_LIMIT}`);
  }
  // upsample and get discrete points densely along the entire boundary
  const u: number[] = [];
  const v: number[] = [];
  for (let j = 0; j < k; j++) {
    let xs = x[j], xe = x[j + 1], ys = y[j], ye = y[j + 1];
    const dx = Math.abs(xe - xs), dy = Math.abs(ys - ye);
    const flip = (dx >= dy && xs > xe) || (dx < dy && ys > ye);
    if (flip) { let t = xs; xs = xe; xe = t; t = ys; ys = ye; ye = t; }
    const s = dx >= dy ? (ye - ys) / dx : (xe - xs) / dy;
    if (dx >= dy) {
      for (let d = 0; d <= dx; d++) { const t = flip ? dx - d : d; u.push(t + xs); v.push(toInt(ys + s * t + 0.5)); }
    } else {
      for (let d = 0; d <= dy; d++) { const t = flip ? dy - d : d; v.push(t + ys); u.push(toInt(xs + s * t + 0.5)); }
    }
  }
  // get points along the y-boundary and downsample
  const bx: number[] = [];
  const by: number[] = [];
  for (let j = 1; j < u.length; j++) {
    if (u[j] === u[j - 1]) continue;
    let xd = u[j] < u[j - 1] ? u[j] : u[j] - 1;
    xd = (xd + 0.5) / scale - 0.5;
    if (Math.floor(xd) !== xd || xd < 0 || xd > w - 1) continue;
    let yd = v[j] < v[j - 1] ? v[j] : v[j - 1];
    yd = (yd + 0.5) / scale - 0.5;
    if (yd < 0) yd = 0; else if (yd > h) yd = h;
    yd = Math.ceil(yd);
    bx.push(xd); by.push(yd);
  }
  // compute the rle encoding given the y-boundary points
  const a = new Float64Array(bx.length + 1);
  for (let j = 0; j < bx.length; j++) a[j] = (((bx[j] * h + by[j]) % U32) + U32) % U32;
  a[bx.length] = h * w;
  a.sort();
  let prev = 0;
  for (let j = 0; j < a.length; j++) { const t = a[j]; a[j] = t - prev; prev = t; }
  const b: number[] = [a[0]];
  let j = 1;
  while (j < a.length) {
    if (a[j] > 0) b.push(a[j++]);
    else { j++; if (j < a.length) b[b.length - 1] += a[j++]; }
  }
  return { h, w, cnts: Uint32Array.from(b) };
}

/** rleFrBbox: a box [x, y, w, h] rasterised as the polygon of its corners. */
export function rleFrBbox(bb: ArrayLike<number>, h: number, w: number): RleData {
  const xs = bb[0], xe = xs + bb[2], ys = bb[1], ye = ys + bb[3];
  return rleFrPoly([xs, ys, xs, ye, xe, ye, xe, ys], h, w);
}

/** rleToString: LEB128-like, 6 bits a char in ASCII 48..111, counts delta-coded from i > 2. */
export function rleToString(R: RleData): string {
  let s = '';
  const c = R.cnts;
  for (let i = 0; i < c.length; i++) {
    let x = c[i];
    if (i > 2) x -= c[i - 2];
    let more = true;
    while (more) {
      let ch = ((x % 32) + 32) % 32;
      x = Math.floor(x / 32);
      more = ch & 0x10 ? x !== -1 : x !== 0;
      if (more) ch |= 0x20;
      s += String.fromCharCode(ch + 48);
    }
  }
  return s;
}

/** rleFrString: inverse of rleToString. */
export function rleFrString(s: string, h: number, w: number): RleData {
  const cnts: number[] = [];
  let p = 0;
  while (p < s.length) {
    let x = 0;
    let k = 0;
    let more = true;
    while (more) {
      const c = s.charCodeAt(p) - 48;
      x += (c & 0x1f) * 2 ** (5 * k);
      more = (c & 0x20) !== 0;
      p++; k++;
      if (!more && c & 0x10) x -= 2 ** (5 * k);
    }
    if (cnts.length > 2) x += cnts[cnts.length - 2];
    cnts.push(((x % U32) + U32) % U32);
  }
  return { h, w, cnts: Uint32Array.from(cnts) };
}

/**
 * rleIou: o[d*G + g] for D dts and G gts (row-major [D,G], the layout of `maskUtils.iou`'s result).
 * Boxes that do not overlap give 0; a size mismatch gives -1; a crowd gt divides by the dt area.
 */
export function rleIou(dt: readonly RleData[], gt: readonly RleData[], iscrowd: ArrayLike<number>, o: Float64Array): void {
  const D = dt.length, G = gt.length;
  const db = new Float64Array(D * 4), gb = new Float64Array(G * 4);
  dt.forEach((r, d) => db.set(rleToBbox(r), d * 4));
  gt.forEach((r, g) => gb.set(rleToBbox(r), g * 4));
  for (let d = 0; d < D; d++) {
    for (let g = 0; g < G; g++) {
      o[d * G + g] = boxIou(db, d * 4, gb, g * 4, iscrowd[g] !== 0);
      if (!(o[d * G + g] > 0)) continue;
      const A = dt[d], B = gt[g];
      if (A.h !== B.h || A.w !== B.w) { o[d * G + g] = -1; continue; }
      const ac = A.cnts, bc = B.cnts;
      let ca = ac[0], cb = bc[0], va = 0, vb = 0, a = 1, b = 1, i = 0, u = 0, ct = 1;
      while (ct > 0) {
        const c = Math.min(ca, cb);
        if (va || vb) { u += c; if (va && vb) i += c; }
        ct = 0;
        ca -= c; if (!ca && a < ac.length) { ca = ac[a++]; va = 1 - va; } ct += ca;
        cb -= c; if (!cb && b < bc.length) { cb = bc[b++]; vb = 1 - vb; } ct += cb;
      }
      if (i === 0) u = 1; else if (iscrowd[g] !== 0) u = rleArea(A);
      o[d * G + g] = i / u;
    }
  }
}

/** bbIou for one pair (maskApi.c bbIou): boxes [x,y,w,h] at offsets; crowd divides by the dt area. */
export function boxIou(dt: ArrayLike<number>, di: number, gt: ArrayLike<number>, gi: number, crowd: boolean): number {
  const dx = dt[di], dy = dt[di + 1], dw = dt[di + 2], dh = dt[di + 3];
  const gx = gt[gi], gy = gt[gi + 1], gw = gt[gi + 2], gh = gt[gi + 3];
  const w = Math.min(dw + dx, gw + gx) - Math.max(dx, gx);
  if (w <= 0) return 0;
  const h = Math.min(dh + dy, gh + gy) - Math.max(dy, gy);
  if (h <= 0) return 0;
  const i = w * h;
  const da = dw * dh;
  const u = crowd ? da : da + gw * gh - i;
  return i / u;
}
