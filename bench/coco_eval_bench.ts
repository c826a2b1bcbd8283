// End-to-end timing of the coco-eval CLI against pycocotools on the val2017-sized case of
// coco_eval_gen.ts: each run is one whole process on the same two files, parse to printed stats --
// ours `coco-eval GT.json DT.json --quiet --json OUT` (pycocotools-js' CLI, default threads), theirs
// `COCO(GT)` + `loadRes(DT)` + evaluate + accumulate + summarize. The runs alternate (ours, theirs,
// ours, ...) so that a change in the machine's load hits both. Each process runs under
// /usr/bin/time, which gives its wall time, CPU time (user + sys, all threads) and peak RSS; we print
// the best and the median of each, the ratios, the load average before and after, and whether the
// 12 stats are identical bit for bit. pycocotools runs in a Python found at run time:
// $COCO_EVAL_PYTHON, then .bench-data/venv-pycocotools/bin/python, then python3; without one only
// our side runs.
// --single also runs ours with --threads 0 in each round (the single-threaded figure).
// Usage: npm run build && node dist/bench/coco_eval_bench.js [--data DIR] [--regen] [--rounds N] [--threads N] [--single]
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateCocoCase } from './coco_eval_gen.js';

const PY_SIDE = `
import contextlib, json, sys, time
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval
t = {}
w = time.perf_counter()
with contextlib.redirect_stdout(sys.stderr):
    gt = COCO(sys.argv[1]); t['load'] = time.perf_counter() - w
    dt = gt.loadRes(sys.argv[2]); t['loadRes'] = time.perf_counter() - w - sum(t.values())
    E = COCOeval(gt, dt, 'bbox')
    E.evaluate(); t['evaluate'] = time.perf_counter() - w - sum(t.values())
    E.accumulate(); t['accumulate'] = time.perf_counter() - w - sum(t.values())
E.summarize(); t['summarize'] = time.perf_counter() - w - sum(t.values())
print(json.dumps({'stats': [float(s) for s in E.stats], 'phases': t}))
`;

interface Run {
  wall: number;
  cpu: number;
  rssMb: number;
  stats: number[];
  phases?: Record<string, number>;
}

/** One process under /usr/bin/time; its measures and the stats it produced. */
function timed(cmd: string, args: string[], stats: (stdout: string) => { stats: number[]; phases?: Record<string, number> }): Run {
  const r = spawnSync('/usr/bin/time', ['-f', 'TIME %e %U %S %M', cmd, ...args], { encoding: 'utf8', maxBuffer: 1 << 26 });
  const line = r.stderr.split('\n').reverse().find((l) => l.startsWith('TIME '));
  if (r.status !== 0 || line === undefined) throw new Error(`${cmd} ${args.slice(0, 3).join(' ')} failed (${r.status}): ${r.stderr.slice(-2000)}`);
  const [wall, user, sys, rssKb] = line.slice(5).split(' ').map(Number);
  return { wall, cpu: user + sys, rssMb: rssKb / 1024, ...stats(r.stdout) };
}

