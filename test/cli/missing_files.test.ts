// Every verb's missing input file: exit 3 (IO_ERROR, "unreadable file" in the README's table) and one
// line on stderr naming the path, run as the installed command is (a child process). coco-eval's own
// cases are in test/eval/coco_eval_cli.test.ts.
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EXIT } from '../../core/errors.js';
import { generateShapesDataset, shapesConfigForSize } from '../../data/shapes.js';
import { tempDir } from '../data/temp.js';

const NASNET = fileURLToPath(new URL('../../src/cli/nasnet.js', import.meta.url));
const root = tempDir('cli-missing');
const missing = join(root, 'no-such-dir', 'missing');
const data = join(root, 'data');
const image = join(data, 'val', '000001.png');
const aFile = join(root, 'a-file');

before(async () => {
  await generateShapesDataset({ outDir: data, train: 1, val: 1, seed: 3, config: shapesConfigForSize(64, { maxObjects: 1, minObjectSize: 16, maxObjectSize: 40 }) });
  writeFileSync(aFile, 'not a directory');
});

function nasnet(argv: string[]): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [NASNET, ...argv], { env: { ...process.env, NASNET_BACKEND: 'cpu' } }, (error, _stdout, stderr) => {
      resolve({ code: error === null ? 0 : (error.code as number), stderr });
    });
  });
}

const out = (name: string): string => join(root, 'out', name);

// [argv, the path the message must name]
const CASES: [string[], string][] = [
  [['classify', `${missing}.jpg`, '--engine', 'tfjs'], `${missing}.jpg`],
  [['classify', image, '--weights', `${missing}.h5`, '--engine', 'tfjs'], `${missing}.h5`],
  [['classify', image, '--weights', missing, '--engine', 'tfjs'], missing],
  [['detect', `${missing}.jpg`, '--engine', 'tfjs'], `${missing}.jpg`],
  [['detect', image, '--weights', missing, '--engine', 'tfjs'], missing],
  [['detect', '--dataset', `${missing}.json`, '--images', data, '--out', out('r.json'), '--engine', 'tfjs'], `${missing}.json`],
  [['train', '--task', 'detection', '--data', missing, '--out', out('t1')], missing],
  [['train', '--task', 'classification', '--data', missing, '--out', out('t2')], missing],
  [['train', '--task', 'detection', '--data', data, '--out', out('t3'), '--backbone-weights', `${missing}.h5`], `${missing}.h5`],
  [['train', '--task', 'detection', '--data', data, '--out', out('t4'), '--config', `${missing}.json`], `${missing}.json`],
  [['convert', `${missing}.h5`, out('c1')], `${missing}.h5`],
  [['convert', missing, out('c2.h5')], missing],
  [['export', '--format', 'onnx', '--out', out('e1.onnx'), '--weights', `${missing}.h5`], `${missing}.h5`],
  [['export', '--format', 'onnx', '--out', out('e2.onnx'), '--weights', missing], missing],
  [['export', '--task', 'detection', '--format', 'onnx', '--out', out('e3'), '--weights', missing], missing],
  // data reads nothing: its unwritable output is the "unreadable file" of this verb
  [['data', 'shapes', '--out', join(aFile, 'x'), '--train', '1', '--val', '0'], join(aFile, 'x')],
  [['data', 'classes', '--out', join(aFile, 'x'), '--train-per-class', '1', '--val-per-class', '0'], join(aFile, 'x')],
];

test('a missing input file exits 3 with one error line naming it, for every verb', { timeout: 180_000 }, async () => {
  const pending = [...CASES];
  const failures: string[] = [];
  const worker = async (): Promise<void> => {
    for (let next = pending.shift(); next !== undefined; next = pending.shift()) {
      const [argv, path] = next;
      const { code, stderr } = await nasnet(argv);
      const lines = stderr.split('\n').filter((line) => line.trim() !== '');
      const ok = code === EXIT.IO && lines.length === 1 && lines[0]!.startsWith('error: ') && lines[0]!.includes(path);
      if (!ok) failures.push(`nasnet ${argv.join(' ')}: exit ${code}, stderr ${JSON.stringify(stderr)}`);
    }
  };
  await Promise.all([worker(), worker()]);
  assert.deepEqual(failures, []);
});
