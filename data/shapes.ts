// The synthetic detection set: images of coloured shapes (six classes) on textured backgrounds, with COCO
// annotations measured from the rendered masks. Each image is a pure function of (seed, split, index).
//
// Design (learnable by a small Faster R-CNN in tens of CPU minutes, not trivial):
// * classes differ only by shape: every colour is random and each object is shaded by a random ramp;
// * sizes log-uniform between minObjectSize and maxObjectSize (circumscribed diameter), random rotation;
// * occlusion: with overlapProbability an object is placed against an earlier one; later objects may cover
//   earlier ones, but never more than (1 - minVisibleFraction) of one;
// * backgrounds: two close tones in a gradient, cloud, stripe or checker pattern, unannotated clutter
//   strokes, sensor noise; each object's colour is at least minContrast (RGB distance) from the mean colour
//   under it and from every object it overlaps;
// * bbox and area come from the visible pixel mask (distance < 0 at the pixel centre, topmost object wins),
//   so they are exact to the pixel and, like COCO's, describe the visible part.
import { join } from 'node:path';
import type { Rgb, RgbImage } from '../core/resize.js';
import { createPrng, type Prng } from '../core/prng.js';
import { SHAPE_KINDS, segmentField, shapeField, type ShapeKind, type ShapePlacement } from './shape_geometry.js';
import {
  BACKGROUND_KINDS, contrastingColour, createCanvas, meanColour, nearbyColour, paintBackground,
  paintCoverage, randomColour, rasterize, toRgbImage, type Canvas, type Coverage,
} from './raster.js';
import { intField, numberField, resolveConfig, type ConfigSchema, type ConfigSource } from '../core/config.js';
import { NasnetError } from '../core/errors.js';
import type { CocoAnnotation, CocoDataset, CocoImage } from 'pycocotools-js';
import { STREAM, deriveSeed } from './seed.js';
import {
  DEFAULT_IMAGE_FILE_OPTIONS, encodeImageFile, imageExtension, makeDirectory, runLimited, writeFileChecked,
  type ImageFileOptions,
} from './dataset_writer.js';

export interface ShapesConfig {
  readonly width: number;
  readonly height: number;
  readonly minObjects: number;
  readonly maxObjects: number;
  /** Diameter of the shape's circumscribed circle, pixels (a square's box side is ~0.71 of it). */
  readonly minObjectSize: number;
  readonly maxObjectSize: number;
  readonly minVisibleFraction: number;
  readonly minContrast: number;
  readonly maxNoise: number;
  readonly maxClutter: number;
  readonly overlapProbability: number;
}

// The defaults are the domain the embedded default detector was trained on (models/default/README.md):
// 256 x 256 images, objects 24..96 px across (smaller ones would sit below one stride-16 feature cell).
export const SHAPES_CONFIG_SCHEMA: ConfigSchema<ShapesConfig> = {
  width: intField(256, 'image width, pixels', { min: 32, max: 4096 }),
  height: intField(256, 'image height, pixels', { min: 32, max: 4096 }),
  minObjects: intField(1, 'fewest objects per image', { min: 1, max: 100 }),
  maxObjects: intField(6, 'most objects per image (fewer when they do not fit)', { min: 1, max: 100 }),
  minObjectSize: intField(24, 'smallest object (circumscribed diameter), pixels', { min: 6, max: 4096 }),
  maxObjectSize: intField(96, 'largest object (circumscribed diameter), pixels', { min: 6, max: 4096 }),
  minVisibleFraction: numberField(0.6, 'each object keeps at least this fraction of its pixels visible', { min: 0.05, max: 1 }),
  minContrast: numberField(70, 'least RGB distance between an object and the mean colour under it', { min: 0, max: 441 }),
  maxNoise: numberField(6, 'largest sensor-noise standard deviation, 0..255 units', { min: 0, max: 64 }),
  maxClutter: intField(4, 'most unannotated clutter strokes per image', { min: 0, max: 100 }),
  overlapProbability: numberField(0.3, 'chance that an object is placed against an earlier one (occlusion)', { min: 0, max: 1 }),
};

/** Resolves a partial config against the defaults; fields and their relations are checked (INVALID_CONFIG). */
export function resolveShapesConfig(partial: Partial<ShapesConfig> = {}, source = 'shapes config'): ShapesConfig {
  const sources: ConfigSource[] = [{ name: source, values: partial }];
  const config = resolveConfig(SHAPES_CONFIG_SCHEMA, sources);
  const relation = (ok: boolean, field: keyof ShapesConfig, message: string): void => {
    if (!ok) throw new NasnetError('INVALID_CONFIG', `${source}: ${message}`, { field });
  };
  relation(config.minObjects <= config.maxObjects, 'minObjects', `minObjects (${config.minObjects}) must be <= maxObjects (${config.maxObjects})`);
  relation(config.minObjectSize <= config.maxObjectSize, 'minObjectSize',
    `minObjectSize (${config.minObjectSize}) must be <= maxObjectSize (${config.maxObjectSize})`);
  relation(config.maxObjectSize <= Math.min(config.width, config.height), 'maxObjectSize',
    `maxObjectSize (${config.maxObjectSize}) must fit in the image (<= ${Math.min(config.width, config.height)})`);
  return config;
}

