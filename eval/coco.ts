// The COCO index (pycocotools coco.py at cocoapi 8c9bcc3): createIndex, getAnnIds/getCatIds/getImgIds,
// loadAnns/loadCats/loadImgs, loadRes (with its exact rules) and annToRLE.
import { CocoEvalError } from './errors.js';
import type { CocoAnnotation, CocoCategory, CocoDataset, CocoImage } from './types.js';
import type { RleData } from './rle.js';
import { rleArea, rleFrBbox, rleToBbox } from './rle.js';
import { ResultColumns } from './results_parser.js';
import { segmentationToRle } from './segm.js';
import type { RecordRef } from './validate.js';
import {
  dataError, isFiniteNumber, isRecord, requireBbox, requireKeypoints, requireNumber, requireSegmentation,
} from './validate.js';

export interface AnnFilter {
  imgIds?: number[];
  catIds?: number[];
  areaRng?: number[];
  iscrowd?: number | boolean | null;
}

function requireArray(source: string, d: Record<string, unknown>, field: string): unknown[] {
  const v = d[field];
  if (!Array.isArray(v)) throw dataError(source, 'dataset', field, 'an array', v);
  return v;
}

/** Structural checks of a GT dataset: top-level arrays, numeric ids, unique annotation ids. */
function checkDataset(source: string, d: unknown): CocoDataset {
  if (!isRecord(d)) throw dataError(source, 'dataset', '', 'a JSON object with images, annotations and categories', d);
  const images = requireArray(source, d, 'images');
  const categories = requireArray(source, d, 'categories');
  const annotations = requireArray(source, d, 'annotations');
  images.forEach((img, i) => {
    if (!isRecord(img)) throw dataError(source, ['images', i], '', 'an object', img);
    requireNumber(source, ['images', i], img, 'id');
  });
  categories.forEach((cat, i) => {
    if (!isRecord(cat)) throw dataError(source, ['categories', i], '', 'an object', cat);
    requireNumber(source, ['categories', i], cat, 'id');
  });
  const seen = new Map<number, number>();
  annotations.forEach((ann, i) => {
    const rec: RecordRef = ['annotations', i];
    if (!isRecord(ann)) throw dataError(source, rec, '', 'an object', ann);
    const id = requireNumber(source, rec, ann, 'id');
    requireNumber(source, rec, ann, 'image_id');
    requireNumber(source, rec, ann, 'category_id');
    // DEVIATION (pycocotools): a repeated annotation id makes loadAnns return the last record twice
    // (coco.py:104 keys anns by id); we refuse the file instead of evaluating the wrong boxes.
    const first = seen.get(id);
    if (first !== undefined) throw dataError(source, rec, 'id', `a unique annotation id (annotations[${first}] has it too)`, id);
    seen.set(id, i);
  });
  return d as unknown as CocoDataset;
}

/**
 * Box results held in columns (loadRes of a ResultColumns): what loadRes would have written into
 * each record (`area` = w*h; `id` = index + 1 and `iscrowd` = 0 are implied).
 */
export interface BoxResults extends ResultColumns {
  readonly area: Float64Array;
}

export class COCO {
  private _dataset: CocoDataset;
  private _anns = new Map<number, CocoAnnotation>();
  private _imgToAnns = new Map<number, CocoAnnotation[]>();
  private _catToImgs = new Map<number, number[]>();
  imgs = new Map<number, CocoImage>();
  cats = new Map<number, CocoCategory>();
  /**
   * DEVIATION (pycocotools): box results loaded from a ResultColumns stay in these columns; the
   * annotation objects (`dataset.annotations`, `anns`, `imgToAnns`, `catToImgs`) are built only
   * when first read. COCOeval reads the columns. null for every other COCO.
   */
  results: BoxResults | null = null;
  private materialized = false;
  /** Where the data came from (a file path), used in error messages. */
  readonly source: string;

  /** COCO(annotation) with a parsed instances JSON; no argument gives an empty index (as COCO()). */
  constructor(dataset?: unknown, source = 'ground truth') {
    this.source = source;
    this._dataset = dataset === undefined ? { images: [], annotations: [], categories: [] } : checkDataset(source, dataset);
    this.createIndex();
  }

