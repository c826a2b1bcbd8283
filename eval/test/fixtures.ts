// Reading the COCO-eval fixture cases (test/fixtures/coco-eval/<case>/{gt,dt,meta,expected}.json).
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CocoDataset, CocoResult } from '../types.js';

/** The package's folder (the nearest package.json above this file, from test/ or dist/test/). */
export function packageDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) dir = dirname(dir);
  return dir;
}

export const FIXTURE_DIR = join(packageDir(), 'test', 'fixtures', 'coco-eval');

export interface Checksums {
  precision_shape: number[];
  precision_count_minus1: number;
  precision_count_valid: number;
  precision_sum_valid: number;
  precision_mean_valid: number;
  precision_count_zero: number;
  precision_mean_TR_per_KAM: number[][][];
  precision_t0_all_lastM_per_K: number[][];
  recall_shape: number[];
  recall: number[][][][];
  scores_sum_valid: number;
}

export interface Expected {
  stats: number[] | null;
  summary_lines: string[];
  loadRes_error: string | null;
  stats_after_dropping_unknown_images?: number[];
  params: { imgIds: number[]; catIds: number[]; iouThrs: number[]; recThrs: number[]; maxDets: number[]; useCats: number };
  counts?: number[];
  checksums?: Checksums;
}

export interface Meta {
  name: string;
  params: Record<string, unknown>;
  iouType?: 'bbox' | 'segm' | 'keypoints';
  expect_error: string | null;
  checksums: boolean;
}

export interface FixtureCase {
  name: string;
  dir: string;
  gt: CocoDataset;
  dt: CocoResult[];
  meta: Meta;
  expected: Expected;
}

const readJson = (path: string): unknown => JSON.parse(readFileSync(path, 'utf8'));

/** Every case directory under `root` (the shared cases and our generated ones). */
export function loadCases(root = FIXTURE_DIR): FixtureCase[] {
  return readdirSync(root, { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort()
    .flatMap((name) => {
      const dir = join(root, name);
      const files = readdirSync(dir);
      if (!files.includes('expected.json')) return [];
      return [{
        name, dir,
        gt: readJson(join(dir, 'gt.json')) as CocoDataset,
        dt: readJson(join(dir, 'dt.json')) as CocoResult[],
        meta: readJson(join(dir, 'meta.json')) as Meta,
        expected: readJson(join(dir, 'expected.json')) as Expected,
      }];
    });
}
