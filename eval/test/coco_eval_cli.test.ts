// coco-eval CLI: the printed text, the flags that map to pycocotools params, the output files, and
// one clear message plus a documented exit code for each kind of bad input.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cli } from './cli_runner.js';
import { EXIT } from '../errors.js';
import { FIXTURE_DIR, loadCases } from './fixtures.js';

const tmp = mkdtempSync(join(tmpdir(), 'coco-eval-cli-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

const caseDir = (name: string) => join(FIXTURE_DIR, name);
const gtOf = (name: string) => join(caseDir(name), 'gt.json');
const dtOf = (name: string) => join(caseDir(name), 'dt.json');
const expectedOf = (name: string) => loadCases().find((c) => c.name === name)!.expected;

function writeTmp(name: string, content: unknown): string {
  const path = join(tmp, name);
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
  return path;
}

const GT = {
  images: [{ id: 1, width: 100, height: 100 }, { id: 2, width: 100, height: 100 }],
  categories: [{ id: 1, name: 'cat' }],
  annotations: [
    { id: 1, image_id: 1, category_id: 1, bbox: [10, 10, 20, 20], area: 400, iscrowd: 0 },
    { id: 2, image_id: 2, category_id: 1, bbox: [50, 50, 40, 40], area: 1600, iscrowd: 0 },
  ],
};
const DT = [
  { image_id: 1, category_id: 1, bbox: [10, 10, 20, 20], score: 0.9 },
  { image_id: 2, category_id: 1, bbox: [0, 0, 5, 5], score: 0.8 },
];

describe('coco-eval output', () => {
  test('prints the summary exactly as pycocotools (case09)', async () => {
    const r = await cli(gtOf('case09_multicat_missing'), dtOf('case09_multicat_missing'));
    assert.equal(r.code, EXIT.OK);
    assert.equal(r.out, `${expectedOf('case09_multicat_missing').summary_lines.join('\n')}\n`);
    assert.equal(r.err, '');
  });

  test('--no-cats, --iou-thrs and --max-dets reproduce the override fixtures', async () => {
    const runs: [string, string[]][] = [
      ['case13_usecats0', ['--no-cats']],
      ['case14_custom_iou', ['--iou-thrs', '0.3,0.5,0.75,0.9']],
      ['case15_custom_maxdets', ['--max-dets', '1,5,20']],
    ];
    for (const [name, flags] of runs) {
      const r = await cli(gtOf(name), dtOf(name), ...flags);
      assert.equal(r.code, EXIT.OK, r.err);
      assert.equal(r.out, `${expectedOf(name).summary_lines.join('\n')}\n`, name);
    }
  });

  test('--iou-type keypoints prints the 10 keypoint lines (gen03)', async () => {
    const r = await cli(gtOf('gen03_keypoints'), dtOf('gen03_keypoints'), '--iou-type', 'keypoints');
    assert.equal(r.code, EXIT.OK, r.err);
    assert.equal(r.out, `${expectedOf('gen03_keypoints').summary_lines.join('\n')}\n`);
  });

  test('--per-category adds a table with "-" for categories without GT', async () => {
    const r = await cli(gtOf('case09_multicat_missing'), dtOf('case09_multicat_missing'), '--per-category');
    const table = r.out.split('Per category (area=all, maxDets=100):\n')[1].trim().split('\n');
    assert.match(table[0], /^id {2}category +AP {3}AP50 {3}AP75 {2}AR100$/);
    assert.equal(table.length, 1 + 8);
    assert.match(table.find((l) => l.trimStart().startsWith('12 '))!, /cat12 +- +- +- +-$/);
  });

  test('--json writes stats, params and perCategory; per-category AP averages to stats[0]', async () => {
    const out = join(tmp, 'out.json');
    const r = await cli(gtOf('case03_absent_img_cat'), dtOf('case03_absent_img_cat'), '--json', out);
    assert.equal(r.code, EXIT.OK, r.err);
    const j = JSON.parse(readFileSync(out, 'utf8'));
    assert.deepEqual(j.stats, expectedOf('case03_absent_img_cat').stats);
    assert.deepEqual(Object.keys(j), ['stats', 'params', 'perCategory']);
    assert.deepEqual(j.params.maxDets, [1, 10, 100]);
    const valid = j.perCategory.filter((c: { ap: number }) => c.ap > -1);
    const mean = valid.reduce((s: number, c: { ap: number }) => s + c.ap, 0) / valid.length;
    assert.ok(Math.abs(mean - j.stats[0]) < 1e-12);
  });

  test('--plot writes a PNG', async () => {
    const out = join(tmp, 'pr.png');
    const r = await cli(gtOf('case01_perfect'), dtOf('case01_perfect'), '--plot', out);
    assert.equal(r.code, EXIT.OK, r.err);
    assert.deepEqual([...readFileSync(out).subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  });

  test('--help documents the flags and exit codes', async () => {
    const r = await cli('--help');
    assert.equal(r.code, EXIT.OK);
    for (const flag of ['--iou-type', '--img-ids', '--cat-ids', '--max-dets', '--iou-thrs', '--no-cats', '--per-category', '--json', '--plot', 'Exit codes']) {
      assert.ok(r.out.includes(flag), flag);
    }
  });
});

describe('coco-eval bad input', () => {
  const gt = writeTmp('gt.json', GT);
  const dt = writeTmp('dt.json', DT);

  const expectError = async (argv: string[], code: number, pattern: RegExp) => {
    const r = await cli(...argv);
    assert.equal(r.code, code, r.err);
    assert.equal(r.out, '');
    assert.match(r.err, pattern);
    assert.equal(r.err.trim().split('\n').length, 1, 'one line');
  };

  test('a valid pair evaluates', async () => {
    assert.equal((await cli(gt, dt)).code, EXIT.OK);
  });

  test('unreadable file -> exit 3 naming it', async () => {
    await expectError([join(tmp, 'missing.json'), dt], EXIT.IO, /missing\.json: cannot read the ground-truth file \(ENOENT\)/);
  });

  test('invalid JSON -> exit 4 with the line', async () => {
    const bad = writeTmp('bad.json', '[\n{"image_id": 1,\n "bbox": [1,2,3,4],, }]');
    await expectError([gt, bad], EXIT.INVALID_INPUT, /bad\.json: the results file is not valid JSON at line 3/);
  });

  test('missing field -> exit 4 naming file, record and field', async () => {
    const f = writeTmp('noscore.json', [DT[0], { image_id: 2, category_id: 1, bbox: [1, 2, 3, 4] }]);
    await expectError([gt, f], EXIT.INVALID_INPUT, /noscore\.json: results\[1\]\.score: expected a finite number; received nothing \(field missing\)/);
  });

  test('bbox not 4 finite numbers -> exit 4', async () => {
    const f = writeTmp('badbox.json', [DT[0], { ...DT[1], bbox: [1, 2, '3', 4] }]);
    await expectError([gt, f], EXIT.INVALID_INPUT, /badbox\.json: results\[1\]\.bbox: expected 4 finite numbers/);
    const g = writeTmp('badbox3.json', [{ ...DT[0], bbox: [1, 2, 3] }]);
    await expectError([gt, g], EXIT.INVALID_INPUT, /results\[0\]\.bbox/);
  });

  test('result for an image not in the GT -> exit 4 (pycocotools: AssertionError)', async () => {
    const f = writeTmp('unknownimg.json', [DT[0], { ...DT[1], image_id: 999 }]);
    await expectError([gt, f], EXIT.INVALID_INPUT, /unknownimg\.json: results\[1\]\.image_id: expected an image id of .*gt\.json; received 999/);
  });

  test('empty results -> exit 4 (pycocotools: IndexError); --allow-empty evaluates to zeros', async () => {
    const f = writeTmp('empty.json', []);
    await expectError([gt, f], EXIT.INVALID_INPUT, /empty\.json: the results list is empty/);
    const r = await cli(gt, f, '--allow-empty');
    assert.equal(r.code, EXIT.OK);
    assert.match(r.out, /maxDets=100 \] = 0\.000\n/);
  });

  test('results not an array -> exit 4', async () => {
    const f = writeTmp('obj.json', { results: DT });
    await expectError([gt, f], EXIT.INVALID_INPUT, /obj\.json: results: expected a JSON array/);
  });

  test('GT annotation without area / iscrowd, duplicate id, no images -> exit 4', async () => {
    const noArea = writeTmp('gt_noarea.json', { ...GT, annotations: [GT.annotations[0], { ...GT.annotations[1], area: undefined }] });
    await expectError([noArea, dt], EXIT.INVALID_INPUT, /gt_noarea\.json: annotations\[1\]\.area: expected a finite number/);
    const noCrowd = writeTmp('gt_nocrowd.json', { ...GT, annotations: [{ ...GT.annotations[0], iscrowd: 'no' }] });
    await expectError([noCrowd, dt], EXIT.INVALID_INPUT, /annotations\[0\]\.iscrowd: expected 0, 1, true or false/);
    const dup = writeTmp('gt_dup.json', { ...GT, annotations: [GT.annotations[0], { ...GT.annotations[1], id: 1 }] });
    await expectError([dup, dt], EXIT.INVALID_INPUT, /annotations\[1\]\.id: expected a unique annotation id/);
    const noImages = writeTmp('gt_noimages.json', { annotations: [], categories: [] });
    await expectError([noImages, dt], EXIT.INVALID_INPUT, /gt_noimages\.json: dataset\.images: expected an array/);
  });

  test('segm results need a segmentation, keypoints results their keypoints', async () => {
    const badSeg = writeTmp('badseg.json', [{ image_id: 1, category_id: 1, score: 1, segmentation: { size: [10, 10], counts: 5 } }]);
    await expectError([gt, badSeg, '--iou-type', 'segm'], EXIT.INVALID_INPUT, /results\[0\]\.segmentation\.counts/);
    await expectError([gt, dt, '--iou-type', 'keypoints'], EXIT.INVALID_INPUT, /gt\.json: annotations\[0\]\.keypoints/);
  });

  test('command-line errors -> exit 2', async () => {
    await expectError([gt, dt, '--img-ids', '1,7'], EXIT.USAGE, /--img-ids: image ids 7 not found in .*gt\.json/);
    await expectError([gt, dt, '--cat-ids', '5'], EXIT.USAGE, /--cat-ids: category ids 5 not found/);
    await expectError([gt, dt, '--max-dets', '1,x'], EXIT.USAGE, /--max-dets: expected a comma-separated list of integers; received "x"/);
    await expectError([gt, dt, '--max-dets', '1,10'], EXIT.USAGE, /params\.maxDets: expected at least 3 values/);
    await expectError([gt, dt, '--iou-thrs', '0.5,1.5'], EXIT.USAGE, /params\.iouThrs/);
    await expectError([gt, dt, '--iou-type', 'mask'], EXIT.USAGE, /--iou-type must be one of bbox, segm, keypoints/);
    await expectError([gt, dt, '--frobnicate'], EXIT.USAGE, /frobnicate/);
    await expectError([gt, dt, '--threads', '9'], EXIT.USAGE, /--threads: expected an integer from 0 to 8; received 9/);
    const r = await cli(gt);
    assert.equal(r.code, EXIT.USAGE);
    assert.match(r.err, /expected GT\.json and DT\.json; received 1/);
  });

  test('unwritable --json or --plot -> exit 3 before anything is evaluated', async () => {
    const r = await cli(gt, dt, '--json', join(tmp, 'no', 'such', 'dir.json'));
    assert.equal(r.code, EXIT.IO);
    assert.match(r.err, /^error: --json .*dir\.json: cannot write \(ENOENT\)\n$/);
    assert.equal(r.out, '');
    // the GT does not even exist: the output check comes first, so no time is spent on the inputs
    const p = await cli(join(tmp, 'missing-gt.json'), dt, '--plot', join(tmp, 'no', 'such', 'pr.png'));
    assert.equal(p.code, EXIT.IO);
    assert.match(p.err, /^error: --plot .*pr\.png: cannot write \(ENOENT\)\n$/);
    const d = await cli(gt, dt, '--plot', tmp);
    assert.equal(d.code, EXIT.IO);
    assert.match(d.err, /^error: --plot .*: cannot write \(EISDIR\)\n$/);
    assert.equal(d.out, '');
  });
});
