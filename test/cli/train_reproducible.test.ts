// The default detection training command, run twice, ends with the same checkpoint: every initializer
// (backbone, RPN, box head) is seeded, model seed 0 included, which TensorFlow.js reads as "unseeded".
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { tempDir } from '../data/temp.js';

const run = promisify(execFile);
const NASNET = fileURLToPath(new URL('../../src/cli/nasnet.js', import.meta.url));
const root = tempDir('train-reproducible');
const nasnet = (...argv: string[]) => run(process.execPath, [NASNET, ...argv], { cwd: root });

before(async () => {
  await nasnet('data', 'shapes', '--out', 'data', '--train', '2', '--val', '1');
});

/** model.json without the wall-clock seconds of each epoch (the one thing that may differ), and the shards. */
function checkpointFiles(dir: string): Map<string, Buffer | unknown> {
  const files = new Map<string, Buffer | unknown>();
  for (const name of readdirSync(join(root, dir)).sort()) {
    const bytes = readFileSync(join(root, dir, name));
    if (name !== 'model.json') {
      files.set(name, bytes);
      continue;
    }
    const manifest = JSON.parse(bytes.toString('utf8')) as { extra: { state: { history: { seconds?: number }[] } } };
    for (const record of manifest.extra.state.history) delete record.seconds;
    files.set(name, manifest);
  }
  return files;
}

test('two runs of the default `nasnet train --task detection` write identical checkpoints', { timeout: 300_000 }, async () => {
  const argv = ['train', '--task', 'detection', '--data', 'data', '--epochs', '1', '--batch-size', '2'];
  await Promise.all([nasnet(...argv, '--out', 'a'), nasnet(...argv, '--out', 'b')]);
  const [a, b] = [checkpointFiles('a'), checkpointFiles('b')];
  assert.deepEqual([...a.keys()], [...b.keys()]);
  for (const [name, content] of a) {
    if (Buffer.isBuffer(content)) assert.ok(content.equals(b.get(name) as Buffer), `${name} differs`);
    else assert.deepEqual(content, b.get(name), name);
  }
});
