// The label tables shipped in data/ (see data/README.md), read once per process.
import { readFileSync } from 'node:fs';
import { dataPath } from '../../core/paths.js';

export interface ImagenetClass {
  readonly index: number;
  readonly wnid: string;
  /** First comma-separated synonym of the WordNet name, e.g. "tench". */
  readonly short: string;
}

export interface CocoCategory {
  readonly id: number;
  readonly name: string;
}

let imagenet: ImagenetClass[] | undefined;
let coco: { categories: CocoCategory[]; contiguous80ToId: number[] } | undefined;

/** The 1000 ImageNet classes in the Keras (background-free) order. */
export function imagenetClasses(): readonly ImagenetClass[] {
  imagenet ??= (JSON.parse(readFileSync(dataPath('labels', 'imagenet-classes.json'), 'utf8')) as { classes: ImagenetClass[] }).classes;
  return imagenet;
}

function cocoTable(): { categories: CocoCategory[]; contiguous80ToId: number[] } {
  coco ??= JSON.parse(readFileSync(dataPath('labels', 'coco-categories.json'), 'utf8')) as { categories: CocoCategory[]; contiguous80ToId: number[] };
  return coco;
}

/** The 80 COCO categories with their official ids (1..90), in contiguous index order. */
export function cocoCategoriesContiguous(): readonly CocoCategory[] {
  const table = cocoTable();
  const byId = new Map(table.categories.map((c) => [c.id, c]));
  return table.contiguous80ToId.map((id) => byId.get(id) as CocoCategory);
}
