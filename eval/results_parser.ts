// A specialised reader for the common results file: a JSON array of box detections
// `[{"image_id": 1, "category_id": 18, "bbox": [x, y, w, h], "score": 0.9}, ...]`, read byte by byte
// straight into typed columns (no string of the file, no object per detection). Shape shorthand:
// N detections; bbox is [N,4] row-major.
//
// It accepts only that shape: each object has exactly these four keys (any order, any JSON
// whitespace), numbers in JSON's grammar, a bbox of exactly 4 numbers. Anything else -- another
// key, a segmentation, a string, a nested value, a syntax error, an empty list -- returns null and
// the caller takes the general path (JSON.parse + loadRes), which gives the exact error message or
// handles the unusual record. So this reader never decides that an input is invalid; it only
// recognises inputs that certainly are valid, and then yields the numbers JSON.parse would.

/** The columns of a box results list (what loadRes reads of each record). */
export class ResultColumns {
  constructor(
    readonly n: number,
    readonly imageId: Float64Array,
    readonly categoryId: Float64Array,
    /** [N,4] COCO [x, y, width, height]. */
    readonly bbox: Float64Array,
    readonly score: Float64Array,
  ) {}
}

// Characters.
const SPACE = 0x20, TAB = 0x09, LF = 0x0a, CR = 0x0d;
const LBRACK = 0x5b, RBRACK = 0x5d, LBRACE = 0x7b, RBRACE = 0x7d, COMMA = 0x2c, COLON = 0x3a, QUOTE = 0x22;
const MINUS = 0x2d, PLUS = 0x2b, DOT = 0x2e, ZERO = 0x30, NINE = 0x39, LOWER_E = 0x65, UPPER_E = 0x45;

// The four keys, as bytes, and their bit in a record's "seen" mask.
const KEYS = ['image_id', 'category_id', 'bbox', 'score'].map((k) => Uint8Array.from(k, (c) => c.charCodeAt(0)));
const K_IMAGE = 0, K_CAT = 1, K_BBOX = 2, K_SCORE = 3;
const ALL_KEYS = 0b1111;

// Exact powers of ten (10^0..10^22 are exactly representable doubles).
const POW10 = Array.from({ length: 23 }, (_, i) => Number(`1e${i}`));
// Below this the mantissa can take one more digit and stay an exact integer (< 2^53).
const MANTISSA_LIMIT = 900719925474099;

const isSpace = (c: number): boolean => c === SPACE || c === LF || c === CR || c === TAB;

// The number read last by readNumber (a typed slot: a plain variable would box every double).
const NUM = new Float64Array(1);

/**
 * A JSON number starting at b[p] into NUM[0]; the position after it, or -1 if the bytes are not one
 * (or it is not finite: 1e400). Short decimals are computed exactly (Clinger's fast path: an integer
 * mantissa < 2^53 times or divided by an exact power of ten <= 10^22 is one correctly rounded
 * operation, the same double JSON.parse gives); anything longer goes to Number() on its text.
 */
function readNumber(b: Uint8Array, p: number): number {
  const start = p, end = b.length;
  let neg = false;
  if (p < end && b[p] === MINUS) { neg = true; p++; }
  let m = 0, exp10 = 0, exact = true;
  if (p >= end) return -1;
  let c = b[p];
  if (c === ZERO) {
    p++;
  } else if (c > ZERO && c <= NINE) {
    while (p < end && (c = b[p]) >= ZERO && c <= NINE) {
      if (m < MANTISSA_LIMIT) m = m * 10 + (c - ZERO); else exact = false;
      p++;
    }
  } else return -1;
  if (p < end && b[p] === DOT) {
    p++;
    const fracStart = p;
    while (p < end && (c = b[p]) >= ZERO && c <= NINE) {
      if (m < MANTISSA_LIMIT) { m = m * 10 + (c - ZERO); exp10--; } else exact = false;
      p++;
    }
    if (p === fracStart) return -1;
  }
  if (p < end && (b[p] === LOWER_E || b[p] === UPPER_E)) {
    p++;
    let eneg = false;
    if (p < end && (b[p] === MINUS || b[p] === PLUS)) { eneg = b[p] === MINUS; p++; }
    const expStart = p;
    let e = 0;
    while (p < end && (c = b[p]) >= ZERO && c <= NINE) { if (e < 10000) e = e * 10 + (c - ZERO); p++; }
    if (p === expStart) return -1;
    exp10 += eneg ? -e : e;
  }
  if (exact && exp10 >= -22 && exp10 <= 22) {
    const v = exp10 < 0 ? m / POW10[-exp10] : m * POW10[exp10];
    NUM[0] = neg ? -v : v;
  } else {
    let text = '';
    for (let j = start; j < p; j++) text += String.fromCharCode(b[j]);
    NUM[0] = Number(text);
  }
  return Number.isFinite(NUM[0]) ? p : -1;
}

