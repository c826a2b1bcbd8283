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

/** Incremental state: the position, and the last number read. */
class Reader {
  pos = 0;
  num = 0;
  constructor(readonly b: Uint8Array) {}

  ws(): void {
    const b = this.b;
    let p = this.pos;
    while (p < b.length) {
      const c = b[p];
      if (c !== SPACE && c !== LF && c !== CR && c !== TAB) break;
      p++;
    }
    this.pos = p;
  }

  /** Skips whitespace and reads one byte (-1 at the end). */
  next(): number {
    this.ws();
    return this.pos < this.b.length ? this.b[this.pos++] : -1;
  }

  /** A quoted key that must be one of KEYS (no escapes); its index, or -1. */
  key(): number {
    const b = this.b;
    const start = this.pos;
    let end = start;
    while (end < b.length && b[end] !== QUOTE) {
      if (b[end] === 0x5c || b[end] < 0x20) return -1; // escapes, control characters: general path
      end++;
    }
    if (end >= b.length) return -1;
    this.pos = end + 1;
    const len = end - start;
    for (let k = 0; k < KEYS.length; k++) {
      const key = KEYS[k];
      if (key.length !== len) continue;
      let same = true;
      for (let j = 0; j < len && same; j++) same = b[start + j] === key[j];
      if (same) return k;
    }
    return -1;
  }

  /**
   * A JSON number into this.num; false if the bytes are not one. Short decimals are computed
   * exactly (Clinger's fast path: an integer mantissa < 2^53 times or divided by an exact power of
   * ten <= 10^22 is one correctly rounded operation, the same double JSON.parse gives); anything
   * longer is handed to Number() on its text.
   */
  number(): boolean {
    this.ws();
    const b = this.b;
    const start = this.pos;
    let p = start;
    let neg = false;
    if (b[p] === MINUS) { neg = true; p++; }
    let m = 0, exp10 = 0, exact = true;
    const intStart = p;
    if (b[p] === ZERO) p++;
    else if (b[p] > ZERO && b[p] <= NINE) {
      while (b[p] >= ZERO && b[p] <= NINE) {
        if (m < MANTISSA_LIMIT) m = m * 10 + (b[p] - ZERO); else { exact = false; }
        p++;
      }
    } else return false;
    if (b[p] === DOT) {
      p++;
      const fracStart = p;
      while (b[p] >= ZERO && b[p] <= NINE) {
        if (m < MANTISSA_LIMIT) { m = m * 10 + (b[p] - ZERO); exp10--; } else exact = false;
        p++;
      }
      if (p === fracStart) return false;
    }
    if (b[p] === LOWER_E || b[p] === UPPER_E) {
      p++;
      let eneg = false;
      if (b[p] === MINUS || b[p] === PLUS) { eneg = b[p] === MINUS; p++; }
      const expStart = p;
      let e = 0;
      while (b[p] >= ZERO && b[p] <= NINE) { if (e < 10000) e = e * 10 + (b[p] - ZERO); p++; }
      if (p === expStart) return false;
      exp10 += eneg ? -e : e;
    }
    if (p === intStart) return false;
    this.pos = p;
    if (exact && exp10 >= -22 && exp10 <= 22) {
      const v = exp10 < 0 ? m / POW10[-exp10] : m * POW10[exp10];
      this.num = neg ? -v : v;
    } else {
      let s = '';
      for (let j = start; j < p; j++) s += String.fromCharCode(b[j]);
      this.num = Number(s);
    }
    return Number.isFinite(this.num); // 1e400: the general path reports it
  }
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
export function parseBboxResults(bytes: Uint8Array): ResultColumns | null {
  const r = new Reader(bytes);
  if (r.next() !== LBRACK) return null;
  let cap = Math.max(16, Math.floor(bytes.length / 64));
  let imageId = new Float64Array(cap), categoryId = new Float64Array(cap), score = new Float64Array(cap);
  let bbox = new Float64Array(4 * cap);
  let n = 0;
  for (;;) {
    if (r.next() !== LBRACE) return null; // also an empty list "[]": the general path reports it
    if (n === cap) {
      cap *= 2;
      imageId = grow(imageId, cap); categoryId = grow(categoryId, cap); score = grow(score, cap); bbox = grow(bbox, 4 * cap);
    }
    let seen = 0;
    for (;;) {
      if (r.next() !== QUOTE) return null;
      const k = r.key();
      if (k < 0 || (seen & (1 << k)) !== 0) return null; // unknown or repeated key
      seen |= 1 << k;
      if (r.next() !== COLON) return null;
      if (k === K_BBOX) {
        if (r.next() !== LBRACK) return null;
        for (let q = 0; q < 4; q++) {
          if (q > 0 && r.next() !== COMMA) return null;
          if (!r.number()) return null;
          bbox[4 * n + q] = r.num;
        }
        if (r.next() !== RBRACK) return null;
      } else {
        if (!r.number()) return null;
        if (k === K_IMAGE) imageId[n] = r.num;
        else if (k === K_CAT) categoryId[n] = r.num;
        else if (k === K_SCORE) score[n] = r.num;
      }
      const c = r.next();
      if (c === RBRACE) break;
      if (c !== COMMA) return null;
    }
    if (seen !== ALL_KEYS) return null;
    n++;
    const c = r.next();
    if (c === RBRACK) break;
    if (c !== COMMA) return null;
  }
  if (r.next() !== -1) return null; // trailing bytes
  return new ResultColumns(n, imageId.slice(0, n), categoryId.slice(0, n), bbox.slice(0, 4 * n), score.slice(0, n));
}