  get dataset(): CocoDataset { this.materialize(); return this._dataset; }
  set dataset(d: CocoDataset) { this._dataset = d; }
  get anns(): Map<number, CocoAnnotation> { this.materialize(); return this._anns; }
  get imgToAnns(): Map<number, CocoAnnotation[]> { this.materialize(); return this._imgToAnns; }
  get catToImgs(): Map<number, number[]> { this.materialize(); return this._catToImgs; }

  /** The record objects of columnar results, as loadRes would have annotated them. */
  private materialize(): void {
    const r = this.results;
    if (r === null || this.materialized) return;
    this.materialized = true;
    const anns: CocoAnnotation[] = new Array(r.n);
    for (let i = 0; i < r.n; i++) {
      anns[i] = {
        image_id: r.imageId[i], category_id: r.categoryId[i], bbox: Array.from(r.bbox.subarray(4 * i, 4 * i + 4)),
        score: r.score[i], area: r.area[i], id: i + 1, iscrowd: 0,
      };
    }
    this._dataset.annotations = anns;
    this.createIndex();
  }

  createIndex(): void {
    this._anns.clear(); this.imgs.clear(); this.cats.clear(); this._imgToAnns.clear(); this._catToImgs.clear();
    const d = this._dataset;
    for (const img of d.images) this.imgs.set(img.id, img);
    for (const cat of d.categories) this.cats.set(cat.id, cat);
    if (this.results !== null && !this.materialized) return;
    for (const ann of d.annotations) {
      let list = this._imgToAnns.get(ann.image_id);
      if (list === undefined) this._imgToAnns.set(ann.image_id, (list = []));
      list.push(ann);
      this._anns.set(ann.id, ann);
    }
    for (const ann of d.annotations) {
      let list = this._catToImgs.get(ann.category_id);
      if (list === undefined) this._catToImgs.set(ann.category_id, (list = []));
      list.push(ann.image_id);
    }
  }

  /** coco.py:129-155: file order; an empty filter returns every annotation. areaRng bounds are exclusive. */
  getAnnIds(f: AnnFilter = {}): number[] {
    const imgIds = f.imgIds ?? [];
    const catIds = f.catIds ?? [];
    const areaRng = f.areaRng ?? [];
    let anns: CocoAnnotation[];
    if (imgIds.length === 0 && catIds.length === 0 && areaRng.length === 0) {
      anns = this.dataset.annotations;
    } else {
      anns = imgIds.length === 0 ? this.dataset.annotations : imgIds.flatMap((id) => this.imgToAnns.get(id) ?? []);
      if (catIds.length > 0) {
        const cs = new Set(catIds);
        anns = anns.filter((a) => cs.has(a.category_id));
      }
      if (areaRng.length > 0) anns = anns.filter((a) => (a.area as number) > areaRng[0] && (a.area as number) < areaRng[1]);
    }
    const crowd = f.iscrowd;
    if (crowd !== undefined && crowd !== null) anns = anns.filter((a) => Number(a.iscrowd) === Number(crowd));
    return anns.map((a) => a.id);
  }

  /** coco.py:157-177: category ids in file order, filtered by name, supercategory or id. */
  getCatIds(f: { catNms?: string[]; supNms?: string[]; catIds?: number[] } = {}): number[] {
    let cats = this.dataset.categories;
    if (f.catNms?.length) cats = cats.filter((c) => f.catNms!.includes(c.name as string));
    if (f.supNms?.length) cats = cats.filter((c) => f.supNms!.includes(c.supercategory as string));
    if (f.catIds?.length) cats = cats.filter((c) => f.catIds!.includes(c.id));
    return cats.map((c) => c.id);
  }

