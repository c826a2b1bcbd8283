// `nasnet train --genotype FILE` reads the cell for both tasks: a search export's best cell or a plain genotype
// (the classification path is exercised end to end in test/search/end_to_end.test.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EXIT } from '../../core/errors.js';
import { NASNET_A, genotypeToJson } from '../../cells/index.js';
import { readGenotypeFile } from '../../search/genotype_file.js';
import { EXPORT_FORMAT } from '../../search/report.js';
import { main as dataMain } from '../../src/cli/data.js';
import { main as trainMain } from '../../src/cli/train.js';
import { runCli } from '../helpers/cli.js';

test('--genotype: an export gives its best cell (or rank k), a plain genotype itself; a bad cell fails naming the field', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'genotype-file-'));
  try {
    const plain = join(dir, 'a.json');
    await writeFile(plain, genotypeToJson(NASNET_A));
    assert.deepEqual(await readGenotypeFile(plain), JSON.parse(genotypeToJson(NASNET_A)));
    const exported = join(dir, 'best.json');
    const second = { ...NASNET_A, name: 'second' };
    await writeFile(exported, JSON.stringify({ format: EXPORT_FORMAT, cells: [{ trial: 't00001', seed: 1, reward: 0.9, genotype: NASNET_A }, { trial: 't00002', seed: 2, reward: 0.8, genotype: second }] }));
    assert.equal((await readGenotypeFile(exported)).name, 'NASNet-A');
    assert.equal((await readGenotypeFile(exported, 1)).name, 'second');
    await assert.rejects(readGenotypeFile(join(dir, 'missing.json')), /cannot read --genotype/);

    // Detection reads it too: a broken cell stops `nasnet train --task detection` with exit 4 before training.
    const bad = join(dir, 'bad.json');
    await writeFile(bad, JSON.stringify({ ...JSON.parse(genotypeToJson(NASNET_A)), normal: { blocks: [], concat: [0] } }));
    const data = join(dir, 'shapes');
    assert.equal((await runCli(dataMain, 'shapes', '--out', data, '--train', '2', '--val', '1', '--size', '64')).code, 0);
    const result = await runCli(trainMain, '--task', 'detection', '--data', data, '--out', join(dir, 'det'), '--genotype', bad, '--epochs', '1', '--backend', 'cpu');
    assert.equal(result.code, EXIT.INVALID_INPUT, result.stderr);
    assert.match(result.stderr, /genotype\.normal\.blocks must be an array of 5 blocks/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
