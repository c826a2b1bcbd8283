// Whole-file writes that a reader (or a crash) never sees half done: the bytes go to a private temp file
// beside the target, which is then renamed over it (rename is atomic within a file system). On failure the
// temp file is removed and the error rethrown; the target keeps its old content or stays absent.
import { randomBytes } from 'node:crypto';
import { rename, rm, writeFile } from 'node:fs/promises';

export async function writeFileAtomic(path: string, data: Uint8Array | string): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    await writeFile(tmp, data);
    await rename(tmp, path);
  } catch (error) {
    await rm(tmp, { force: true }).catch(() => undefined);
    throw error;
  }
}
