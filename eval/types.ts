// COCO JSON records as read from disk (cocodataset.org #format-data and #format-results).
// Boxes are COCO [x, y, width, height] in pixels; ids are numbers.

/** A run-length encoding: column-major counts starting with a run of zeros. */
export interface Rle {
  size: [number, number];
  /** Compressed string (LEB128-like, maskApi.c rleToString) or uncompressed counts. */
  counts: string | number[];
}

/** A polygon list, or an RLE (compressed or not). */
export type Segmentation = number[][] | Rle;

export interface CocoImage {
  id: number;
  width?: number;
  height?: number;
  file_name?: string;
  [key: string]: unknown;
}

export interface CocoCategory {
  id: number;
  name?: string;
  supercategory?: string;
  [key: string]: unknown;
}

export interface CocoAnnotation {
  id: number;
  image_id: number;
  category_id: number;
  bbox?: number[];
  area?: number;
  iscrowd?: number | boolean;
  segmentation?: Segmentation;
  keypoints?: number[];
  num_keypoints?: number;
  score?: number;
  ignore?: unknown;
  [key: string]: unknown;
}

/** One detection as written to a results file; loadRes adds id, area, iscrowd (and bbox or segmentation). */
export interface CocoResult {
  image_id: number;
  category_id: number;
  score: number;
  bbox?: number[];
  segmentation?: Segmentation;
  keypoints?: number[];
  [key: string]: unknown;
}

export interface CocoDataset {
  info?: unknown;
  licenses?: unknown;
  images: CocoImage[];
  annotations: CocoAnnotation[];
  categories: CocoCategory[];
  [key: string]: unknown;
}

export type IouType = 'bbox' | 'segm' | 'keypoints';

export const IOU_TYPES: readonly IouType[] = ['bbox', 'segm', 'keypoints'];
