// A smaller copy of an image-folder dataset (SPLIT/CLASS/file): the first N files of every class, in name
// order, for each split asked for. Quick proxies for the search (tests, smoke benches) are made this way.
import { copyFile, mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';

export async function copyFolderSubset(from: string, to: string, perClass: Readonly<Record<string, number>>): Promise<void> {
  for (const [split, count] of Object.entries(perClass)) {
    for (const label of (await readdir(join(from, split))).sort()) {
      await mkdir(join(to, split, label), { recursive: true });
      for (const name of (await readdir(join(from, split, label))).sort().slice(0, count)) await copyFile(join(from, split, label, name), join(to, split, label, name));
    }
  }
}