/**
 * The config for square images of side `size`, object sizes scaled from the 256-pixel defaults (24..96)
 * unless given; other fields from `partial` or the defaults.
 */
export function shapesConfigForSize(size: number, partial: Partial<ShapesConfig> = {}, source = 'shapes config'): ShapesConfig {
  const base = SHAPES_CONFIG_SCHEMA.width.default;
  const scaled = (value: number): number => Math.max(6, Math.round((value * size) / base));
  return resolveShapesConfig({
    minObjectSize: scaled(SHAPES_CONFIG_SCHEMA.minObjectSize.default),
    maxObjectSize: scaled(SHAPES_CONFIG_SCHEMA.maxObjectSize.default),
    ...Object.fromEntries(Object.entries(partial).filter(([, value]) => value !== undefined)),
    width: size,
    height: size,
  }, source);
}

/** COCO categories of the set: id = index in SHAPE_KINDS + 1. */
export const SHAPE_CATEGORIES: ReadonlyArray<{ readonly id: number; readonly name: ShapeKind; readonly supercategory: string }> =
  SHAPE_KINDS.map((name, i) => ({ id: i + 1, name, supercategory: 'shape' }));

/** A drawn object: its geometry, fill colour and shading ramp (colour gain per pixel along x and y). */
export interface ShapeObject extends ShapePlacement {
  readonly categoryId: number;
  readonly colour: Rgb;
  readonly gainX: number;
  readonly gainY: number;
}

export interface ShapeAnnotation {
  readonly categoryId: number;
  /** COCO [x, y, width, height] of the visible mask, whole pixels. */
  readonly bbox: [number, number, number, number];
  /** Visible mask pixels. */
  readonly area: number;
}

export interface ShapesImage {
  readonly image: RgbImage;
  /** In drawing order (later objects on top); annotations[i] belongs to objects[i]. */
  readonly objects: ShapeObject[];
  readonly annotations: ShapeAnnotation[];
}

const PLACEMENT_ATTEMPTS = 30;

/** Mask pixels (alpha > 0.5, i.e. distance < 0 at the pixel centre) of a coverage, as canvas indices. */
function maskPixels(coverage: Coverage, canvasWidth: number): number[] {
  const pixels: number[] = [];
  for (let j = 0; j < coverage.height; j++) {
    for (let i = 0; i < coverage.width; i++) {
      if (coverage.alpha[j * coverage.width + i]! > 0.5) pixels.push((coverage.y0 + j) * canvasWidth + coverage.x0 + i);
    }
  }
  return pixels;
}

/** Visible-pixel bookkeeping: which object owns each pixel, how many pixels each owns and had. */
class Occupancy {
  readonly owner: Int32Array;
  readonly visible: number[] = [];
  readonly full: number[] = [];

  constructor(size: number) {
    this.owner = new Int32Array(size).fill(-1);
  }

  /** True when covering `pixels` leaves every earlier object at least `minFraction` visible. */
  allows(pixels: readonly number[], minFraction: number): boolean {
    const lost = new Map<number, number>();
    for (const p of pixels) {
      const k = this.owner[p]!;
      if (k >= 0) lost.set(k, (lost.get(k) ?? 0) + 1);
    }
    for (const [k, n] of lost) if (this.visible[k]! - n < minFraction * this.full[k]!) return false;
    return true;
  }

  /** The objects owning any of `pixels`. */
  ownersOf(pixels: readonly number[]): number[] {
    const owners = new Set<number>();
    for (const p of pixels) if (this.owner[p]! >= 0) owners.add(this.owner[p]!);
    return [...owners];
  }

  add(pixels: readonly number[]): void {
    const id = this.full.length;
    for (const p of pixels) {
      const k = this.owner[p]!;
      if (k >= 0) this.visible[k]! -= 1;
      this.owner[p] = id;
    }
    this.full.push(pixels.length);
    this.visible.push(pixels.length);
  }

