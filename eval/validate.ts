// Boundary checks for COCO JSON: every failure is one INVALID_DATA error naming the source (file),
// the record (`annotations[12]`) and the field, with what was expected and what was received.
import { CocoEvalError } from './errors.js';
import type { IouType } from './types.js';

type Rec = Record<string, unknown>;

/** A record: a name, or [array name, index] (formatted only when an error is thrown). */
export type RecordRef = string | readonly [string, number];

const recordName = (r: RecordRef): string => (typeof r === 'string' ? r : `${r[0]}[${r[1]}]`);

const SHOWN_MAX = 80;
const SHOWN_DEPTH = 16;

/**
 * A received value as JSON text, cut to 80 characters. It writes only what it shows (a value nested
 * a million levels deep, or a million keys wide, costs a few calls), never JSON.stringify of the
 * whole value, which overflows the stack on deeply nested input.
 */
function shown(v: unknown): string {
  if (v === undefined) return 'nothing (field missing)';
  let out = '';
  const full = () => out.length > SHOWN_MAX;
  const walk = (x: unknown, depth: number): void => {
    if (full()) return;
    if (typeof x === 'string') out += JSON.stringify(x.length > SHOWN_MAX ? x.slice(0, SHOWN_MAX) : x);
    else if (typeof x === 'number') out += Number.isFinite(x) ? String(x) : 'null';
    else if (x === null || typeof x !== 'object') out += x === undefined ? 'null' : String(x);
    else if (depth >= SHOWN_DEPTH) out += Array.isArray(x) ? '[...]' : '{...}';
    else if (Array.isArray(x)) {
      out += '[';
      for (let i = 0; i < x.length && !full(); i++) { if (i > 0) out += ','; walk(x[i], depth + 1); }
      out += ']';
    } else {
      out += '{';
      let first = true;
      for (const [k, val] of Object.entries(x)) {
        if (full()) break;
        if (val === undefined) continue;
        out += `${first ? '' : ','}${JSON.stringify(k)}:`;
        first = false;
        walk(val, depth + 1);
      }
      out += '}';
    }
  };
  walk(v, 0);
  return full() ? `${out.slice(0, SHOWN_MAX - 3)}...` : out;
}

/** The error for one bad field: `<source>: <record>.<field>: expected <x>; received <y>`. */
export function dataError(source: string, ref: RecordRef, field: string, expected: string, received: unknown): CocoEvalError {
  const record = recordName(ref);
  const where = field ? `${record}.${field}` : record;
  return new CocoEvalError('INVALID_DATA', `${source}: ${where}: expected ${expected}; received ${shown(received)}`, {
    source, record, field,
  });
}

export function isRecord(v: unknown): v is Rec {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function isFiniteNumber(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v);
}

/** A field that must be a finite number. */
export function requireNumber(source: string, record: RecordRef, o: Rec, field: string): number {
  const v = o[field];
  if (!isFiniteNumber(v)) throw dataError(source, record, field, 'a finite number', v);
  return v;
}

/** A COCO box: 4 finite numbers [x, y, width, height]. */
export function requireBbox(source: string, record: RecordRef, o: Rec): number[] {
  const v = o.bbox;
  if (!Array.isArray(v) || v.length !== 4 || !v.every(isFiniteNumber)) {
    throw dataError(source, record, 'bbox', '4 finite numbers [x, y, width, height]', v);
  }
  return v;
}

/** Keypoints: 3*K finite numbers (x, y, v triples), K = expected when given. */
export function requireKeypoints(source: string, record: RecordRef, o: Rec, expectedK?: number): number[] {
  const v = o.keypoints;
  const ok = Array.isArray(v) && v.length >= 3 && v.length % 3 === 0 && v.every(isFiniteNumber);
  if (!ok || (expectedK !== undefined && v.length !== 3 * expectedK)) {
    const what = expectedK === undefined ? 'x,y,v triples' : `${expectedK} x,y,v triples (${3 * expectedK} numbers)`;
    throw dataError(source, record, 'keypoints', `an array of ${what}`, v);
  }
  return v;
}

/** A segmentation: polygons (arrays of >= 6 finite numbers) or an RLE {size: [h, w], counts}. */
export function requireSegmentation(source: string, record: RecordRef, o: Rec): void {
  const v = o.segmentation;
  if (Array.isArray(v)) {
    if (v.length > 0 && v.every((p) => Array.isArray(p) && p.length >= 4 && p.length % 2 === 0 && p.every(isFiniteNumber))) return;
    throw dataError(source, record, 'segmentation', 'a non-empty list of polygons [x0,y0,x1,y1,...] or an RLE', v);
  }
  if (isRecord(v)) {
    const size = v.size;
    if (!Array.isArray(size) || size.length !== 2 || !size.every((x) => Number.isInteger(x) && (x as number) >= 0)) {
      throw dataError(source, record, 'segmentation.size', '[height, width] as non-negative integers', size);
    }
    const c = v.counts;
    if (typeof c === 'string' && /^[0-o]*$/.test(c)) return;
    if (Array.isArray(c) && c.every((x) => Number.isInteger(x) && (x as number) >= 0)) return;
    throw dataError(source, record, 'segmentation.counts', 'an RLE string (chars 0..o) or a list of non-negative integers', c);
  }
  throw dataError(source, record, 'segmentation', 'polygons or an RLE object', v);
}

/** The GT fields an iouType reads (cocoeval.py _prepare/computeIoU/computeOks/evaluateImg). */
export function validateGtAnnotation(source: string, index: number, a: Rec, iouType: IouType, numKeypoints: number): void {
  const record: RecordRef = ['annotations', index];
  requireNumber(source, record, a, 'area');
  const crowd = a.iscrowd;
  if (!(crowd === 0 || crowd === 1 || typeof crowd === 'boolean')) throw dataError(source, record, 'iscrowd', '0, 1, true or false', crowd);
  if (iouType === 'bbox') requireBbox(source, record, a);
  if (iouType === 'segm') requireSegmentation(source, record, a);
  if (iouType === 'keypoints') {
    requireBbox(source, record, a);
    requireKeypoints(source, record, a, numKeypoints);
    requireNumber(source, record, a, 'num_keypoints');
  }
}