/** The key (without quotes) at b[p..]: its index in KEYS, or -1. The caller checks the closing quote. */
function keyAt(b: Uint8Array, p: number): number {
  const k = b[p] === 0x69 ? K_IMAGE : b[p] === 0x63 ? K_CAT : b[p] === 0x62 ? K_BBOX : b[p] === 0x73 ? K_SCORE : -1;
  if (k < 0) return -1;
  const key = KEYS[k];
  if (p + key.length >= b.length) return -1;
  for (let j = 1; j < key.length; j++) if (b[p + j] !== key[j]) return -1;
  return k;
}

/** Grows a column to at least `need` entries. */
function grow(a: Float64Array<ArrayBuffer>, need: number): Float64Array<ArrayBuffer> {
  if (a.length >= need) return a;
  const out = new Float64Array(Math.max(need, a.length * 2));
  out.set(a);
  return out;
}

/**
 * Reads a results file's bytes as box detections; null when the file is anything but a non-empty
 * array of {image_id, category_id, bbox, score} objects (the caller then parses it in general).
 */
export function parseBboxResults(b: Uint8Array): ResultColumns | null {
  const end = b.length;
  let p = 0;
  while (p < end && isSpace(b[p])) p++;
  if (p >= end || b[p++] !== LBRACK) return null;
  let cap = Math.max(16, Math.floor(end / 64));
  let imageId = new Float64Array(cap), categoryId = new Float64Array(cap), score = new Float64Array(cap);
  let bbox = new Float64Array(4 * cap);
  let n = 0;
  for (;;) {
    while (p < end && isSpace(b[p])) p++;
    if (p >= end || b[p++] !== LBRACE) return null; // also an empty list "[]": the general path reports it
    if (n === cap) {
      cap *= 2;
      imageId = grow(imageId, cap); categoryId = grow(categoryId, cap); score = grow(score, cap); bbox = grow(bbox, 4 * cap);
    }
    let seen = 0;
    for (;;) {
      while (p < end && isSpace(b[p])) p++;
      if (p >= end || b[p++] !== QUOTE) return null;
      const k = keyAt(b, p);
      if (k < 0 || (seen & (1 << k)) !== 0) return null; // unknown or repeated key
      p += KEYS[k].length;
      if (b[p++] !== QUOTE) return null;
      seen |= 1 << k;
      while (p < end && isSpace(b[p])) p++;
      if (p >= end || b[p++] !== COLON) return null;
      while (p < end && isSpace(b[p])) p++;
      if (k === K_BBOX) {
        if (p >= end || b[p++] !== LBRACK) return null;
        for (let q = 0; q < 4; q++) {
          while (p < end && isSpace(b[p])) p++;
          if (q > 0) {
            if (p >= end || b[p++] !== COMMA) return null;
            while (p < end && isSpace(b[p])) p++;
          }
          if ((p = readNumber(b, p)) < 0) return null;
          bbox[4 * n + q] = NUM[0];
        }
        while (p < end && isSpace(b[p])) p++;
        if (p >= end || b[p++] !== RBRACK) return null;
      } else {
        if ((p = readNumber(b, p)) < 0) return null;
        if (k === K_IMAGE) imageId[n] = NUM[0];
        else if (k === K_CAT) categoryId[n] = NUM[0];
        else score[n] = NUM[0];
      }
      while (p < end && isSpace(b[p])) p++;
      if (p >= end) return null;
      const c = b[p++];
      if (c === RBRACE) break;
      if (c !== COMMA) return null;
    }
    if (seen !== ALL_KEYS) return null;
    n++;
    while (p < end && isSpace(b[p])) p++;
    if (p >= end) return null;
    const c = b[p++];
    if (c === RBRACK) break;
    if (c !== COMMA) return null;
  }
  while (p < end && isSpace(b[p])) p++;
  if (p !== end) return null; // trailing bytes
  // the columns live in shared memory: worker threads read them without a copy
  const shared = (a: Float64Array, len: number) => {
    const out = new Float64Array(new SharedArrayBuffer(8 * len));
    out.set(a.subarray(0, len));
    return out;
  };
  return new ResultColumns(n, shared(imageId, n), shared(categoryId, n), shared(bbox, 4 * n), shared(score, n));
}
