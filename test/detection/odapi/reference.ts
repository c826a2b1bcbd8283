// The OD API replica's reference tensors (test/fixtures/odapi-frcnn-nas/reference, manifest.json) and the
// closeness measure the tests use: max |ours - theirs| over max |theirs| (relative to the tensor's scale).
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { packageRoot } from '../../../core/paths.js';

export const ODAPI_DIR = join(packageRoot(), 'test', 'fixtures', 'odapi-frcnn-nas');

interface ManifestEntry {
  readonly dtype: 'float32' | 'int32' | 'uint8';
  readonly shape: number[];
  readonly file: string;
}

export interface RefArray {
  readonly shape: number[];
  readonly data: Float32Array | Int32Array | Uint8Array;
}

export async function loadReference(): Promise<Map<string, RefArray>> {
  const dir = join(ODAPI_DIR, 'reference');
  const manifest = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')) as { arrays: Record<string, ManifestEntry> };
  const out = new Map<string, RefArray>();
  for (const [name, e] of Object.entries(manifest.arrays)) {
    const bytes = await readFile(join(dir, e.file));
    const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
    const data = e.dtype === 'float32' ? new Float32Array(buffer) : e.dtype === 'int32' ? new Int32Array(buffer) : new Uint8Array(buffer);
    out.set(name, { shape: e.shape, data });
  }
  return out;
}

/** max |a - b| / max |b|. */
export function relativeError(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  if (actual.length !== expected.length) throw new Error(`length ${actual.length} vs ${expected.length}`);
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < expected.length; i++) {
    diff = Math.max(diff, Math.abs(actual[i]! - expected[i]!));
    scale = Math.max(scale, Math.abs(expected[i]!));
  }
  return diff / (scale || 1);
}

/** Detections against det_*: count, classes in order, boxes in original pixels (600 x 512), scores. */
export function assertDetectionsMatch(d: { boxes: Float32Array; scores: Float32Array; classes: Int32Array }, ref: Map<string, RefArray>): void {
  const n = (ref.get('det_num_detections')!.data as Float32Array)[0]!;
  assert.equal(d.scores.length, n);
  const classes = ref.get('det_detection_classes')!.data as Float32Array;
  const scores = ref.get('det_detection_scores')!.data as Float32Array;
  const boxes = ref.get('det_detection_boxes')!.data as Float32Array;
  let boxError = 0;
  let scoreError = 0;
  for (let i = 0; i < n; i++) {
    assert.equal(d.classes[i], classes[i], `detection ${i} class`);
    scoreError = Math.max(scoreError, Math.abs(d.scores[i]! - scores[i]!));
    for (let j = 0; j < 4; j++) boxError = Math.max(boxError, Math.abs(d.boxes[4 * i + j]! - boxes[4 * i + j]!) * (j % 2 === 0 ? 600 : 512));
  }
  console.log(`detections: ${n}, max box error ${boxError} px, max score error ${scoreError}`);
  assert.ok(boxError <= 0.5, `box error ${boxError} px`);
  assert.ok(scoreError <= 1e-4, `score error ${scoreError}`);
}