  /** coco.py:179-197: all image ids, or the given ones that contain every given category. */
  getImgIds(f: { imgIds?: number[]; catIds?: number[] } = {}): number[] {
    const imgIds = f.imgIds ?? [];
    const catIds = f.catIds ?? [];
    if (imgIds.length === 0 && catIds.length === 0) return [...this.imgs.keys()];
    let ids = new Set(imgIds);
    catIds.forEach((catId, i) => {
      const withCat = new Set(this.catToImgs.get(catId) ?? []);
      ids = i === 0 && ids.size === 0 ? withCat : new Set([...ids].filter((id) => withCat.has(id)));
    });
    // DEVIATION (pycocotools): Python returns list(set), whose order is unspecified; we sort.
    return [...ids].sort((a, b) => a - b);
  }

  loadAnns(ids: number[]): CocoAnnotation[] {
    return ids.map((id) => this.lookup(this.anns, id, 'annotation'));
  }

  loadCats(ids: number[]): CocoCategory[] {
    return ids.map((id) => this.lookup(this.cats, id, 'category'));
  }

  loadImgs(ids: number[]): CocoImage[] {
    return ids.map((id) => this.lookup(this.imgs, id, 'image'));
  }

  private lookup<T>(m: Map<number, T>, id: number, what: string): T {
    const v = m.get(id);
    if (v === undefined) throw new CocoEvalError('INVALID_ARGUMENT', `COCO.load: unknown ${what} id ${id} in ${this.source}`);
    return v;
  }

  /**
   * loadRes (coco.py:305-364): a result COCO over the GT images and categories. The kind of results
   * is decided by the first record (caption, bbox, segmentation, keypoints, in that order). As in
   * pycocotools the records are annotated in place: `id` = index + 1, `area` (w*h for boxes, the
   * mask area for segmentations, the keypoints' extent for keypoints), `iscrowd` = 0 and, for
   * segmentations and keypoints, `bbox`.
   * DEVIATION (pycocotools): every record is validated before any is changed; an empty list
   * (IndexError in pycocotools) and an image id outside the GT (AssertionError) are INVALID_DATA
   * errors naming the record; box results get no polygon `segmentation` (annToRLE rasterises the box
   * itself, with the same pixels); segmentation results may also be polygons or uncompressed RLEs.
   */
  loadRes(results: unknown, source = 'results'): COCO {
    if (results instanceof ResultColumns) return this.loadResColumns(results, source);
    if (!Array.isArray(results)) throw dataError(source, 'results', '', 'a JSON array of result objects', results);
    if (results.length === 0) {
      throw new CocoEvalError('INVALID_DATA', `${source}: the results list is empty; pycocotools cannot evaluate it either (IndexError in loadRes). Write at least one detection.`, { source });
    }
    const first = results[0] as unknown;
    if (!isRecord(first)) throw dataError(source, ['results', 0], '', 'an object', first);
    const kind = 'caption' in first ? 'caption'
      : Array.isArray(first.bbox) && first.bbox.length > 0 ? 'bbox'
        : 'segmentation' in first ? 'segm' : 'keypoints' in first ? 'keypoints' : undefined;
    if (kind === undefined || kind === 'caption') {
      throw dataError(source, ['results', 0], '', 'a detection with bbox, segmentation or keypoints', first);
    }
    for (let i = 0; i < results.length; i++) {
      const r = results[i] as unknown;
      if (!isRecord(r)) throw dataError(source, ['results', i], '', 'an object', r);
      const imageId = requireNumber(source, ['results', i], r, 'image_id');
      if (!this.imgs.has(imageId)) throw dataError(source, ['results', i], 'image_id', `an image id of ${this.source}`, imageId);
      requireNumber(source, ['results', i], r, 'category_id');
      requireNumber(source, ['results', i], r, 'score');
      if (kind === 'bbox') requireBbox(source, ['results', i], r);
      else if (kind === 'segm') requireSegmentation(source, ['results', i], r);
      else requireKeypoints(source, ['results', i], r);
    }
    const anns = results as CocoAnnotation[];
    for (let i = 0; i < anns.length; i++) {
      const ann = anns[i];
      if (kind === 'bbox') {
        const bb = ann.bbox as number[];
        ann.area = bb[2] * bb[3];
      } else if (kind === 'segm') {
        const rle = this.annToRLE(ann);
        ann.area = rleArea(rle);
        if (!('bbox' in ann)) ann.bbox = rleToBbox(rle);
      } else {
        const s = ann.keypoints as number[];
        let x0 = Infinity, x1 = -Infinity, y0 = Infinity, y1 = -Infinity;
        for (let j = 0; j < s.length; j += 3) {
          x0 = Math.min(x0, s[j]); x1 = Math.max(x1, s[j]);
          y0 = Math.min(y0, s[j + 1]); y1 = Math.max(y1, s[j + 1]);
        }
        ann.area = (x1 - x0) * (y1 - y0);
        ann.bbox = [x0, y0, x1 - x0, y1 - y0];
      }
      ann.id = i + 1;
      // keypoint results get no iscrowd in pycocotools (coco.py:351-359); nothing reads it for them
      if (kind !== 'keypoints') ann.iscrowd = 0;
    }
    const res = new COCO(undefined, source);
    res.dataset = {
      info: this.dataset.info ?? {},
      images: this.dataset.images.slice(),
      categories: this.dataset.categories.map((c) => ({ ...c })),
      annotations: anns,
    };
    res.createIndex();
    return res;
  }

