// CIFAR-10 in its binary distribution (cifar-10-binary.tar.gz, https://www.cs.toronto.edu/~kriz/cifar.html):
// data_batch_1.bin .. data_batch_5.bin (train) and test_batch.bin (test), each a run of 3073-byte records,
// 1 label byte (0..9) then a 32x32 image as three 1024-byte planes R, G, B, each row-major; batches.meta.txt
// lists the class names, one a line. Images are returned interleaved ([N,32,32,3] order, 0..255 bytes).
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { RgbImage } from '../core/resize.js';
import { NasnetError } from '../core/errors.js';

export const CIFAR10_SIDE = 32;
const PLANE = CIFAR10_SIDE * CIFAR10_SIDE;
/** Bytes per record: the label, then the R, G and B planes. */
export const CIFAR10_RECORD_BYTES = 1 + 3 * PLANE;

export const CIFAR10_SPLITS = ['train', 'test'] as const;
export type Cifar10SplitName = (typeof CIFAR10_SPLITS)[number];

export const CIFAR10_FILES: Readonly<Record<Cifar10SplitName, readonly string[]>> = {
  train: [1, 2, 3, 4, 5].map((i) => `data_batch_${i}.bin`),
  test: ['test_batch.bin'],
};

export interface Cifar10Split {
  readonly classes: readonly string[];
  readonly count: number;
  readonly labels: Uint8Array;
  /** count x 32 x 32 x 3 bytes, interleaved RGB. */
  readonly images: Uint8Array;
}

/** Parses batches.meta.txt: one class name per line, blank lines ignored. */
export function parseCifar10Meta(text: string, file: string): string[] {
  const names = text.split(/\r?\n/).map((line) => line.trim()).filter((line) => line.length > 0);
  if (names.length < 2) {
    throw new NasnetError('INVALID_DATA', `${file}: expected one class name per line (10 for CIFAR-10); found ${names.length}`, { file });
  }
  return names;
}

/** Parses one batch file's bytes into labels and interleaved images; labels must be < numClasses. */
export function parseCifar10Batch(bytes: Uint8Array, file: string, numClasses: number): { labels: Uint8Array; images: Uint8Array } {
  if (bytes.length === 0 || bytes.length % CIFAR10_RECORD_BYTES !== 0) {
    throw new NasnetError(
      'INVALID_DATA',
      `${file}: size must be a positive multiple of ${CIFAR10_RECORD_BYTES} bytes (1 label + 3072 pixels a record); received ${bytes.length} bytes`,
      { file },
    );
  }
  const count = bytes.length / CIFAR10_RECORD_BYTES;
  const labels = new Uint8Array(count);
  const images = new Uint8Array(count * 3 * PLANE);
  for (let r = 0; r < count; r++) {
    const at = r * CIFAR10_RECORD_BYTES;
    const label = bytes[at]!;
    if (label >= numClasses) {
      throw new NasnetError('INVALID_DATA', `${file}: record ${r} (byte offset ${at}) has label ${label}; expected 0..${numClasses - 1}`, { file, record: r });
    }
    labels[r] = label;
    const out = r * 3 * PLANE;
    for (let p = 0; p < PLANE; p++) {
      images[out + 3 * p] = bytes[at + 1 + p]!;
      images[out + 3 * p + 1] = bytes[at + 1 + PLANE + p]!;
      images[out + 3 * p + 2] = bytes[at + 1 + 2 * PLANE + p]!;
    }
  }
  return { labels, images };
}

async function readBytes(path: string, what: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (error) {
    throw new NasnetError('IO_ERROR', `cannot read CIFAR-10 ${what} ${path}: ${(error as Error).message}`, { path });
  }
}

/** The folder holding the batch files: `dir` itself or its cifar-10-batches-bin/ (as the archive unpacks). */
export async function resolveCifar10Dir(dir: string): Promise<string> {
  const nested = join(dir, 'cifar-10-batches-bin');
  const isDir = await stat(nested).then((s) => s.isDirectory(), () => false);
  return isDir ? nested : dir;
}

/** True when `dir` (or its cifar-10-batches-bin/) holds CIFAR-10 binary batches. */
export async function isCifar10Dir(dir: string): Promise<boolean> {
  const root = await resolveCifar10Dir(dir);
  return stat(join(root, 'batches.meta.txt')).then((s) => s.isFile(), () => false);
}

export async function loadCifar10(dir: string, split: Cifar10SplitName): Promise<Cifar10Split> {
  if (!CIFAR10_SPLITS.includes(split)) {
    throw new NasnetError('INVALID_ARGUMENT', `loadCifar10: split must be one of ${CIFAR10_SPLITS.join(', ')}; received ${JSON.stringify(split)}`, { field: 'split' });
  }
  const root = await resolveCifar10Dir(dir);
  const metaFile = join(root, 'batches.meta.txt');
  const classes = parseCifar10Meta((await readBytes(metaFile, 'class list')).toString('utf8'), metaFile);
  const parts = [];
  for (const name of CIFAR10_FILES[split]) {
    const file = join(root, name);
    parts.push(parseCifar10Batch(await readBytes(file, 'batch'), file, classes.length));
  }
  const count = parts.reduce((n, p) => n + p.labels.length, 0);
  const labels = new Uint8Array(count);
  const images = new Uint8Array(count * 3 * PLANE);
  let offset = 0;
  for (const part of parts) {
    labels.set(part.labels, offset);
    images.set(part.images, offset * 3 * PLANE);
    offset += part.labels.length;
  }
  return { classes, count, labels, images };
}

/** Image `index` of a split, as a view (no copy). */
export function cifar10Image(split: Cifar10Split, index: number): RgbImage {
  if (!Number.isInteger(index) || index < 0 || index >= split.count) {
    throw new NasnetError('INVALID_ARGUMENT', `cifar10Image: index must be an integer in [0, ${split.count - 1}]; received ${index}`, { field: 'index' });
  }
  const size = 3 * PLANE;
  return { data: split.images.subarray(index * size, (index + 1) * size), width: CIFAR10_SIDE, height: CIFAR10_SIDE };
}
