// `nasnet data` in-process: both generators end to end, and the command-line failures a user meets.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { main } from '../../src/cli/data.js';
import { runCli } from '../helpers/cli.js';
import { EXIT } from '../../core/errors.js';
import { tempDir } from '../data/temp.js';

const run = (...argv: string[]) => runCli(main, ...argv);

describe('nasnet data', () => {
  test('shapes writes a COCO set of the requested size and format', async () => {
    const out = tempDir('cli-shapes');
    const result = await run('shapes', '--out', out, '--train', '3', '--val', '2', '--seed', '7', '--size', '96', '--format', 'jpeg');
    assert.equal(result.code, EXIT.OK, result.stderr);
    assert.match(result.stdout, /wrote 3 train \+ 2 val images/);
    assert.deepEqual(readdirSync(join(out, 'val')), ['000001.jpg', '000002.jpg']);
    const coco = JSON.parse(readFileSync(join(out, 'annotations', 'instances_val.json'), 'utf8'));
    assert.deepEqual(coco.images[0], { id: 1, file_name: '000001.jpg', width: 96, height: 96 });
  });

  test("shapes' defaults are the embedded default detector's domain (models/default/README.md's command)", async () => {
    const root = tempDir('cli-shapes-defaults');
    const defaults = await run('shapes', '--out', join(root, 'defaults'), '--train', '0', '--val', '3', '--seed', '5');
    const readme = await run('shapes', '--out', join(root, 'readme'), '--train', '0', '--val', '3', '--seed', '5',
      '--size', '256', '--min-object-size', '24', '--max-object-size', '96');
    assert.equal(defaults.code, EXIT.OK, defaults.stderr);
    assert.equal(readme.code, EXIT.OK, readme.stderr);
    const annotations = (dir: string): string => readFileSync(join(root, dir, 'annotations', 'instances_val.json'), 'utf8');
    assert.equal(JSON.parse(annotations('defaults')).images[0].width, 256);
    assert.equal(annotations('defaults'), annotations('readme'));
  });

  test('classes writes the image-folder layout', async () => {
    const out = tempDir('cli-classes');
    const result = await run('classes', '--out', out, '--train-per-class', '2', '--val-per-class', '1', '--size', '16');
    assert.equal(result.code, EXIT.OK, result.stderr);
    assert.equal(readdirSync(join(out, 'train')).length, 10);
    assert.deepEqual(readdirSync(join(out, 'val', 'star')), ['00001.png']);
  });

  test('bad command lines exit 2, bad generator settings exit 5, with one error line', async () => {
    const out = tempDir('cli-bad');
    const cases: [string[], number, RegExp][] = [
      [['shapes', '--out', out, '--val', '1'], EXIT.USAGE, /--train is required/],
      [['shapes', '--out', out, '--train', '2.5', '--val', '1'], EXIT.USAGE, /--train must be an integer/],
      [['shapes', '--out', out, '--train', '1', '--val', '1', '--format', 'gif'], EXIT.USAGE, /--format must be one of png, jpeg/],
      [['shapes', '--out', out, '--train', '1', '--val', '1', '--size', '64', '--max-object-size', '90'], EXIT.CONFIG, /maxObjectSize \(90\) must fit/],
      [['classes', '--out', out, '--train-per-class', '1', '--val-per-class', '1', '--colour', 'red'], EXIT.USAGE, /colour/],
      [['mnist'], EXIT.USAGE, /unknown dataset "mnist"/],
    ];
    for (const [argv, code, message] of cases) {
      const result = await run(...argv);
      assert.equal(result.code, code, argv.join(' '));
      assert.match(result.stderr, message);
    }
    assert.equal((await run('--help')).code, EXIT.OK);
  });
});