  /** loadRes of box results in columns (parseBboxResults): the same checks, no record objects. */
  private loadResColumns(r: ResultColumns, source: string): COCO {
    if (r.n === 0) throw new CocoEvalError('INVALID_DATA', `${source}: the results list is empty; pycocotools cannot evaluate it either (IndexError in loadRes). Write at least one detection.`, { source });
    const area = new Float64Array(new SharedArrayBuffer(8 * r.n)); // shared, as the columns
    for (let i = 0; i < r.n; i++) {
      if (!this.imgs.has(r.imageId[i])) throw dataError(source, ['results', i], 'image_id', `an image id of ${this.source}`, r.imageId[i]);
      area[i] = r.bbox[4 * i + 2] * r.bbox[4 * i + 3];
    }
    const res = new COCO(undefined, source);
    res.results = { n: r.n, imageId: r.imageId, categoryId: r.categoryId, bbox: r.bbox, score: r.score, area };
    res.dataset = {
      info: this.dataset.info ?? {},
      images: this.dataset.images.slice(),
      categories: this.dataset.categories.map((c) => ({ ...c })),
      annotations: [],
    };
    res.createIndex();
    return res;
  }

  /**
   * annToRLE (coco.py:421-440): polygons / uncompressed RLE / RLE to an RLE in the image's size.
   * A box result without `segmentation` is rasterised as its box polygon, as loadRes would have made it.
   */
  annToRLE(ann: CocoAnnotation): RleData {
    const img = this.imgs.get(ann.image_id);
    if (img === undefined) throw dataError(this.source, `annotation id ${ann.id}`, 'image_id', 'an image id of the dataset', ann.image_id);
    const h = imageSize(this.source, img, 'height'), w = imageSize(this.source, img, 'width');
    if (ann.segmentation === undefined && Array.isArray(ann.bbox)) return rleFrBbox(ann.bbox, h, w);
    let rle: RleData;
    try {
      rle = segmentationToRle(ann.segmentation!, h, w);
    } catch (error) {
      if (error instanceof CocoEvalError) throw new CocoEvalError(error.code, `${this.source}: annotation id ${ann.id}: ${error.message}`, { source: this.source }, { cause: error });
      throw error;
    }
    // DEVIATION (pycocotools): runs summing past height*width (counts wrap as uint32 there) are refused
    let sum = 0;
    for (let j = 0; j < rle.cnts.length; j++) sum += rle.cnts[j];
    if (sum > rle.h * rle.w) {
      throw dataError(this.source, `annotation id ${ann.id}`, 'segmentation.counts', `runs summing to at most height*width = ${rle.h * rle.w}`, sum);
    }
    return rle;
  }
}
function imageSize(source: string, img: CocoImage, field: 'height' | 'width'): number {
  const v = img[field];
  if (!isFiniteNumber(v) || !Number.isInteger(v) || v < 0) {
    throw dataError(source, `image id ${img.id}`, field, 'a non-negative integer (needed to rasterise polygons)', v);
  }
  return v;
}
