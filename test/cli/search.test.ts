import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EXIT } from '../../core/errors.js';
import { main } from '../../src/cli/search.js';
import { runCli } from '../helpers/cli.js';

test('nasnet search: usage errors name the flag and exit 2; a folder that is not a run exits 3', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'search-cli-'));
  try {
    const cases: [string[], number, RegExp][] = [
      [[], EXIT.USAGE, /^$/],
      [['--out', join(dir, 'r')], EXIT.USAGE, /--data is required/],
      [['--data', dir, '--out', join(dir, 'r'), '--strategy', 'bayes'], EXIT.USAGE, /--strategy must be one of ppo, random, evolution/],
      [['--data', dir, '--out', join(dir, 'r'), '--filters', '6'], EXIT.CONFIG, /filters \(F\) must be a multiple of 4/],
      [['--data', dir, '--out', join(dir, 'r'), '--image-size', '2'], EXIT.CONFIG, /proxy\.imageSize must be >= 4 \(the child's total stride\); received 2/],
      [['--data', dir, '--out', join(dir, 'r'), '--ppo-preset', 'huge'], EXIT.USAGE, /--ppo-preset must be paper or small/],
      [['status', dir], EXIT.IO, /is not a search run/],
      [['export', dir], EXIT.USAGE, /--out is required/],
    ];
    for (const [argv, code, message] of cases) {
      const result = await runCli(main, ...argv);
      assert.equal(result.code, code, `${argv.join(' ')}: ${result.stderr}`);
      assert.match(result.stderr, message, argv.join(' '));
    }
    const help = await runCli(main, '--help');
    assert.equal(help.code, EXIT.OK);
    assert.match(help.stdout, /nasnet search status RUN \[--json\]/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
