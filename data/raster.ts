// A tiny software rasterizer for the synthetic sets: a float RGB canvas, textured backgrounds, shapes
// drawn from their distance fields with antialiased edges, sensor noise. Pure JS (no sharp, no tfjs),
// so a scene renders identically on every machine and the generator knows each object's exact mask.
//
// Canvas: [H,W,3] interleaved RGB, float32 in 0..255, rows top to bottom.
import type { Rgb, RgbImage } from '../core/resize.js';
import type { Prng } from '../core/prng.js';
import type { ShapeField } from './shape_geometry.js';

export interface Canvas {
  readonly width: number;
  readonly height: number;
  readonly data: Float32Array;
}

/** Coverage of a distance field over its pixel rectangle (clipped to the canvas): 0..1 per pixel. */
export interface Coverage {
  readonly x0: number;
  readonly y0: number;
  readonly width: number;
  readonly height: number;
  readonly alpha: Float32Array;
}

export const BACKGROUND_KINDS = ['gradient', 'clouds', 'stripes', 'checker'] as const;
export type BackgroundKind = (typeof BACKGROUND_KINDS)[number];

export function createCanvas(width: number, height: number): Canvas {
  return { width, height, data: new Float32Array(width * height * 3) };
}

export function randomColour(prng: Prng): Rgb {
  return [prng.int(256), prng.int(256), prng.int(256)];
}

/** Euclidean distance in RGB. */
export function colourDistance(a: Rgb, b: Rgb): number {
  return Math.hypot(a[0] - b[0], a[1] - b[1], a[2] - b[2]);
}

/** A colour at least `minDistance` (RGB) from every colour in `avoid` (rejection sampling, else the best try). */
export function contrastingColour(prng: Prng, avoid: readonly Rgb[], minDistance: number): Rgb {
  const margin = (c: Rgb): number => Math.min(...avoid.map((a) => colourDistance(c, a)));
  let best = randomColour(prng);
  for (let attempt = 0; attempt < 32 && margin(best) < minDistance; attempt++) {
    const candidate = randomColour(prng);
    if (margin(candidate) > margin(best)) best = candidate;
  }
  return best;
}

/** `base` moved by up to `spread` per channel: a second background tone close to the first. */
export function nearbyColour(prng: Prng, base: Rgb, spread: number): Rgb {
  const shift = (v: number): number => Math.min(255, Math.max(0, Math.round(v + prng.uniform(-spread, spread))));
  return [shift(base[0]), shift(base[1]), shift(base[2])];
}

/** Mean colour of the canvas over a rectangle (clipped); the canvas mean when the rectangle is empty. */
export function meanColour(canvas: Canvas, x0: number, y0: number, x1: number, y1: number): Rgb {
  const xa = Math.max(0, x0);
  const ya = Math.max(0, y0);
  const xb = Math.min(canvas.width, x1);
  const yb = Math.min(canvas.height, y1);
  if (xa >= xb || ya >= yb) return meanColour(canvas, 0, 0, canvas.width, canvas.height);
  const sum = [0, 0, 0];
  for (let y = ya; y < yb; y++) {
    for (let x = xa; x < xb; x++) {
      const o = (y * canvas.width + x) * 3;
      for (let c = 0; c < 3; c++) sum[c]! += canvas.data[o + c]!;
    }
  }
  const n = (xb - xa) * (yb - ya);
  return [sum[0]! / n, sum[1]! / n, sum[2]! / n];
}

/** Smooth value noise in [0, 1]: random values on a (cells+1)^2 lattice, smoothstep-interpolated. */
function valueNoise(prng: Prng, width: number, height: number, cells: number): (x: number, y: number) => number {
  const stride = cells + 1;
  const lattice = Float32Array.from({ length: stride * stride }, () => prng.next());
  const sx = cells / width;
  const sy = cells / height;
  return (x, y) => {
    const gx = x * sx;
    const gy = y * sy;
    const ix = Math.min(cells - 1, Math.floor(gx));
    const iy = Math.min(cells - 1, Math.floor(gy));
    const fx = gx - ix;
    const fy = gy - iy;
    const u = fx * fx * (3 - 2 * fx);
    const v = fy * fy * (3 - 2 * fy);
    const k = iy * stride + ix;
    const top = lattice[k]! * (1 - u) + lattice[k + 1]! * u;
    const bottom = lattice[k + stride]! * (1 - u) + lattice[k + stride + 1]! * u;
    return top * (1 - v) + bottom * v;
  };
}

