// Search on the digits proxy (issue #18's benchmark; prints numbers, never a timed test):
//   1. do architectures differ? R random cells x 2 child seeds: spread between cells vs seed noise
//   2. ppo, random, evolution at equal budget, S seeds x T children: table (best, top-5 mean, mean of last 50),
//      paired t over seeds, reward-vs-trials plot (PAPER Fig. 6 style)
//   3. children per hour with 1 and 2 workers
//   4. controller update time per batch of 20 (100-unit LSTM, 4 PPO epochs)
// node dist/bench/search_digits.js [--out DIR] [--smoke] [--cells R] [--seeds S] [--trials T] [--epochs E]
// --smoke: 2 cells, 1 seed, 4 children, 1 epoch on 100 images (a minute or so; checks the script runs).
import { mkdir, readdir, copyFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { initEngine } from '../core/engine.js';
import { rasterizeSvg } from '../core/image_io.js';
import { writeDigitsFolder } from '../data/digits.js';
import { EmbeddedTransport } from '../search/embedded_transport.js';
import { PpoSearch, PPO_SMALL_BUDGET } from '../search/ppo.js';
import { RandomSearch } from '../search/random.js';
import { reportRow, reportTable, rewardPlotSvg, type ReportRow } from '../search/report.js';
import { DEFAULT_TRAINER, createRun, resolveSearchConfig, runSearch, trialSeed } from '../search/run.js';
import { resolveProxyTask, type ProxyTask } from '../search/trial.js';

const { values } = parseArgs({ options: {
  out: { type: 'string', default: '/tmp/nasnet-search-bench' }, smoke: { type: 'boolean' }, cells: { type: 'string' },
  seeds: { type: 'string' }, trials: { type: 'string' }, epochs: { type: 'string' },
} });
const smoke = values.smoke === true;
const out = values.out!;
const R = Number(values.cells ?? (smoke ? 2 : 30));
const S = Number(values.seeds ?? (smoke ? 1 : 3));
const T = Number(values.trials ?? (smoke ? 4 : 100));
const E = Number(values.epochs ?? 1);

const mean = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
const sd = (xs: readonly number[]): number => Math.sqrt(xs.reduce((a, b) => a + (b - mean(xs)) ** 2, 0) / Math.max(1, xs.length - 1));

async function subset(full: string, to: string, train: number, val: number): Promise<void> {
  for (const [split, per] of [['train', train], ['val', val]] as const) {
    for (let d = 0; d < 10; d++) {
      await mkdir(join(to, split, String(d)), { recursive: true });
      for (const name of (await readdir(join(full, split, String(d)))).sort().slice(0, per)) await copyFile(join(full, split, String(d), name), join(to, split, String(d), name));
    }
  }
}

async function main(): Promise<void> {
  await initEngine({ backend: 'wasm' });
  await rm(out, { recursive: true, force: true });
  const full = join(out, 'digits');
  await writeDigitsFolder(full);
  const data = smoke ? join(out, 'tiny') : full;
  if (smoke) await subset(full, data, 10, 5);
  const proxy: ProxyTask = resolveProxyTask({ data, epochs: E });
  const lines: string[] = [`# search on digits (${smoke ? 'SMOKE, not a result' : 'full'}): proxy 1@F=4, ${E} epoch(s)`];
  const say = (line: string): void => {
    lines.push(line);
    process.stdout.write(`${line}\n`);
  };

  // 1. Spread between cells vs seed noise.
  const transport = new EmbeddedTransport({ workers: 2, trainer: DEFAULT_TRAINER, backend: 'wasm' });
  const cells = new RandomSearch(99).propose(0, R);
  const started = performance.now();
  const rewards = await Promise.all(cells.flatMap((c, i) => [0, 1].map((s) => transport.attempt({
    id: `c${i}s${s}`, index: i, seed: trialSeed(1000 + s, i), decisions: c.decisions, proxy, dir: join(out, 'spread', `c${i}s${s}`),
  }).then((o) => o.reward))));
  const hours = (performance.now() - started) / 3.6e6;
  await transport.close();
  const pairs = cells.map((_, i) => [rewards[2 * i]!, rewards[2 * i + 1]!] as const);
  const between = sd(pairs.map(([a, b]) => (a + b) / 2));
  const noise = Math.sqrt(mean(pairs.map(([a, b]) => (a - b) ** 2)) / 2); // the SD of one child's reward between seeds
  say(`1. ${R} random cells x 2 seeds: SD between cell means ${between.toFixed(4)}, seed noise SD ${noise.toFixed(4)}, ratio ${(between / noise).toFixed(2)} (want >= 2)`);
  say(`3. children/hour, 2 workers: ${(2 * R / hours).toFixed(0)}`);

  // 2. Strategies at equal budget.
  const rows: ReportRow[] = [];
  for (const strategy of ['ppo', 'random', 'evolution'] as const) {
    for (let seed = 0; seed < S; seed++) {
      const run = join(out, 'runs', `${strategy}-s${seed}`);
      await createRun(run, resolveSearchConfig({ strategy, trials: T, batchSize: Math.min(20, T), seed, proxy, ppo: PPO_SMALL_BUDGET }));
      const t0 = performance.now();
      await runSearch(run, { workers: 2, backend: 'wasm' });
      if (strategy === 'random' && seed === 0) say(`3. children/hour, 2 workers, a whole run: ${(T / ((performance.now() - t0) / 3.6e6)).toFixed(0)}`);
      rows.push(await reportRow(run));
    }
  }
  say(`2. strategies, ${S} seed(s) x ${T} children:\n${reportTable(rows)}`);
  for (const key of ['best', 'last50'] as const) {
    for (const other of ['random', 'evolution']) {
      const diffs = Array.from({ length: S }, (_, s) => (rows.find((r) => r.run.endsWith(`ppo-s${s}`))![key] ?? NaN) - (rows.find((r) => r.run.endsWith(`${other}-s${s}`))![key] ?? NaN));
      const t = S > 1 ? mean(diffs) / (sd(diffs) / Math.sqrt(S)) : NaN;
      say(`   paired ppo - ${other} on ${key}: mean ${mean(diffs).toFixed(4)}, t = ${t.toFixed(2)} (df ${S - 1})`);
    }
  }
  await writeFile(join(out, 'reward.png'), await rasterizeSvg(rewardPlotSvg(rows)));

  // 3b. One worker.
  const one = new EmbeddedTransport({ workers: 1, trainer: DEFAULT_TRAINER, backend: 'wasm' });
  const t1 = performance.now();
  const n1 = Math.min(4, R);
  await Promise.all(cells.slice(0, n1).map((c, i) => one.attempt({ id: `w1-${i}`, index: i, seed: i, decisions: c.decisions, proxy, dir: join(out, 'w1', String(i)) })));
  await one.close();
  say(`3. children/hour, 1 worker: ${(n1 / ((performance.now() - t1) / 3.6e6)).toFixed(0)}`);

  // 4. Controller update.
  const ppo = new PpoSearch(0, PPO_SMALL_BUDGET);
  const times: number[] = [];
  for (let b = 0; b < 3; b++) {
    const p = ppo.propose(b, 20);
    const t0 = performance.now();
    ppo.update(p, p.map((_, i) => i / 20));
    times.push(performance.now() - t0);
  }
  say(`4. controller update (batch 20, 4 epochs, 100 units): ${times.map((t) => t.toFixed(0)).join(', ')} ms`);
  await writeFile(join(out, 'report.md'), `${lines.join('\n')}\n`);
}

await main();
