// What the synthetic-set generators share when writing: image encoding (through image_io, the sharp
// module), directory creation with typed errors, and a bounded-concurrency loop that overlaps rendering
// on the main thread with encoding and writing on libuv's thread pool.
import { mkdir, writeFile } from 'node:fs/promises';
import type { RgbImage } from '../core/resize.js';
import { encodeJpeg, encodePng } from '../core/image_io.js';
import { NasnetError } from '../core/errors.js';

export const IMAGE_FILE_FORMATS = ['png', 'jpeg'] as const;
export type ImageFileFormat = (typeof IMAGE_FILE_FORMATS)[number];

export interface ImageFileOptions {
  readonly format: ImageFileFormat;
  /** JPEG quality 1..100 (ignored for PNG). */
  readonly quality: number;
}

export const DEFAULT_IMAGE_FILE_OPTIONS: ImageFileOptions = { format: 'png', quality: 92 };

export function imageExtension(format: ImageFileFormat): string {
  return format === 'png' ? '.png' : '.jpg';
}

export function encodeImageFile(image: RgbImage, options: ImageFileOptions): Promise<Buffer> {
  return options.format === 'png' ? encodePng(image) : encodeJpeg(image, { quality: options.quality });
}

export async function makeDirectory(path: string): Promise<void> {
  try {
    await mkdir(path, { recursive: true });
  } catch (error) {
    throw new NasnetError('IO_ERROR', `cannot create directory ${path}: ${(error as Error).message}`, { path });
  }
}

export async function writeFileChecked(path: string, data: string | Uint8Array): Promise<void> {
  try {
    await writeFile(path, data);
  } catch (error) {
    throw new NasnetError('IO_ERROR', `cannot write ${path}: ${(error as Error).message}`, { path });
  }
}

/**
 * Runs task(0..count-1) with at most `concurrency` in flight and returns the results in index order.
 * Tasks start in index order; the first failure is thrown after the tasks in flight have settled.
 */
export async function runLimited<T>(count: number, concurrency: number, task: (index: number) => Promise<T>): Promise<T[]> {
  const results = new Array<T>(count);
  let next = 0;
  let failure: { error: unknown } | undefined;
  const worker = async (): Promise<void> => {
    while (next < count && failure === undefined) {
      const index = next++;
      try {
        results[index] = await task(index);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, count)) }, worker));
  if (failure !== undefined) throw failure.error;
  return results;
}
