// The package stands alone: `npm pack` gives a tarball that installs into an empty project with no
// other package, whose coco-eval bin and library entry reproduce a pycocotools fixture's stats bit for bit.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FIXTURE_DIR, loadCases, packageDir } from './fixtures.js';

const tmp = mkdtempSync(join(tmpdir(), 'pycocotools-js-pack-'));
const app = join(tmp, 'app');
after(() => rmSync(tmp, { recursive: true, force: true }));

/** npm with the environment of a user's shell: no npm_* settings inherited from an enclosing `npm test`. */
function npm(args: string[], cwd: string): string {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.toLowerCase().startsWith('npm_')));
  return execFileSync('npm', [...args, '--no-audit', '--no-fund', '--loglevel=error'], { cwd, env, encoding: 'utf8' });
}

before(() => {
  const [{ filename }] = JSON.parse(npm(['pack', '--json', '--pack-destination', tmp], packageDir())) as { filename: string }[];
  mkdirSync(app);
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }));
  npm(['install', '--ignore-scripts', join(tmp, filename)], app);
});

test('the tarball installs alone: no dependencies, nothing else in node_modules', () => {
  const installed = JSON.parse(readFileSync(join(app, 'node_modules', 'pycocotools-js', 'package.json'), 'utf8')) as { dependencies?: object };
  assert.equal(installed.dependencies, undefined);
  assert.deepEqual(readdirSync(join(app, 'node_modules')).filter((n) => !n.startsWith('.')), ['pycocotools-js']);
  const files = readdirSync(join(app, 'node_modules', 'pycocotools-js', 'dist'));
  assert.ok(files.includes('cli.js') && files.includes('index.d.ts'));
  assert.ok(!files.includes('test'), 'tests are not shipped');
});

test('installed coco-eval bin and library give the fixture stats bit for bit', () => {
  const fixture = loadCases().find((c) => c.name === 'case09_multicat_missing')!;
  const caseDir = join(FIXTURE_DIR, fixture.name);
  const out = join(tmp, 'stats.json');
  execFileSync(join(app, 'node_modules', '.bin', 'coco-eval'), [join(caseDir, 'gt.json'), join(caseDir, 'dt.json'), '--json', out], { cwd: app });
  assert.deepEqual((JSON.parse(readFileSync(out, 'utf8')) as { stats: number[] }).stats, fixture.expected.stats);

  const script = join(app, 'evaluate.mjs');
  writeFileSync(script, `import { readFileSync } from 'node:fs';
import { evaluateCoco } from 'pycocotools-js';
const read = (f) => JSON.parse(readFileSync(f, 'utf8'));
process.stdout.write(JSON.stringify(evaluateCoco(read(process.argv[2]), read(process.argv[3]), { iouType: 'bbox' }).stats));
`);
  const stats = JSON.parse(execFileSync(process.execPath, [script, join(caseDir, 'gt.json'), join(caseDir, 'dt.json')], { cwd: app, encoding: 'utf8' })) as number[];
  assert.deepEqual(stats, fixture.expected.stats);
});