function findPython(): string | undefined {
  const candidates = [process.env.COCO_EVAL_PYTHON, join('.bench-data', 'venv-pycocotools', 'bin', 'python'), 'python3'];
  return candidates.find((py) => py !== undefined && spawnSync(py, ['-c', 'import pycocotools.cocoeval'], { stdio: 'ignore' }).status === 0);
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const loadavg = (): string => os.loadavg().map((l) => l.toFixed(1)).join(' ');
const flag = (argv: string[], name: string): string | undefined => (argv.includes(name) ? argv[argv.indexOf(name) + 1] : undefined);

function summary(name: string, runs: Run[]): { wall: number; cpu: number } {
  const w = runs.map((r) => r.wall), c = runs.map((r) => r.cpu);
  console.log(`${name.padEnd(12)} wall best ${Math.min(...w).toFixed(2)} s, median ${median(w).toFixed(2)} s | ` +
    `CPU best ${Math.min(...c).toFixed(2)} s, median ${median(c).toFixed(2)} s | peak RSS ${Math.max(...runs.map((r) => r.rssMb)).toFixed(0)} MB` +
    ` | runs: ${runs.map((r) => `${r.wall.toFixed(2)}/${r.cpu.toFixed(2)}`).join(' ')} (wall/CPU s)`);
  return { wall: Math.min(...w), cpu: Math.min(...c) };
}

export function main(argv = process.argv.slice(2)): void {
  const dir = flag(argv, '--data') ?? join('.bench-data', 'coco_eval');
  const gtPath = join(dir, 'gt.json'), dtPath = join(dir, 'dt.json');
  if (argv.includes('--regen') || !existsSync(gtPath) || !existsSync(dtPath)) {
    const g = generateCocoCase(dir);
    console.log(`generated ${g.images} images, ${g.gt} GT, ${g.dt} detections in ${dir}`);
  }
  const rounds = Math.max(1, Number(flag(argv, '--rounds') ?? 3) || 1);
  const threads = flag(argv, '--threads');
  const cli = join(dirname(createRequire(import.meta.url).resolve('pycocotools-js/package.json')), 'dist', 'cli.js');
  const python = findPython();
  console.log(`node ${process.version}, ${os.cpus().length} cores (${os.cpus()[0]?.model ?? '?'}), ${dir}, ${rounds} rounds`);
  console.log(`load average before: ${loadavg()}`);
  if (python === undefined) {
    console.log('pycocotools: not found, our side only. Create it with: python3 -m venv .bench-data/venv-pycocotools && ' +
      '.bench-data/venv-pycocotools/bin/pip install pycocotools (or set COCO_EVAL_PYTHON to a python that has it).');
  }
  const tmp = mkdtempSync(join(os.tmpdir(), 'coco-eval-bench-'));
  const ours: Run[] = [], single: Run[] = [], theirs: Run[] = [];
  try {
    const out = join(tmp, 'out.json');
    for (let i = 0; i < rounds; i++) {
      ours.push(timed(process.execPath, [cli, gtPath, dtPath, '--quiet', '--json', out, ...(threads ? ['--threads', threads] : [])],
        () => ({ stats: (JSON.parse(readFileSync(out, 'utf8')) as { stats: number[] }).stats })));
      if (argv.includes('--single')) {
        single.push(timed(process.execPath, [cli, gtPath, dtPath, '--quiet', '--json', out, '--threads', '0'],
          () => ({ stats: (JSON.parse(readFileSync(out, 'utf8')) as { stats: number[] }).stats })));
      }
      if (python) theirs.push(timed(python, ['-c', PY_SIDE, gtPath, dtPath], (s) => JSON.parse(s.trim().split('\n').pop()!)));
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  console.log(`load average after: ${loadavg()}\n`);
  const o = summary('coco-eval', ours);
  const o1 = single.length > 0 ? summary('--threads 0', single) : undefined;
  if (theirs.length > 0) {
    const t = summary('pycocotools', theirs);
    const ph = theirs[0].phases!;
    console.log(`pycocotools phases (first run, wall s): ${Object.entries(ph).map(([k, v]) => `${k} ${v.toFixed(2)}`).join(', ')}`);
    console.log(`end to end, pycocotools / ours: ${(t.wall / o.wall).toFixed(1)}x wall (best / best), ${(t.cpu / o.cpu).toFixed(1)}x CPU`);
    if (o1) console.log(`end to end, pycocotools / ours --threads 0: ${(t.wall / o1.wall).toFixed(1)}x wall, ${(t.cpu / o1.cpu).toFixed(1)}x CPU`);
    const same = [...ours, ...single, ...theirs].every((r) => r.stats.length === theirs[0].stats.length && r.stats.every((v, i) => Object.is(v, theirs[0].stats[i])));
    console.log(`stats identical bit for bit in every run: ${same ? 'yes' : 'NO'}`);
  }
  console.log(`stats ${JSON.stringify(ours[0].stats)}`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) main();
