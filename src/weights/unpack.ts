// Unpacks a .tar.gz with node-tar, refusing anything that could write outside the target folder:
// absolute paths, ".." segments, links (symbolic or hard) and device entries. Only regular files and
// folders are extracted; any refused entry fails the whole unpack (the caller then discards the folder).
import { mkdir } from 'node:fs/promises';
import { posix } from 'node:path';
import { extract } from 'tar';

export interface UnpackResult {
  /** Extracted regular files, relative paths with "/" separators, in archive order. */
  readonly files: readonly string[];
}

/** Why an entry is refused, or undefined when it is a safe regular file or folder. */
export function unsafeEntryReason(path: string, type: string): string | undefined {
  if (type !== 'File' && type !== 'OldFile' && type !== 'Directory') return `entry type ${type} is not allowed`;
  if (path.startsWith('/') || /^[A-Za-z]:/.test(path)) return 'absolute path';
  if (posix.normalize(path).split('/').includes('..') || path.split(/[\\/]/).includes('..')) return 'path leaves the target folder';
  return undefined;
}

export async function unpackTarGz(archive: string, target: string): Promise<UnpackResult> {
  await mkdir(target, { recursive: true });
  const files: string[] = [];
  const refused: string[] = [];
  await extract({
    file: archive,
    cwd: target,
    strict: true,
    preservePaths: false,
    preserveOwner: false,
    filter: (path, entry) => {
      const type = 'type' in entry ? entry.type : 'File';
      const reason = unsafeEntryReason(path, type);
      if (reason !== undefined) {
        refused.push(`${path} (${reason})`);
        return false;
      }
      if (type !== 'Directory') files.push(path.replace(/^\.\//, ''));
      return true;
    },
  });
  if (refused.length > 0) throw new Error(`refused ${refused.length} archive entr${refused.length === 1 ? 'y' : 'ies'}: ${refused.slice(0, 3).join(', ')}`);
  return { files };
}
