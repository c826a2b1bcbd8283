// Search on the digits proxy (issue #18's benchmark; prints numbers, never a timed test):
//   1. do architectures differ? R random cells x 2 child seeds: spread between cells vs seed noise
//   2. ppo, random, evolution at equal budget, S seeds x T children: table (best, top-5 mean, mean of last 50),
//      paired t over seeds, reward-vs-trials plot (PAPER Fig. 6 style)
//   3. children per hour with 1 and 2 workers
//   4. controller update time per batch of 20 (100-unit LSTM, 4 PPO epochs)
//   5. the best cell found against NASNet-A at (nearly) equal parameters, fresh seeds
// node dist/bench/search_digits.js [--out DIR] [--smoke] [--cells R] [--seeds S] [--trials T] [--epochs E] [--image-size P]
//                                  [--child-lr X] [--child-batch B] [--spread-only] [--versus-only]
// --versus-only: step 5 alone, on the runs already in --out.
// --smoke: 2 cells, 1 seed, 4 children, 1 epoch on 100 images (a minute or so; checks the script runs).
// Children see the digits at their own 8x8 (--image-size 8): upsampled to 32 they cost 5x more and learned no better.
import { readdir, rm, writeFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { initEngine } from '../core/engine.js';
import { rasterizeSvg } from '../core/image_io.js';
import { writeDigitsFolder } from '../data/digits.js';
import { EmbeddedTransport } from '../search/embedded_transport.js';
import { PpoSearch, PPO_SMALL_BUDGET } from '../search/ppo.js';
import { RandomSearch } from '../search/random.js';
import { exportTop, reportRow, reportTable, rewardPlotSvg, type ReportRow } from '../search/report.js';
import { DEFAULT_TRAINER, createRun, resolveSearchConfig, runSearch, trialSeed } from '../search/run.js';
import { childBackbone, resolveProxyTask, type ProxyTask } from '../search/trial.js';
import { decisionsToGenotype, genotypeToDecisions } from '../search/decisions.js';
import { NASNET_A } from '../cells/genotypes.js';
import { buildNasnet } from '../backbones/nasnet.js';
import { copyFolderSubset } from '../data/folder_subset.js';

const { values } = parseArgs({ options: {
  out: { type: 'string', default: '/tmp/nasnet-search-bench' }, smoke: { type: 'boolean' }, cells: { type: 'string' },
  seeds: { type: 'string' }, trials: { type: 'string' }, epochs: { type: 'string' }, 'image-size': { type: 'string' },
  'spread-only': { type: 'boolean' }, 'versus-only': { type: 'boolean' }, 'child-lr': { type: 'string' }, 'child-batch': { type: 'string' },
} });
const smoke = values.smoke === true;
const out = values.out!;
const R = Number(values.cells ?? (smoke ? 2 : 30));
const S = Number(values.seeds ?? (smoke ? 1 : 3));
const T = Number(values.trials ?? (smoke ? 4 : 100));
const E = Number(values.epochs ?? 1);
const P = Number(values['image-size'] ?? 8);
const load = (): string => `load ${loadavg().map((l) => l.toFixed(2)).join(' ')}`;

const mean = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
const sd = (xs: readonly number[]): number => Math.sqrt(xs.reduce((a, b) => a + (b - mean(xs)) ** 2, 0) / Math.max(1, xs.length - 1));

/** Trainable parameters of the proxy child with these decisions (10 classes). */
function childParams(proxy: ProxyTask, decisions: readonly number[]): number {
  const { model } = buildNasnet({ ...childBackbone(proxy, decisionsToGenotype(decisions)), classes: 10 });
  const params = model.countParams();
  model.dispose();
  return params;
}

/**
 * 5. The best cell found (max over every run) against NASNet-A, all retrained on fresh seeds: NASNet-A at the
 * same N@F, and at the depth N (F unchanged) whose parameter count is nearest the best cell's.
 */
async function versus(proxy: ProxyTask, rows: readonly ReportRow[], say: (line: string) => void): Promise<void> {
  const bestRun = rows.reduce((a, b) => ((b.best ?? -1) > (a.best ?? -1) ? b : a));
  const [top] = (await exportTop(bestRun.run, 1)).cells;
  const best = genotypeToDecisions(top!.genotype);
  const nasnetA = genotypeToDecisions(NASNET_A);
  const bestParams = childParams(proxy, best);
  const depths = [1, 2, 3].map((cells) => ({ cells, params: childParams({ ...proxy, cells }, nasnetA) }));
  const matched = depths.reduce((a, b) => (Math.abs(b.params - bestParams) < Math.abs(a.params - bestParams) ? b : a));
  const contenders = [
    { name: `best (${bestRun.run.split('/').pop()} ${top!.trial}, ${top!.reward.toFixed(4)} in the search) at ${proxy.cells}@F=${proxy.filters}`, decisions: best, task: proxy, params: bestParams },
    { name: `NASNet-A at ${proxy.cells}@F=${proxy.filters}`, decisions: nasnetA, task: proxy, params: depths[proxy.cells - 1]?.params ?? childParams(proxy, nasnetA) },
    { name: `NASNet-A at ${matched.cells}@F=${proxy.filters} (nearest parameters)`, decisions: nasnetA, task: { ...proxy, cells: matched.cells }, params: matched.params },
  ];
  const retrain = new EmbeddedTransport({ workers: 2, trainer: DEFAULT_TRAINER, backend: 'wasm' });
  const fresh = smoke ? 2 : 8;
  const scores = await Promise.all(contenders.map((c, k) => Promise.all(Array.from({ length: fresh }, (_, s) => retrain.attempt({
    id: `x${k}s${s}`, index: k, seed: trialSeed(5000 + s, k), decisions: c.decisions, proxy: c.task, dir: join(out, 'versus', `${k}-${s}`),
  }).then((o) => o.reward)))));
  await retrain.close();
  say(`5. the best cell against NASNet-A, ${fresh} fresh seeds each (${load()}):`);
  contenders.forEach((c, k) => {
    const xs = scores[k]!;
    const welch = k === 0 ? '' : `, Welch t vs best = ${((mean(scores[0]!) - mean(xs)) / Math.sqrt(sd(scores[0]!) ** 2 / fresh + sd(xs) ** 2 / fresh)).toFixed(2)}`;
    say(`   ${c.name}: ${c.params} params, ${mean(xs).toFixed(4)} +- ${sd(xs).toFixed(4)}${welch}`);
  });
}

async function main(): Promise<void> {
  await initEngine({ backend: 'wasm' });
  const versusOnly = values['versus-only'] === true;
  const full = join(out, 'digits');
  const data = smoke ? join(out, 'tiny') : full;
  if (!versusOnly) {
    await rm(out, { recursive: true, force: true });
    await writeDigitsFolder(full);
    if (smoke) await copyFolderSubset(full, data, { train: 10, val: 5 });
  }
  const proxy: ProxyTask = resolveProxyTask({ data, epochs: E, imageSize: P,
    ...(values['child-lr'] === undefined ? {} : { learningRate: Number(values['child-lr']) }),
    ...(values['child-batch'] === undefined ? {} : { batchSize: Number(values['child-batch']) }) });
  const lines: string[] = [`# search on digits (${smoke ? 'SMOKE, not a result' : 'full'}): proxy 1@F=4, ${P}x${P}, ${E} epoch(s), batch ${proxy.batchSize}, lr ${proxy.learningRate}, ${new Date().toISOString()}, ${load()}`];
  const say = (line: string): void => {
    lines.push(line);
    process.stdout.write(`${line}\n`);
  };
  if (versusOnly) {
    await rm(join(out, 'versus'), { recursive: true, force: true });
    const runs = (await readdir(join(out, 'runs'))).sort().map((name) => join(out, 'runs', name));
    return versus(proxy, await Promise.all(runs.map((run) => reportRow(run))), say);
  }

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
  await writeFile(join(out, 'spread.json'), JSON.stringify(pairs));
  const between = sd(pairs.map(([a, b]) => (a + b) / 2));
  const noise = Math.sqrt(mean(pairs.map(([a, b]) => (a - b) ** 2)) / 2); // the SD of one child's reward between seeds
  say(`1. ${R} random cells x 2 seeds: SD between cell means ${between.toFixed(4)}, seed noise SD ${noise.toFixed(4)}, ratio ${(between / noise).toFixed(2)} (want >= 2)`);
  say(`3. children/hour, 2 workers: ${(2 * R / hours).toFixed(0)} (${load()})`);

  if (values['spread-only'] === true) return;

  // 2. Strategies at equal budget.
  const rows: ReportRow[] = [];
  for (const strategy of ['ppo', 'random', 'evolution'] as const) {
    for (let seed = 0; seed < S; seed++) {
      const run = join(out, 'runs', `${strategy}-s${seed}`);
      await createRun(run, resolveSearchConfig({ strategy, trials: T, batchSize: Math.min(20, T), seed, proxy, ppo: PPO_SMALL_BUDGET }));
      const t0 = performance.now();
      await runSearch(run, { workers: 2, backend: 'wasm' });
      if (strategy === 'random' && seed === 0) say(`3. children/hour, 2 workers, a whole run: ${(T / ((performance.now() - t0) / 3.6e6)).toFixed(0)} (${load()})`);
      rows.push(await reportRow(run));
    }
  }
  say(`2. strategies, ${S} seed(s) x ${T} children (${load()}):\n${reportTable(rows)}`);
  const row = (strategy: string, seed: number): ReportRow => rows.find((r) => r.run.endsWith(`${strategy}-s${seed}`))!;
  for (const key of ['best', 'top5', 'last50'] as const) {
    for (const [a, b] of [['ppo', 'random'], ['ppo', 'evolution'], ['evolution', 'random']]) {
      const diffs = Array.from({ length: S }, (_, s) => (row(a!, s)[key] ?? NaN) - (row(b!, s)[key] ?? NaN));
      const t = S > 1 ? mean(diffs) / (sd(diffs) / Math.sqrt(S)) : NaN;
      say(`   paired ${a} - ${b} on ${key}: mean ${mean(diffs).toFixed(4)}, t = ${t.toFixed(2)} (df ${S - 1})`);
    }
  }
  await writeFile(join(out, 'reward.png'), await rasterizeSvg(rewardPlotSvg(rows)));

  // 3b. One worker.
  const one = new EmbeddedTransport({ workers: 1, trainer: DEFAULT_TRAINER, backend: 'wasm' });
  const t1 = performance.now();
  const n1 = Math.min(8, R);
  await Promise.all(cells.slice(0, n1).map((c, i) => one.attempt({ id: `w1-${i}`, index: i, seed: i, decisions: c.decisions, proxy, dir: join(out, 'w1', String(i)) })));
  await one.close();
  say(`3. children/hour, 1 worker: ${(n1 / ((performance.now() - t1) / 3.6e6)).toFixed(0)} (${load()})`);

  await versus(proxy, rows, say);

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
