// Geometry of the synthetic shapes: each shape is a signed distance function (pixels, negative inside)
// in image coordinates, so one evaluation gives both the antialiased coverage (0.5 - d, clamped) and the
// exact pixel mask (d < 0) that boxes and areas are measured from.
// Polygon distance: the exact SDF of a simple (possibly concave) polygon, min distance to the edges with
// the sign from a crossing-number test (after Inigo Quilez, "2D distance functions", sdPolygon).
//
// Coordinates: x right, y down, pixel (i, j) covers [i, i+1) x [j, j+1) and is sampled at its centre.

/** The object classes of the shapes set, in category-id order (id = index + 1). */
export const SHAPE_KINDS = ['circle', 'square', 'triangle', 'star', 'cross', 'ring'] as const;
export type ShapeKind = (typeof SHAPE_KINDS)[number];

/** A shape placed in an image: `radius` is the circumscribed circle's, `rotation` in radians. */
export interface ShapePlacement {
  readonly kind: ShapeKind;
  readonly cx: number;
  readonly cy: number;
  readonly radius: number;
  readonly rotation: number;
}

/** A distance function plus a conservative pixel rectangle outside which it is >= 1 (x1, y1 exclusive). */
export interface ShapeField {
  readonly distance: (x: number, y: number) => number;
  readonly x0: number;
  readonly y0: number;
  readonly x1: number;
  readonly y1: number;
}

/** Inner radius of a star's notches and a ring's hole, as a fraction of the outer radius. */
const STAR_INNER = 0.42;
const RING_INNER = 0.55;
/** Half-width of a cross's arms relative to their length. */
const CROSS_ARM = 0.3;

type Point = readonly [number, number];

/** Vertices of the unrotated polygonal shapes on the unit circumscribed circle. */
function unitPolygon(kind: Exclude<ShapeKind, 'circle' | 'ring'>): Point[] {
  const onCircle = (count: number, start: number, radiusAt: (k: number) => number): Point[] =>
    Array.from({ length: count }, (_, k) => {
      const angle = start + (2 * Math.PI * k) / count;
      return [radiusAt(k) * Math.cos(angle), radiusAt(k) * Math.sin(angle)] as const;
    });
  switch (kind) {
    case 'square':
      return onCircle(4, Math.PI / 4, () => 1);
    case 'triangle':
      return onCircle(3, -Math.PI / 2, () => 1);
    case 'star':
      return onCircle(10, -Math.PI / 2, (k) => (k % 2 === 0 ? 1 : STAR_INNER));
    case 'cross': {
      // Arm length L and half-width a, scaled so that the arm corners (L, a) lie on the unit circle.
      const length = 1 / Math.hypot(1, CROSS_ARM);
      const a = CROSS_ARM * length;
      const quarter: Point[] = [[a, -length], [a, -a], [length, -a]];
      // The same three corners turned by 0, 90, 180 and 270 degrees (x, y) -> (-y, x).
      const points: Point[] = [];
      for (let turn = 0; turn < 4; turn++) {
        for (const [x, y] of quarter) {
          let px = x;
          let py = y;
          for (let t = 0; t < turn; t++) [px, py] = [-py, px];
          points.push([px, py]);
        }
      }
      return points;
    }
  }
}

/** Exact signed distance to a simple polygon given as flat [x0, y0, x1, y1, ...]. */
export function polygonDistance(vertices: Float64Array, x: number, y: number): number {
  const n = vertices.length / 2;
  let best = Infinity;
  let inside = false;
  for (let i = 0, j = n - 1; i < n; j = i, i++) {
    const xi = vertices[2 * i]!;
    const yi = vertices[2 * i + 1]!;
    const ex = vertices[2 * j]! - xi;
    const ey = vertices[2 * j + 1]! - yi;
    const wx = x - xi;
    const wy = y - yi;
    const t = Math.min(1, Math.max(0, (wx * ex + wy * ey) / (ex * ex + ey * ey)));
    const bx = wx - ex * t;
    const by = wy - ey * t;
    best = Math.min(best, bx * bx + by * by);
    // Crossing test on the edge (i, j): counts crossings of the ray going +x from (x, y).
    const up = y >= yi;
    const down = y < vertices[2 * j + 1]!;
    const left = ex * wy > ey * wx;
    if ((up && down && left) || (!up && !down && !left)) inside = !inside;
  }
  return inside ? -Math.sqrt(best) : Math.sqrt(best);
}

