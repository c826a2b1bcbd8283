// Classification data behind one interface, whatever the storage: an image folder (decoded and resized by
// image_io on libuv's thread pool) or CIFAR-10 batches held in memory. `openClassificationData` picks the
// reader from what a directory holds, which is what `nasnet train --task classification --data DIR` needs.
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { fitRgb, type DecodeOptions } from '../core/image_io.js';
import type { RgbImage } from '../core/resize.js';
import { NasnetError } from '../core/errors.js';
import { loadImageFolder, type ImageFolderDataset } from './image_folder.js';
import { cifar10Image, isCifar10Dir, loadCifar10, type Cifar10Split } from './cifar10.js';
import { resizeBilinear } from './augment.js';
import { createPrng } from '../core/prng.js';

export interface ClassificationSource {
  /** Where the samples come from (a path), for logs and errors. */
  readonly origin: string;
  readonly count: number;
  readonly classes: readonly string[];
  label(index: number): number;
  /** Sample `index` stretched to side x side (unchanged when it already has that size). */
  load(index: number, side: number): Promise<RgbImage>;
}

function checkIndex(origin: string, index: number, count: number): void {
  if (!Number.isInteger(index) || index < 0 || index >= count) {
    throw new NasnetError('INVALID_ARGUMENT', `${origin}: sample index must be an integer in [0, ${count - 1}]; received ${index}`, { field: 'index' });
  }
}

export function imageFolderSource(dataset: ImageFolderDataset, decode: DecodeOptions = {}): ClassificationSource {
  const { records } = dataset;
  return {
    origin: dataset.root,
    count: records.length,
    classes: dataset.classes,
    label(index) {
      checkIndex(dataset.root, index, records.length);
      return records[index]!.label;
    },
    async load(index, side) {
      checkIndex(dataset.root, index, records.length);
      const { path } = records[index]!;
      let bytes: Buffer;
      try {
        bytes = await readFile(path);
      } catch (error) {
        throw new NasnetError('IO_ERROR', `cannot read image ${path}: ${(error as Error).message}`, { path });
      }
      try {
        return (await fitRgb(bytes, { ...decode, width: side, height: side, mode: 'stretch', kernel: 'linear' })).image;
      } catch (error) {
        if (error instanceof NasnetError) throw new NasnetError(error.code, `${path}: ${error.message}`, { ...error.details, path }, { cause: error });
        throw error;
      }
    },
  };
}

export function cifar10Source(split: Cifar10Split, origin: string): ClassificationSource {
  return {
    origin,
    count: split.count,
    classes: split.classes,
    label(index) {
      checkIndex(origin, index, split.count);
      return split.labels[index]!;
    },
    async load(index, side) {
      checkIndex(origin, index, split.count);
      return resizeBilinear(cifar10Image(split, index), side, side);
    },
  };
}

/**
 * Opens split 'train' or 'val' of a classification dataset at `root`: CIFAR-10 binary batches (val = the
 * test batch), or an image folder at root/<split>/<class>/. Pass the training classes when opening 'val'
 * so that labels agree (a mismatch is INVALID_DATA).
 */
export async function openClassificationData(root: string, split: 'train' | 'val', classes?: readonly string[]): Promise<ClassificationSource> {
  if (await isCifar10Dir(root)) {
    const data = await loadCifar10(root, split === 'train' ? 'train' : 'test');
    if (classes !== undefined && classes.join('\n') !== data.classes.join('\n')) {
      throw new NasnetError('INVALID_DATA', `${root}: CIFAR-10 classes ${data.classes.join(', ')} differ from the expected ${classes.join(', ')}`, { path: root });
    }
    return cifar10Source(data, root);
  }
  const folder = join(root, split);
  const isDir = await stat(folder).then((s) => s.isDirectory(), () => false);
  if (!isDir) {
    throw new NasnetError(
      'IO_ERROR',
      `${root}: no classification data found; expected ${folder}/<class>/<images> or CIFAR-10 binary batches (batches.meta.txt, data_batch_1.bin, ...)`,
      { path: root },
    );
  }
  return imageFolderSource(await loadImageFolder(folder, classes === undefined ? {} : { classes }));
}

/**
 * Splits a source into a training part and `count` held-out samples: the last `count` of a permutation
 * seeded by `seed` alone (never by a model seed), so every run over the same data holds out the same
 * samples. For a validation split held out of the training set (PAPER §4: 5,000 of CIFAR-10's 50,000).
 */
export function holdOutSplit(source: ClassificationSource, count: number, seed = 0): { train: ClassificationSource; heldOut: ClassificationSource } {
  if (!Number.isInteger(count) || count < 1 || count >= source.count) {
    throw new NasnetError('INVALID_CONFIG', `holdOutSplit: the held-out count must be an integer in [1, ${source.count - 1}] for ${source.origin}; received ${count}`, { field: 'holdOut' });
  }
  const order = createPrng(seed).shuffle(Array.from({ length: source.count }, (_, i) => i));
  const view = (indices: number[], part: string): ClassificationSource => ({
    origin: `${source.origin} (${part})`,
    count: indices.length,
    classes: source.classes,
    label(index) {
      checkIndex(source.origin, index, indices.length);
      return source.label(indices[index]!);
    },
    load(index, side) {
      checkIndex(source.origin, index, indices.length);
      return source.load(indices[index]!, side);
    },
  });
  return { train: view(order.slice(0, source.count - count), 'train part'), heldOut: view(order.slice(source.count - count), 'held out') };
}
