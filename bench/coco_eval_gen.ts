// Generates a val2017-sized COCO bbox case: 5,000 images, 80 categories (COCO's non-contiguous ids
// 1..90), ~35k GT (about 1% crowd, COCO-like small/medium/large mix) and 100 detections per image
// (500k): jittered hits of the GT, duplicates, class confusions and low-score background boxes.
// Deterministic (seeded). Usage: node dist/bench/coco_eval_gen.js [outDir] [--images N] [--dets-per-image N]
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createPrng } from '../core/prng.js';

export interface GenOptions {
  images: number;
  detsPerImage: number;
  seed: number;
}

export const DEFAULT_GEN: GenOptions = { images: 5000, detsPerImage: 100, seed: 2017 };

// COCO's 80 category ids (the 90-id space with 10 gaps).
const COCO_CAT_IDS = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 27, 28, 31, 32,
  33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 46, 47, 48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 58, 59, 60, 61, 62, 63,
  64, 65, 67, 70, 72, 73, 74, 75, 76, 77, 78, 79, 80, 81, 82, 84, 85, 86, 87, 88, 89, 90];

const r2 = (x: number): number => Math.round(x * 100) / 100;

/** Writes gt.json and dt.json into outDir; returns their paths and counts. */
export function generateCocoCase(outDir: string, o: GenOptions = DEFAULT_GEN) {
  const rng = createPrng(o.seed);
  const W = 640, H = 480;
  const images: string[] = [];
  const anns: string[] = [];
  const dts: string[] = [];
  // category popularity: a few frequent classes (person-like), a long tail
  const weights = COCO_CAT_IDS.map((_, k) => 1 / (1 + k) ** 0.9);
  const wsum = weights.reduce((a, b) => a + b, 0);
  const pickCat = (): number => {
    let u = rng.next() * wsum;
    for (let k = 0; k < weights.length; k++) { u -= weights[k]; if (u <= 0) return COCO_CAT_IDS[k]; }
    return COCO_CAT_IDS[COCO_CAT_IDS.length - 1];
  };
  const box = () => {
    // log-uniform sides between 4 and 400 px: roughly COCO's small/medium/large split
    const w = Math.exp(rng.uniform(Math.log(4), Math.log(400)));
    const h = w * Math.exp(rng.uniform(-0.7, 0.7));
    const bw = Math.min(w, W - 1), bh = Math.min(h, H - 1);
    return [r2(rng.uniform(0, W - bw)), r2(rng.uniform(0, H - bh)), r2(bw), r2(bh)];
  };
  let annId = 1;
  for (let img = 1; img <= o.images; img++) {
    images.push(JSON.stringify({ id: img, width: W, height: H, file_name: `${String(img).padStart(12, '0')}.jpg` }));
    const nGt = Math.max(0, Math.round(7 + 5 * rng.normal()));
    const imgDts: string[] = [];
    const gtCats: number[] = [];
    for (let j = 0; j < nGt; j++) {
      const cat = pickCat();
      const b = box();
      const crowd = rng.next() < 0.01 ? 1 : 0;
      gtCats.push(cat);
      anns.push(JSON.stringify({ id: annId++, image_id: img, category_id: cat, bbox: b, area: r2(b[2] * b[3] * rng.uniform(0.5, 0.9)), iscrowd: crowd, segmentation: [] }));
      // 0-4 detections around each GT: a good one, looser duplicates, sometimes the wrong class
      const hits = rng.int(5);
      for (let h = 0; h < hits && imgDts.length < o.detsPerImage; h++) {
        const s = h === 0 ? 0.05 : 0.25;
        const d = [r2(b[0] + s * b[2] * rng.normal()), r2(b[1] + s * b[3] * rng.normal()), r2(b[2] * (1 + s * rng.normal())), r2(b[3] * (1 + s * rng.normal()))];
        const c = rng.next() < 0.1 ? pickCat() : cat;
        imgDts.push(JSON.stringify({ image_id: img, category_id: c, bbox: d, score: Math.round(rng.uniform(h === 0 ? 0.3 : 0.05, 1) * 1e5) / 1e5 }));
      }
    }
    // fill up to detsPerImage with background boxes, mostly of the classes present
    while (imgDts.length < o.detsPerImage) {
      const c = gtCats.length > 0 && rng.next() < 0.6 ? gtCats[rng.int(gtCats.length)] : pickCat();
      imgDts.push(JSON.stringify({ image_id: img, category_id: c, bbox: box(), score: Math.round(rng.uniform(0, 0.4) * 1e5) / 1e5 }));
    }
    dts.push(...imgDts);
  }
  const cats = COCO_CAT_IDS.map((id) => JSON.stringify({ id, name: `class_${id}`, supercategory: 'thing' }));
  mkdirSync(outDir, { recursive: true });
  const gtPath = join(outDir, 'gt.json');
  const dtPath = join(outDir, 'dt.json');
  writeFileSync(gtPath, `{"info":{"description":"synthetic val2017-sized case"},"licenses":[],"images":[${images.join(',')}],"annotations":[${anns.join(',')}],"categories":[${cats.join(',')}]}`);
  writeFileSync(dtPath, `[${dts.join(',\n')}]`);
  return { gtPath, dtPath, images: o.images, gt: anns.length, dt: dts.length };
}

export function main(argv = process.argv.slice(2)): void {
  const outDir = argv.find((a, i) => !a.startsWith('--') && !(argv[i - 1] ?? '').startsWith('--')) ?? join('.bench-data', 'coco_eval');
  const opt = (name: string, def: number) => {
    const i = argv.indexOf(name);
    return i >= 0 ? Number(argv[i + 1]) : def;
  };
  const r = generateCocoCase(outDir, { ...DEFAULT_GEN, images: opt('--images', DEFAULT_GEN.images), detsPerImage: opt('--dets-per-image', DEFAULT_GEN.detsPerImage) });
  console.log(`wrote ${r.gtPath} (${r.images} images, ${r.gt} GT) and ${r.dtPath} (${r.dt} detections)`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) main();