/** Signed distance to a line segment thickened to `halfWidth` (a capsule): used for clutter strokes. */
export function segmentField(ax: number, ay: number, bx: number, by: number, halfWidth: number): ShapeField {
  const ex = bx - ax;
  const ey = by - ay;
  const lengthSq = Math.max(ex * ex + ey * ey, 1e-12);
  const reach = halfWidth + 1;
  return {
    distance(x, y) {
      const t = Math.min(1, Math.max(0, ((x - ax) * ex + (y - ay) * ey) / lengthSq));
      return Math.hypot(x - ax - ex * t, y - ay - ey * t) - halfWidth;
    },
    x0: Math.floor(Math.min(ax, bx) - reach),
    y0: Math.floor(Math.min(ay, by) - reach),
    x1: Math.ceil(Math.max(ax, bx) + reach),
    y1: Math.ceil(Math.max(ay, by) + reach),
  };
}

/** The distance field of a placed shape. */
export function shapeField(shape: ShapePlacement): ShapeField {
  const { cx, cy, radius } = shape;
  const reach = radius + 1;
  const bounds = { x0: Math.floor(cx - reach), y0: Math.floor(cy - reach), x1: Math.ceil(cx + reach), y1: Math.ceil(cy + reach) };
  if (shape.kind === 'circle') {
    return { ...bounds, distance: (x, y) => Math.hypot(x - cx, y - cy) - radius };
  }
  if (shape.kind === 'ring') {
    const mid = (radius * (1 + RING_INNER)) / 2;
    const half = (radius * (1 - RING_INNER)) / 2;
    return { ...bounds, distance: (x, y) => Math.abs(Math.hypot(x - cx, y - cy) - mid) - half };
  }
  const cos = Math.cos(shape.rotation);
  const sin = Math.sin(shape.rotation);
  const unit = unitPolygon(shape.kind);
  const vertices = new Float64Array(unit.length * 2);
  unit.forEach(([ux, uy], k) => {
    vertices[2 * k] = cx + radius * (ux * cos - uy * sin);
    vertices[2 * k + 1] = cy + radius * (ux * sin + uy * cos);
  });
  return { ...bounds, distance: (x, y) => polygonDistance(vertices, x, y) };
}

/** Outline of a placed shape as SVG markup (`fill` applied): an independent renderer for tests and docs. */
export function shapeSvg(shape: ShapePlacement, fill: string): string {
  const { cx, cy, radius } = shape;
  if (shape.kind === 'circle') return `<circle cx="${cx}" cy="${cy}" r="${radius}" fill="${fill}"/>`;
  if (shape.kind === 'ring') {
    const inner = radius * RING_INNER;
    // Two concentric circles, the inner one cut out by the even-odd rule.
    const circle = (r: number): string => `M ${cx + r} ${cy} A ${r} ${r} 0 1 0 ${cx - r} ${cy} A ${r} ${r} 0 1 0 ${cx + r} ${cy} Z`;
    return `<path d="${circle(radius)} ${circle(inner)}" fill="${fill}" fill-rule="evenodd"/>`;
  }
  const cos = Math.cos(shape.rotation);
  const sin = Math.sin(shape.rotation);
  const points = unitPolygon(shape.kind)
    .map(([ux, uy]) => `${cx + radius * (ux * cos - uy * sin)},${cy + radius * (ux * sin + uy * cos)}`)
    .join(' ');
  return `<polygon points="${points}" fill="${fill}"/>`;
}
