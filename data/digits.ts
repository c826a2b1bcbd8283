// The UCI handwritten digits (1,797 8 x 8 images, 10 classes; scikit-learn's copy, data/digits/README.md has
// the attribution) written as an image folder, the small real proxy task of the architecture search:
//   DIR/train/<digit>/NNNN.png   1,197 images: what children train on
//   DIR/val/<digit>/NNNN.png       300 images held out of the training set: the search's reward
//   DIR/test/<digit>/NNNN.png      300 images the search never sees (for the final comparison)
// The split is a seeded shuffle (seed 0 by default), so the same seed writes the same files. Pixels 0..16
// are scaled to 0..255 (x 255/16, rounded) and written as grey RGB PNGs; the loaders stretch them to the
// network's input side.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { NasnetError } from '../core/errors.js';
import { dataPath } from '../core/paths.js';
import { createPrng } from '../core/prng.js';
import { encodeImageFile, makeDirectory, runLimited, writeFileChecked } from './dataset_writer.js';

export const DIGITS_CSV = dataPath('digits', 'digits.csv.gz');
export const DIGITS_SPLIT = { val: 300, test: 300 } as const;

export interface DigitsSample {
  /** 64 values 0..16, row by row. */
  readonly pixels: Uint8Array;
  readonly label: number;
}

/** Parses digits.csv.gz (64 pixel values then the label, one image a line). */
export async function loadDigits(path = DIGITS_CSV): Promise<DigitsSample[]> {
  const bytes = await readFile(path).catch((error: Error) => {
    throw new NasnetError('IO_ERROR', `loadDigits: cannot read ${path}: ${error.message}`, { path });
  });
  const lines = gunzipSync(bytes).toString('utf8').split('\n').filter((l) => l.trim() !== '');
  return lines.map((line, i) => {
    const values = line.split(',').map(Number);
    if (values.length !== 65 || values.some((v) => !Number.isInteger(v) || v < 0 || v > 16) || values[64]! > 9) {
      throw new NasnetError('INVALID_DATA', `loadDigits: ${path} line ${i + 1} is not 64 pixels 0..16 and a label 0..9`, { path, line: i + 1 });
    }
    return { pixels: Uint8Array.from(values.slice(0, 64)), label: values[64]! };
  });
}

export interface DigitsSummary {
  readonly images: { readonly train: number; readonly val: number; readonly test: number };
  readonly seconds: number;
}

/** Writes the image folder (file comment) to `outDir`. */
export async function writeDigitsFolder(outDir: string, seed = 0): Promise<DigitsSummary> {
  const started = performance.now();
  const samples = await loadDigits();
  const order = createPrng(seed).shuffle(samples.map((_, i) => i));
  const split = (position: number): 'val' | 'test' | 'train' => (position < DIGITS_SPLIT.val ? 'val' : position < DIGITS_SPLIT.val + DIGITS_SPLIT.test ? 'test' : 'train');
  for (const part of ['train', 'val', 'test']) for (let d = 0; d < 10; d++) await makeDirectory(join(outDir, part, String(d)));
  await runLimited(order.length, 8, async (position) => {
    const index = order[position]!;
    const { pixels, label } = samples[index]!;
    const data = new Uint8Array(64 * 3);
    for (let p = 0; p < 64; p++) data.fill(Math.round((pixels[p]! * 255) / 16), 3 * p, 3 * p + 3);
    const png = await encodeImageFile({ data, width: 8, height: 8 }, { format: 'png', quality: 92 });
    await writeFileChecked(join(outDir, split(position), String(label), `${String(index).padStart(4, '0')}.png`), png);
  });
  const val = DIGITS_SPLIT.val;
  const test = DIGITS_SPLIT.test;
  return { images: { train: samples.length - val - test, val, test }, seconds: (performance.now() - started) / 1000 };
}
