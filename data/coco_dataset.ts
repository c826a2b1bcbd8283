// A COCO-format detection dataset for training: an instances JSON plus an image folder. The document is
// validated once, field by field; every error names the file, the record (array and index) and the field,
// with what was expected and what was received.
//
// Training view: crowd annotations (iscrowd 1) are left out of the targets, as torchvision's detection
// references do; boxes are clipped to the image and boxes under 1 pixel wide or high are dropped (counted
// in `skipped`). Category ids map to contiguous labels 1..K in ascending id order; 0 is the background.
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { NasnetError } from '../core/errors.js';

/** COCO [x, y, width, height] in pixels. */
export type BoxXywh = [number, number, number, number];

export interface DetectionRecord {
  readonly imageId: number;
  readonly fileName: string;
  /** imageDir joined with fileName. */
  readonly path: string;
  readonly width: number;
  readonly height: number;
  readonly boxes: readonly BoxXywh[];
  readonly categoryIds: readonly number[];
  /** Contiguous labels 1..K, parallel to categoryIds. */
  readonly labels: readonly number[];
}

export interface DetectionCategory {
  readonly id: number;
  readonly name: string;
}

export interface DetectionDataset {
  readonly annotationFile: string;
  readonly imageDir: string;
  /** One per image, in the document's order. */
  readonly records: readonly DetectionRecord[];
  /** Sorted by id; categories[label - 1] has label `label`. */
  readonly categories: readonly DetectionCategory[];
  /** labelToCategoryId[label] for label 1..K; index 0 (background) holds 0. */
  readonly labelToCategoryId: readonly number[];
  readonly categoryIdToLabel: ReadonlyMap<number, number>;
  /** Annotations left out of the targets. */
  readonly skipped: { readonly crowd: number; readonly degenerate: number };
}

export interface CocoLoadOptions {
  /** Check that every image file exists (default true). */
  readonly checkFiles?: boolean;
  /** Keep images without any target box (default true; detection training often drops them). */
  readonly keepEmpty?: boolean;
}

type Json = Record<string, unknown>;

