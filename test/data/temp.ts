// Temporary directories for data tests, removed when the test process exits (wherever they were created:
// node:test's after() registered inside a before() hook would run as soon as that hook ends).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const created: string[] = [];
process.once('exit', () => {
  for (const dir of created) rmSync(dir, { recursive: true, force: true });
});

/** A fresh directory under the OS temp dir, deleted when the process exits. */
export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), `nasnet-${prefix}-`));
  created.push(dir);
  return dir;
}
