// Side-by-side timing of our COCOeval and pycocotools on the val2017-sized case of coco_eval_gen.ts.
// Each side runs in its own fresh process (so peak RSS is its own): loading, loadRes, evaluate,
// accumulate, summarize, wall and CPU time; then the evaluate+accumulate speed ratio and the stats
// difference. pycocotools runs in a Python found at run time: $COCO_EVAL_PYTHON, then
// .bench-data/venv-pycocotools/bin/python, then python3; skipped with a message when absent.
// Our side runs --repeat times (default 3; each phase's best time is kept, as timing noise on a
// shared machine only ever adds time); pycocotools once (it takes minutes).
// Usage: npm run build && node dist/bench/coco_eval_bench.js [--data DIR] [--regen] [--repeat N]
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { COCO, COCOeval } from 'pycocotools-js';
import { generateCocoCase } from './coco_eval_gen.js';

type Phase = 'load' | 'loadRes' | 'evaluate' | 'accumulate' | 'summarize';
const PHASES: Phase[] = ['load', 'loadRes', 'evaluate', 'accumulate', 'summarize'];

interface SideResult {
  /** seconds: [wall, cpu] per phase */
  times: Record<Phase, [number, number]>;
  maxRssMb: number;
  stats: number[];
}

const PY_SIDE = `
import contextlib, io, json, resource, sys, time
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval
times = {}
def timed(name, fn):
    w, c = time.perf_counter(), time.process_time()
    with contextlib.redirect_stdout(io.StringIO()):
        out = fn()
    times[name] = [time.perf_counter() - w, time.process_time() - c]
    return out
gt = timed('load', lambda: COCO(sys.argv[1]))
dt = timed('loadRes', lambda: gt.loadRes(sys.argv[2]))
E = COCOeval(gt, dt, 'bbox')
timed('evaluate', E.evaluate)
timed('accumulate', E.accumulate)
timed('summarize', E.summarize)
print(json.dumps({'times': times, 'maxRssMb': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  'stats': [float(s) for s in E.stats]}))
`;

/** Our side, run inside the child process. */
function tsSide(gtPath: string, dtPath: string): SideResult {
  const times = {} as Record<Phase, [number, number]>;
  const timed = <T>(name: Phase, fn: () => T): T => {
    const w = performance.now(), c = process.cpuUsage();
    const out = fn();
    const cu = process.cpuUsage(c);
    times[name] = [(performance.now() - w) / 1000, (cu.user + cu.system) / 1e6];
    return out;
  };
  const gt = timed('load', () => new COCO(JSON.parse(readFileSync(gtPath, 'utf8')), gtPath));
  const dt = timed('loadRes', () => gt.loadRes(JSON.parse(readFileSync(dtPath, 'utf8')), dtPath));
  const E = new COCOeval(gt, dt, 'bbox');
  timed('evaluate', () => E.evaluate());
  timed('accumulate', () => E.accumulate());
  timed('summarize', () => E.summarize());
  return { times, maxRssMb: process.resourceUsage().maxRSS / 1024, stats: E.stats };
}

function findPython(): string | undefined {
  const candidates = [process.env.COCO_EVAL_PYTHON, join('.bench-data', 'venv-pycocotools', 'bin', 'python'), 'python3'];
  return candidates.find((py) => py !== undefined && spawnSync(py, ['-c', 'import pycocotools.cocoeval'], { stdio: 'ignore' }).status === 0);
}

function runChild(cmd: string, args: string[]): SideResult {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 1 << 24 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.slice(0, 2).join(' ')} failed (${r.status}): ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as SideResult;
}

const fmt = (x: number): string => x.toFixed(2).padStart(8);

export function main(argv = process.argv.slice(2)): void {
  if (argv[0] === '--side-ts') {
    console.log(JSON.stringify(tsSide(argv[1], argv[2])));
    return;
  }
  const di = argv.indexOf('--data');
  const dir = di >= 0 ? argv[di + 1] : join('.bench-data', 'coco_eval');
  const gtPath = join(dir, 'gt.json'), dtPath = join(dir, 'dt.json');
  if (argv.includes('--regen') || !existsSync(gtPath) || !existsSync(dtPath)) {
    const g = generateCocoCase(dir);
    console.log(`generated ${g.images} images, ${g.gt} GT, ${g.dt} detections in ${dir}`);
  }
  console.log(`node ${process.version}, ${dir}, ${os.cpus().length} cores, load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}`);
  const ri = argv.indexOf('--repeat');
  const repeat = ri >= 0 ? Math.max(1, Number(argv[ri + 1]) || 1) : 3;
  const runs = Array.from({ length: repeat }, () => runChild(process.execPath, [fileURLToPath(import.meta.url), '--side-ts', gtPath, dtPath]));
  const ts: SideResult = {
    times: Object.fromEntries(PHASES.map((ph) => [ph, [0, 1].map((i) => Math.min(...runs.map((r) => r.times[ph][i])))])) as SideResult['times'],
    maxRssMb: Math.max(...runs.map((r) => r.maxRssMb)),
    stats: runs[0].stats,
  };
  const python = findPython();
  let py: SideResult | undefined;
  if (python === undefined) {
    console.log('pycocotools: not found, skipped. Create it with: python3 -m venv .bench-data/venv-pycocotools && ' +
      '.bench-data/venv-pycocotools/bin/pip install pycocotools (or set COCO_EVAL_PYTHON to a python that has it).');
  } else {
    py = runChild(python, ['-c', PY_SIDE, gtPath, dtPath]);
  }
  console.log(`\nphase          ours wall  ours cpu${py ? '   pyc wall   pyc cpu' : ''}   (seconds)`);
  for (const ph of PHASES) {
    console.log(`${ph.padEnd(12)} ${fmt(ts.times[ph][0])}  ${fmt(ts.times[ph][1])}${py ? `  ${fmt(py.times[ph][0])}  ${fmt(py.times[ph][1])}` : ''}`);
  }
  const ea = (s: SideResult, i: 0 | 1) => s.times.evaluate[i] + s.times.accumulate[i];
  console.log(`evaluate+accumulate  ours ${ea(ts, 0).toFixed(2)} s wall / ${ea(ts, 1).toFixed(2)} s cpu`);
  console.log(`peak RSS  ours ${ts.maxRssMb.toFixed(0)} MB${py ? `, pycocotools ${py.maxRssMb.toFixed(0)} MB` : ''}`);
  if (py) {
    console.log(`speed-up (evaluate+accumulate): ${(ea(py, 0) / ea(ts, 0)).toFixed(1)}x wall, ${(ea(py, 1) / ea(ts, 1)).toFixed(1)}x cpu`);
    const diff = Math.max(...ts.stats.map((v, i) => Math.abs(v - py!.stats[i])));
    console.log(`stats max |ours - pycocotools| = ${diff}`);
  }
  console.log(`stats ${JSON.stringify(ts.stats)}`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) main();