/** Mixing weight in [0, 1] of the second colour at each pixel, for one background kind. */
function backgroundPattern(kind: BackgroundKind, prng: Prng, width: number, height: number): (x: number, y: number) => number {
  const angle = prng.uniform(0, Math.PI);
  const cos = Math.cos(angle);
  const sin = Math.sin(angle);
  const size = Math.max(width, height);
  switch (kind) {
    case 'gradient':
      return (x, y) => Math.min(1, Math.max(0, 0.5 + ((x - width / 2) * cos + (y - height / 2) * sin) / size));
    case 'clouds': {
      // Two octaves of value noise: broad blotches plus finer grain.
      const coarse = valueNoise(prng, width, height, 2 + prng.int(4));
      const fine = valueNoise(prng, width, height, 8 + prng.int(8));
      return (x, y) => 0.7 * coarse(x, y) + 0.3 * fine(x, y);
    }
    case 'stripes': {
      const period = prng.uniform(0.03, 0.15) * size;
      const phase = prng.uniform(0, 2 * Math.PI);
      return (x, y) => 0.5 + 0.5 * Math.sin((2 * Math.PI * (x * cos + y * sin)) / period + phase);
    }
    case 'checker': {
      const period = prng.uniform(0.05, 0.2) * size;
      const k = (2 * Math.PI) / period;
      // A soft checkerboard: the product of two sines, sharpened and clamped.
      return (x, y) => Math.min(1, Math.max(0, 0.5 + 2 * Math.sin(k * (x * cos + y * sin)) * Math.sin(k * (y * cos - x * sin))));
    }
  }
}

/** Fills the canvas with a two-tone pattern of `kind` between colours a and b. */
export function paintBackground(canvas: Canvas, prng: Prng, kind: BackgroundKind, a: Rgb, b: Rgb): void {
  const weight = backgroundPattern(kind, prng, canvas.width, canvas.height);
  const { data, width, height } = canvas;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const t = weight(x + 0.5, y + 0.5);
      const o = (y * width + x) * 3;
      data[o] = a[0] + (b[0] - a[0]) * t;
      data[o + 1] = a[1] + (b[1] - a[1]) * t;
      data[o + 2] = a[2] + (b[2] - a[2]) * t;
    }
  }
}

/** Samples a distance field at the pixel centres of its rectangle: alpha = clamp(0.5 - d, 0, 1). */
export function rasterize(field: ShapeField, canvasWidth: number, canvasHeight: number): Coverage {
  const x0 = Math.max(0, field.x0);
  const y0 = Math.max(0, field.y0);
  const width = Math.max(0, Math.min(canvasWidth, field.x1) - x0);
  const height = Math.max(0, Math.min(canvasHeight, field.y1) - y0);
  const alpha = new Float32Array(width * height);
  for (let j = 0; j < height; j++) {
    for (let i = 0; i < width; i++) {
      const d = field.distance(x0 + i + 0.5, y0 + j + 0.5);
      alpha[j * width + i] = Math.min(1, Math.max(0, 0.5 - d));
    }
  }
  return { x0, y0, width, height, alpha };
}

/**
 * Composites a coverage in `colour`, optionally shaded by a linear ramp (`shade` = colour gain per pixel
 * along x and y, measured from (sx, sy)): colour' = colour * (1 + gx (x - sx) + gy (y - sy)).
 */
export function paintCoverage(
  canvas: Canvas,
  coverage: Coverage,
  colour: Rgb,
  shade: { readonly sx: number; readonly sy: number; readonly gx: number; readonly gy: number } = { sx: 0, sy: 0, gx: 0, gy: 0 },
): void {
  const { x0, y0, width, height, alpha } = coverage;
  for (let j = 0; j < height; j++) {
    for (let i = 0; i < width; i++) {
      const a = alpha[j * width + i]!;
      if (a === 0) continue;
      const gain = 1 + shade.gx * (x0 + i + 0.5 - shade.sx) + shade.gy * (y0 + j + 0.5 - shade.sy);
      const o = ((y0 + j) * canvas.width + x0 + i) * 3;
      for (let c = 0; c < 3; c++) {
        const fg = Math.min(255, Math.max(0, colour[c]! * gain));
        canvas.data[o + c] = canvas.data[o + c]! * (1 - a) + fg * a;
      }
    }
  }
}

/**
 * Adds zero-mean noise of standard deviation `sigma` per channel and quantizes to 8-bit RGB (rounded,
 * clipped). The noise is triangular (sum of two uniforms: cheap, bounded) from an xorshift32 stream
 * seeded by `prng`: one Prng call per image instead of two per sample keeps a 320x320 image at ~1 ms.
 */
export function toRgbImage(canvas: Canvas, prng: Prng, sigma: number): RgbImage {
  const { data } = canvas;
  const out = new Uint8ClampedArray(data.length);
  // Var(u1 + u2 - 1) = 1/6 for u1, u2 ~ U(0, 1); each is 16 bits of one xorshift output.
  const scale = (Math.max(0, sigma) * Math.sqrt(6)) / 65536;
  let state = prng.int(0xffffffff) + 1;
  for (let i = 0; i < data.length; i++) {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    const noise = ((state & 0xffff) + ((state >>> 16) & 0xffff) - 65535) * scale;
    // Uint8ClampedArray rounds (half to even) and clips on assignment.
    out[i] = data[i]! + noise;
  }
  return { data: new Uint8Array(out.buffer), width: canvas.width, height: canvas.height };
}
