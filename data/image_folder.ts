// An image-folder classification dataset: root/<class>/<image>, one sub-folder per class (the layout of
// torchvision's ImageFolder and Keras' image_dataset_from_directory). Classes are the sub-folder names in
// sorted order, label = index; files are listed in sorted order, so the record list is reproducible.
// Hidden entries (".name") are skipped, and so are files whose extension is not an image format.
import { readdir, stat } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { NasnetError } from '../core/errors.js';

export const IMAGE_FILE_EXTENSIONS: readonly string[] = ['.jpg', '.jpeg', '.png', '.webp', '.gif', '.tif', '.tiff', '.avif'];

export interface ImageFolderRecord {
  readonly path: string;
  readonly label: number;
}

export interface ImageFolderDataset {
  readonly root: string;
  readonly classes: readonly string[];
  readonly records: readonly ImageFolderRecord[];
}

export interface ImageFolderOptions {
  /**
   * The expected class list in label order (e.g. the training set's, when loading validation data).
   * Every name must be a sub-folder, and no other sub-folder may exist.
   */
  readonly classes?: readonly string[];
}

async function listDirectory(path: string, what: string): Promise<{ name: string; isDirectory: boolean; isFile: boolean }[]> {
  try {
    const entries = (await readdir(path, { withFileTypes: true })).filter((e) => !e.name.startsWith('.'));
    const listed = await Promise.all(entries.map(async (e) => {
      // Symbolic links count as what they point to.
      const target = e.isSymbolicLink() ? await stat(join(path, e.name)) : e;
      return { name: e.name, isDirectory: target.isDirectory(), isFile: target.isFile() };
    }));
    return listed.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  } catch (error) {
    throw new NasnetError('IO_ERROR', `cannot list ${what} ${path}: ${(error as Error).message}`, { path });
  }
}

export async function loadImageFolder(root: string, options: ImageFolderOptions = {}): Promise<ImageFolderDataset> {
  const found = (await listDirectory(root, 'image folder')).filter((e) => e.isDirectory).map((e) => e.name);
  if (found.length === 0) {
    throw new NasnetError('INVALID_DATA', `image folder ${root} has no class sub-folders; expected ${root}/<class>/<image files>`, { path: root });
  }
  const classes = options.classes ?? found;
  const missing = classes.filter((c) => !found.includes(c));
  const extra = found.filter((c) => !classes.includes(c));
  if (missing.length > 0 || extra.length > 0) {
    const parts = [missing.length > 0 ? `missing ${missing.join(', ')}` : '', extra.length > 0 ? `unexpected ${extra.join(', ')}` : ''];
    throw new NasnetError('INVALID_DATA', `image folder ${root}: class sub-folders must be exactly ${classes.join(', ')}; ${parts.filter(Boolean).join('; ')}`, {
      path: root, missing, extra,
    });
  }
  const records: ImageFolderRecord[] = [];
  for (const [label, name] of classes.entries()) {
    const dir = join(root, name);
    const files = (await listDirectory(dir, 'class folder'))
      .filter((e) => e.isFile && IMAGE_FILE_EXTENSIONS.includes(extname(e.name).toLowerCase()));
    if (files.length === 0) {
      throw new NasnetError('INVALID_DATA', `class folder ${dir} holds no image files (${IMAGE_FILE_EXTENSIONS.join(', ')})`, { path: dir });
    }
    for (const file of files) records.push({ path: join(dir, file.name), label });
  }
  return { root, classes, records };
}