function describe(value: unknown): string {
  const text = JSON.stringify(value);
  if (text === undefined) return String(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

function invalid(source: string, where: string, expected: string, received: unknown): NasnetError {
  return new NasnetError('INVALID_DATA', `${source}: ${where} must be ${expected}; received ${describe(received)}`, { file: source, field: where });
}

function field(source: string, record: Json, where: string, name: string, check: (v: unknown) => boolean, expected: string): unknown {
  const value = record[name];
  if (!check(value)) throw invalid(source, `${where}.${name}`, expected, value);
  return value;
}

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const isInteger = (v: unknown): boolean => Number.isSafeInteger(v);
const isPositiveInteger = (v: unknown): boolean => Number.isSafeInteger(v) && (v as number) > 0;
const isName = (v: unknown): boolean => typeof v === 'string' && v.length > 0;
const isBox = (v: unknown): boolean =>
  Array.isArray(v) && v.length === 4 && v.every((n) => typeof n === 'number' && Number.isFinite(n)) && v[2] >= 0 && v[3] >= 0;

function array(source: string, document: Json, name: string): Json[] {
  const value = document[name];
  if (!Array.isArray(value)) throw invalid(source, `"${name}"`, 'an array', value);
  value.forEach((item, i) => {
    if (!isObject(item)) throw invalid(source, `${name}[${i}]`, 'an object', item);
  });
  return value as Json[];
}

/** Validates an instances document (already parsed) and builds the training view; `source` names it in errors. */
export function parseCocoInstances(document: unknown, source: string, imageDir: string, options: CocoLoadOptions = {}): DetectionDataset {
  if (!isObject(document)) throw invalid(source, 'the document', 'a JSON object with images, annotations and categories', document);
  const images = array(source, document, 'images');
  const annotations = array(source, document, 'annotations');
  const categoryRecords = array(source, document, 'categories');

  const categories: DetectionCategory[] = [];
  const seenCategories = new Set<number>();
  categoryRecords.forEach((record, i) => {
    const where = `categories[${i}]`;
    const id = field(source, record, where, 'id', isInteger, 'an integer') as number;
    const name = field(source, record, where, 'name', isName, 'a non-empty string') as string;
    if (seenCategories.has(id)) throw invalid(source, `${where}.id`, 'unique among categories', id);
    seenCategories.add(id);
    categories.push({ id, name });
  });
  if (categories.length === 0) throw invalid(source, '"categories"', 'a non-empty array', []);
  categories.sort((a, b) => a.id - b.id);
  const labelToCategoryId = [0, ...categories.map((c) => c.id)];
  const categoryIdToLabel = new Map(categories.map((c, i) => [c.id, i + 1]));

  const imageIndex = new Map<number, number>();
  const drafts = images.map((record, i) => {
    const where = `images[${i}]`;
    const imageId = field(source, record, where, 'id', isInteger, 'an integer') as number;
    const fileName = field(source, record, where, 'file_name', isName, 'a non-empty string') as string;
    const width = field(source, record, where, 'width', isPositiveInteger, 'a positive integer') as number;
    const height = field(source, record, where, 'height', isPositiveInteger, 'a positive integer') as number;
    if (imageIndex.has(imageId)) throw invalid(source, `${where}.id`, 'unique among images', imageId);
    imageIndex.set(imageId, i);
    return { imageId, fileName, path: join(imageDir, fileName), width, height, boxes: [] as BoxXywh[], categoryIds: [] as number[], labels: [] as number[] };
  });

  let crowd = 0;
  let degenerate = 0;
  annotations.forEach((record, i) => {
    const where = `annotations[${i}]`;
    field(source, record, where, 'id', isInteger, 'an integer');
    const imageId = field(source, record, where, 'image_id', isInteger, 'an integer') as number;
    const categoryId = field(source, record, where, 'category_id', isInteger, 'an integer') as number;
    const bbox = field(source, record, where, 'bbox', isBox, '[x, y, width, height]: 4 finite numbers, width and height >= 0') as number[];
    const iscrowd = record.iscrowd ?? 0;
    if (![0, 1, true, false].includes(iscrowd as number | boolean)) throw invalid(source, `${where}.iscrowd`, '0, 1 or a boolean', iscrowd);
    const index = imageIndex.get(imageId);
    if (index === undefined) throw invalid(source, `${where}.image_id`, 'the id of an entry in "images"', imageId);
    const label = categoryIdToLabel.get(categoryId);
    if (label === undefined) throw invalid(source, `${where}.category_id`, 'the id of an entry in "categories"', categoryId);
    if (iscrowd === 1 || iscrowd === true) {
      crowd += 1;
      return;
    }
    const image = drafts[index]!;
    const [x, y, w, h] = bbox as [number, number, number, number];
    const x0 = Math.max(0, x);
    const y0 = Math.max(0, y);
    const x1 = Math.min(image.width, x + w);
    const y1 = Math.min(image.height, y + h);
    if (x1 - x0 < 1 || y1 - y0 < 1) {
      degenerate += 1;
      return;
    }
    image.boxes.push([x0, y0, x1 - x0, y1 - y0]);
    image.categoryIds.push(categoryId);
    image.labels.push(label);
  });

  const records = options.keepEmpty === false ? drafts.filter((r) => r.boxes.length > 0) : drafts;
  return { annotationFile: source, imageDir, records, categories, labelToCategoryId, categoryIdToLabel, skipped: { crowd, degenerate } };
}

/** Reads and validates an instances JSON whose images live in imageDir. */
export async function loadCocoDataset(annotationFile: string, imageDir: string, options: CocoLoadOptions = {}): Promise<DetectionDataset> {
  let text: string;
  try {
    text = await readFile(annotationFile, 'utf8');
  } catch (error) {
    throw new NasnetError('IO_ERROR', `cannot read annotation file ${annotationFile}: ${(error as Error).message}`, { file: annotationFile });
  }
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch (error) {
    throw new NasnetError('INVALID_JSON', `${annotationFile} is not valid JSON: ${(error as Error).message}`, { file: annotationFile });
  }
  const dataset = parseCocoInstances(document, annotationFile, imageDir, options);
  if (options.checkFiles !== false) await checkImageFiles(dataset);
  return dataset;
}

async function checkImageFiles(dataset: DetectionDataset): Promise<void> {
  // Stat in chunks: bounded file handles, still quick for tens of thousands of images. The first missing
  // file in record order is reported, whatever order the stats finish in.
  const chunk = 64;
  for (let start = 0; start < dataset.records.length; start += chunk) {
    const records = dataset.records.slice(start, start + chunk);
    const present = await Promise.all(records.map((r) => stat(r.path).then((s) => s.isFile(), () => false)));
    const missing = records[present.indexOf(false)];
    if (missing !== undefined) {
      throw new NasnetError('IO_ERROR', `${dataset.annotationFile}: image ${missing.imageId} (file_name ${JSON.stringify(missing.fileName)}) not found at ${missing.path}`, {
        file: dataset.annotationFile, path: missing.path,
      });
    }
  }
}

/** The COCO layout root/annotations/instances_<split>.json with images in root/<split>/ (what `nasnet data shapes` writes). */
export function loadCocoSplit(root: string, split: string, options: CocoLoadOptions = {}): Promise<DetectionDataset> {
  return loadCocoDataset(join(root, 'annotations', `instances_${split}.json`), join(root, split), options);
}
