// Segmentations in JSON form to RLEs: coco.py annToRLE and _mask.pyx frPyObjects.
import type { Rle, Segmentation } from './types.js';
import type { RleData } from './rle.js';
import { rleFrBbox, rleFrPoly, rleFrString, rleMerge, rleToString } from './rle.js';

function isRle(s: Segmentation): s is Rle {
  return !Array.isArray(s);
}

/**
 * annToRLE (coco.py:421-440): polygons are rasterised in an h x w image and merged into one RLE;
 * an uncompressed RLE is taken as is; a compressed one is decoded. As in frPyObjects, a list whose
 * first polygon has exactly 4 numbers is read as boxes [x, y, w, h].
 */
export function segmentationToRle(segm: Segmentation, h: number, w: number): RleData {
  if (isRle(segm)) {
    const [sh, sw] = segm.size;
    if (typeof segm.counts === 'string') return rleFrString(segm.counts, sh, sw);
    return { h: sh, w: sw, cnts: Uint32Array.from(segm.counts) };
  }
  const asBoxes = segm[0].length === 4;
  const parts = segm.map((p) => (asBoxes ? rleFrBbox(p, h, w) : rleFrPoly(p, h, w)));
  return rleMerge(parts, false);
}

/** An RLE in the compressed JSON form pycocotools writes ({size, counts: string}). */
export function rleToJson(R: RleData): Rle {
  return { size: [R.h, R.w], counts: rleToString(R) };
}