  /** Box and area of each object's visible pixels. */
  annotations(width: number, categories: readonly number[]): ShapeAnnotation[] {
    const n = this.full.length;
    const minX = new Array<number>(n).fill(Infinity);
    const minY = new Array<number>(n).fill(Infinity);
    const maxX = new Array<number>(n).fill(-1);
    const maxY = new Array<number>(n).fill(-1);
    const area = new Array<number>(n).fill(0);
    for (let p = 0; p < this.owner.length; p++) {
      const k = this.owner[p]!;
      if (k < 0) continue;
      const x = p % width;
      const y = (p - x) / width;
      minX[k] = Math.min(minX[k]!, x);
      maxX[k] = Math.max(maxX[k]!, x);
      minY[k] = Math.min(minY[k]!, y);
      maxY[k] = Math.max(maxY[k]!, y);
      area[k]! += 1;
    }
    return categories.map((categoryId, k) => ({
      categoryId,
      bbox: [minX[k]!, minY[k]!, maxX[k]! - minX[k]! + 1, maxY[k]! - minY[k]! + 1],
      area: area[k]!,
    }));
  }
}

function paintScenery(canvas: Canvas, prng: Prng, config: ShapesConfig): void {
  const kind = BACKGROUND_KINDS[prng.int(BACKGROUND_KINDS.length)]!;
  const base = randomColour(prng);
  paintBackground(canvas, prng, kind, base, nearbyColour(prng, base, prng.uniform(20, 70)));
  const strokes = prng.int(config.maxClutter + 1);
  for (let s = 0; s < strokes; s++) {
    const ax = prng.uniform(0, canvas.width);
    const ay = prng.uniform(0, canvas.height);
    const length = prng.uniform(0.05, 0.25) * Math.min(canvas.width, canvas.height);
    const angle = prng.uniform(0, 2 * Math.PI);
    const field = segmentField(ax, ay, ax + length * Math.cos(angle), ay + length * Math.sin(angle), prng.uniform(0.5, 1.5));
    paintCoverage(canvas, rasterize(field, canvas.width, canvas.height), randomColour(prng));
  }
}

/** A centre for a new object of `radius`: uniform in the image, or (overlapping) next to an earlier object. */
function sampleCentre(prng: Prng, config: ShapesConfig, radius: number, earlier: readonly ShapeObject[]): [number, number] {
  const clamp = (v: number, limit: number): number => Math.min(limit - radius, Math.max(radius, v));
  if (earlier.length > 0 && prng.next() < config.overlapProbability) {
    const other = earlier[prng.int(earlier.length)]!;
    const distance = prng.uniform(0.4, 1) * (other.radius + radius);
    const angle = prng.uniform(0, 2 * Math.PI);
    return [clamp(other.cx + distance * Math.cos(angle), config.width), clamp(other.cy + distance * Math.sin(angle), config.height)];
  }
  return [prng.uniform(radius, config.width - radius), prng.uniform(radius, config.height - radius)];
}

/** Tries to place one object of a random class and size; undefined when no position passes the occlusion rule. */
function placeObject(
  canvas: Canvas, occupancy: Occupancy, prng: Prng, config: ShapesConfig, earlier: readonly ShapeObject[],
): { object: ShapeObject; coverage: Coverage; pixels: number[] } | undefined {
  const categoryIndex = prng.int(SHAPE_KINDS.length);
  const size = Math.exp(prng.uniform(Math.log(config.minObjectSize), Math.log(config.maxObjectSize)));
  const radius = size / 2;
  const rotation = prng.uniform(0, 2 * Math.PI);
  for (let attempt = 0; attempt < PLACEMENT_ATTEMPTS; attempt++) {
    const [cx, cy] = sampleCentre(prng, config, radius, earlier);
    const placement: ShapePlacement = { kind: SHAPE_KINDS[categoryIndex]!, cx, cy, radius, rotation };
    const field = shapeField(placement);
    const coverage = rasterize(field, canvas.width, canvas.height);
    const pixels = maskPixels(coverage, canvas.width);
    if (pixels.length === 0 || !occupancy.allows(pixels, config.minVisibleFraction)) continue;
    // Contrast with the mean colour under the object and with every object it overlaps.
    const avoid = [meanColour(canvas, field.x0, field.y0, field.x1, field.y1), ...occupancy.ownersOf(pixels).map((k) => earlier[k]!.colour)];
    const gain = prng.uniform(0, 0.25) / radius;
    const direction = prng.uniform(0, 2 * Math.PI);
    const object: ShapeObject = {
      ...placement,
      categoryId: categoryIndex + 1,
      colour: contrastingColour(prng, avoid, config.minContrast),
      gainX: gain * Math.cos(direction),
      gainY: gain * Math.sin(direction),
    };
    return { object, coverage, pixels };
  }
  return undefined;
}

/** Renders one image of the set from its own seed. */
export function renderShapesImage(seed: number, config: ShapesConfig): ShapesImage {
  const prng = createPrng(seed);
  const canvas = createCanvas(config.width, config.height);
  paintScenery(canvas, prng, config);
  const occupancy = new Occupancy(config.width * config.height);
  const objects: ShapeObject[] = [];
  const count = config.minObjects + prng.int(config.maxObjects - config.minObjects + 1);
  for (let n = 0; n < count; n++) {
    const placed = placeObject(canvas, occupancy, prng, config, objects);
    if (placed === undefined) continue;
    const { object, coverage, pixels } = placed;
    paintCoverage(canvas, coverage, object.colour, { sx: object.cx, sy: object.cy, gx: object.gainX, gy: object.gainY });
    occupancy.add(pixels);
    objects.push(object);
  }
  const image = toRgbImage(canvas, prng, prng.uniform(0, config.maxNoise));
  return { image, objects, annotations: occupancy.annotations(config.width, objects.map((o) => o.categoryId)) };
}

export interface ShapesDatasetOptions {
  readonly outDir: string;
  readonly train: number;
  readonly val: number;
  readonly seed: number;
  readonly config?: ShapesConfig;
  readonly file?: ImageFileOptions;
  /** Images rendered and encoded at once (rendering is on the main thread, encoding on the pool). */
  readonly concurrency?: number;
}

export type ShapesSplit = 'train' | 'val';

export interface ShapesDatasetSummary {
  readonly images: Readonly<Record<ShapesSplit, number>>;
  readonly annotations: Readonly<Record<ShapesSplit, number>>;
  readonly seconds: number;
}

/** Seed of image `index` (0-based) of a split: images do not depend on how many others are generated. */
export function shapesImageSeed(seed: number, split: ShapesSplit, index: number): number {
  return deriveSeed(seed, split === 'train' ? STREAM.TRAIN_IMAGE : STREAM.VAL_IMAGE, index);
}

/** The COCO instances document of a split, given each image's file name and annotations (ids from 1). */
export function shapesInstances(split: ShapesSplit, config: ShapesConfig, files: ReadonlyArray<{ fileName: string; annotations: readonly ShapeAnnotation[] }>): CocoDataset {
  const images: CocoImage[] = [];
  const annotations: CocoAnnotation[] = [];
  files.forEach((file, i) => {
    images.push({ id: i + 1, file_name: file.fileName, width: config.width, height: config.height });
    for (const a of file.annotations) {
      annotations.push({ id: annotations.length + 1, image_id: i + 1, category_id: a.categoryId, bbox: [...a.bbox], area: a.area, iscrowd: 0 });
    }
  });
  return {
    info: { description: `nasnet-ts synthetic shapes, ${split} split`, version: '1' },
    licenses: [],
    images,
    annotations,
    categories: SHAPE_CATEGORIES.map((c) => ({ ...c })),
  };
}

/**
 * Writes outDir/{train,val}/NNNNNN.png and outDir/annotations/instances_{train,val}.json. The same seed and
 * config give byte-identical files; image i of a split is the same whatever the split's size.
 */
export async function generateShapesDataset(options: ShapesDatasetOptions): Promise<ShapesDatasetSummary> {
  const started = performance.now();
  const config = options.config ?? resolveShapesConfig();
  const file = options.file ?? DEFAULT_IMAGE_FILE_OPTIONS;
  for (const [field, value] of [['train', options.train], ['val', options.val]] as const) {
    if (!Number.isInteger(value) || value < 0) {
      throw new NasnetError('INVALID_ARGUMENT', `generateShapesDataset: ${field} must be a non-negative integer; received ${value}`, { field });
    }
  }
  if (!Number.isInteger(options.seed)) {
    throw new NasnetError('INVALID_ARGUMENT', `generateShapesDataset: seed must be an integer; received ${options.seed}`, { field: 'seed' });
  }
  const annotationDir = join(options.outDir, 'annotations');
  await makeDirectory(annotationDir);
  const images = { train: 0, val: 0 };
  const annotations = { train: 0, val: 0 };
  for (const split of ['train', 'val'] as const) {
    const count = options[split];
    const imageDir = join(options.outDir, split);
    await makeDirectory(imageDir);
    const files = await runLimited(count, options.concurrency ?? 4, async (index) => {
      const rendered = renderShapesImage(shapesImageSeed(options.seed, split, index), config);
      const fileName = `${String(index + 1).padStart(6, '0')}${imageExtension(file.format)}`;
      await writeFileChecked(join(imageDir, fileName), await encodeImageFile(rendered.image, file));
      return { fileName, annotations: rendered.annotations };
    });
    const instances = shapesInstances(split, config, files);
    await writeFileChecked(join(annotationDir, `instances_${split}.json`), JSON.stringify(instances));
    images[split] = count;
    annotations[split] = instances.annotations.length;
  }
  return { images, annotations, seconds: (performance.now() - started) / 1000 };
}
