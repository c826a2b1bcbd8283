// What the CLI shows about runs: status (counts from the results store and the checkpoint, never from
// memory of a process), the top-K export (the genotype file `nasnet train --genotype` reads), and the
// report: a table per run and reward against trials in the style of the paper's Figure 6 (each child's
// reward as a dot, the running mean of the last 50 as a line), several runs overlaid.
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { NasnetError } from '../core/errors.js';
import { parseGenotype, validateGenotype, type Genotype } from '../cells/genotype.js';
import { loadSearchCheckpoint } from './checkpoint.js';
import { decisionsToGenotype } from './decisions.js';
import { listResults, type TrialResult } from './results.js';
import { readRunConfig, runPaths, type SearchConfig } from './run.js';

export interface RunStatus {
  readonly run: string;
  readonly strategy: string;
  readonly trials: number;
  readonly done: number;
  readonly failed: number;
  /** Pending trials without a result while the owning process is alive. */
  readonly running: number;
  /** Pending trials without a result and no live process (resume to continue). */
  readonly waiting: number;
  readonly finished: boolean;
  readonly best: { readonly trial: string; readonly seed: number; readonly reward: number } | null;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export async function runStatus(run: string): Promise<RunStatus> {
  const config = await readRunConfig(run);
  const results = await listResults(run);
  const paths = runPaths(run);
  const hasCheckpoint = await stat(join(paths.checkpoint, 'model.json')).then(() => true, () => stat(join(`${paths.checkpoint}.old`, 'model.json')).then(() => true, () => false));
  const pending = hasCheckpoint ? (await loadSearchCheckpoint(paths.checkpoint)).state.pending : [];
  const have = new Set(results.map((r) => r.id));
  const open = pending.filter((p) => !have.has(p.id)).length;
  const owner = await readFile(paths.owner, 'utf8').then((t) => JSON.parse(t) as { pid: number }, () => undefined);
  const live = owner !== undefined && alive(owner.pid);
  const best = topResults(results, 1)[0];
  return {
    run, strategy: config.strategy, trials: config.trials,
    done: results.filter((r) => r.status === 'done').length,
    failed: results.filter((r) => r.status === 'failed').length,
    running: live ? open : 0, waiting: live ? 0 : open,
    finished: hasCheckpoint && pending.length === 0,
    best: best === undefined ? null : { trial: best.id, seed: best.seed, reward: best.reward! },
  };
}

/** Successful results by reward, best first (ties: lower trial index first). */
export function topResults(results: readonly TrialResult[], k: number): TrialResult[] {
  return results.filter((r) => r.status === 'done' && r.reward !== null).sort((a, b) => b.reward! - a.reward! || a.index - b.index).slice(0, k);
}

export const EXPORT_FORMAT = 'nasnet-ts/search-export@1';

export interface ExportedCell {
  readonly trial: string;
  readonly seed: number;
  readonly reward: number;
  readonly genotype: Genotype;
}

export interface SearchExport {
  readonly format: typeof EXPORT_FORMAT;
  readonly run: string;
  readonly strategy: string;
  readonly proxy: SearchConfig['proxy'];
  /** Best first. */
  readonly cells: readonly ExportedCell[];
}

export async function exportTop(run: string, k: number): Promise<SearchExport> {
  const config = await readRunConfig(run);
  const top = topResults(await listResults(run), k);
  if (top.length === 0) throw new NasnetError('INVALID_DATA', `exportTop: ${run} has no successful trial yet`, { run });
  return {
    format: EXPORT_FORMAT, run, strategy: config.strategy, proxy: config.proxy,
    cells: top.map((r) => ({ trial: r.id, seed: r.seed, reward: r.reward!, genotype: decisionsToGenotype(r.decisions, `${config.strategy}-${r.id}`) })),
  };
}

/** The genotype in a file: an export (its best cell, or entry `rank`) or a plain genotype JSON. */
export function genotypeFromFile(text: string, path: string, rank = 0): Genotype {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new NasnetError('INVALID_JSON', `${path}: ${(error as Error).message}`);
  }
  const maybe = value as Partial<SearchExport>;
  if (maybe?.format === EXPORT_FORMAT) {
    const cell = maybe.cells?.[rank];
    if (cell === undefined) throw new NasnetError('INVALID_DATA', `${path}: the export has no cell ${rank}`);
    return validateGenotype(cell.genotype);
  }
  return parseGenotype(text);
}

export interface ReportRow {
  readonly run: string;
  readonly strategy: string;
  readonly done: number;
  readonly failed: number;
  readonly best: number | null;
  readonly top5: number | null;
  readonly last50: number | null;
  /** Rewards by trial index (null = failed). */
  readonly rewards: readonly (number | null)[];
}

const mean = (xs: readonly number[]): number | null => (xs.length === 0 ? null : xs.reduce((a, b) => a + b, 0) / xs.length);

export async function reportRow(run: string): Promise<ReportRow> {
  const config = await readRunConfig(run);
  const results = await listResults(run);
  const ok = results.filter((r) => r.reward !== null).map((r) => r.reward!);
  return {
    run, strategy: config.strategy,
    done: ok.length, failed: results.length - ok.length,
    best: ok.length === 0 ? null : Math.max(...ok),
    top5: mean(topResults(results, 5).map((r) => r.reward!)),
    last50: mean(ok.slice(-50)),
    rewards: results.map((r) => r.reward),
  };
}

export function reportTable(rows: readonly ReportRow[]): string {
  const f = (v: number | null): string => (v === null ? '-' : v.toFixed(4));
  const lines = ['run | strategy | done | failed | best | top-5 mean | mean of last 50', '--- | --- | ---: | ---: | ---: | ---: | ---:'];
  for (const r of rows) lines.push(`${r.run} | ${r.strategy} | ${r.done} | ${r.failed} | ${f(r.best)} | ${f(r.top5)} | ${f(r.last50)}`);
  return `${lines.join('\n')}\n`;
}

const COLOURS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b'];
const escape = (s: string): string => s.replace(/[<>&"]/g, (c) => `&#${c.charCodeAt(0)};`);

/** Mean of the k best rewards among the first i + 1 trials, for every i (PAPER Fig. 6's "top-5" curve). */
export function runningTopMean(rewards: readonly (number | null)[], k: number): (number | null)[] {
  const best: number[] = [];
  return rewards.map((v) => {
    if (v !== null) {
      best.push(v);
      best.sort((a, b) => b - a);
      if (best.length > k) best.pop();
    }
    return mean(best);
  });
}

/**
 * Reward against trial index in the style of PAPER Fig. 6: one colour per strategy (its seeds share it), a dot
 * per child, a solid line for the mean of the 5 best children so far and a thin one for the mean of the last 50.
 */
export function rewardPlotSvg(rows: readonly ReportRow[], width = 720, height = 420): string {
  const strategies = [...new Set(rows.map((r) => r.strategy))];
  // The legend sits above the axes, a line per strategy and one for the line styles.
  const m = { left: 60, right: 20, top: 24 + 16 * (strategies.length + 1), bottom: 50 };
  const n = Math.max(1, ...rows.map((r) => r.rewards.length));
  const all = rows.flatMap((r) => r.rewards.filter((v): v is number => v !== null));
  const lo = all.length === 0 ? 0 : Math.min(...all);
  const hi = all.length === 0 ? 1 : Math.max(...all);
  const span = hi - lo || 1;
  const x = (i: number): number => m.left + ((width - m.left - m.right) * i) / Math.max(1, n - 1);
  const y = (v: number): number => height - m.bottom - ((height - m.top - m.bottom) * (v - lo)) / span;
  const parts = [`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="12">`, `<rect width="100%" height="100%" fill="white"/>`];
  parts.push(`<line x1="${m.left}" y1="${height - m.bottom}" x2="${width - m.right}" y2="${height - m.bottom}" stroke="black"/>`, `<line x1="${m.left}" y1="${m.top}" x2="${m.left}" y2="${height - m.bottom}" stroke="black"/>`);
  for (let k = 0; k <= 4; k++) {
    const v = lo + (span * k) / 4;
    parts.push(`<text x="${m.left - 6}" y="${y(v) + 4}" text-anchor="end">${v.toFixed(3)}</text>`);
    const i = Math.round(((n - 1) * k) / 4);
    parts.push(`<text x="${x(i)}" y="${height - m.bottom + 16}" text-anchor="middle">${i}</text>`);
  }
  parts.push(`<text x="${(width + m.left) / 2}" y="${height - 10}" text-anchor="middle">trial</text>`, `<text x="14" y="${height / 2}" transform="rotate(-90 14 ${height / 2})" text-anchor="middle">validation accuracy (reward)</text>`);
  const colourOf = (strategy: string): string => COLOURS[strategies.indexOf(strategy) % COLOURS.length]!;
  const polyline = (values: readonly (number | null)[], colour: string, strokeWidth: number): void => {
    const points = values.flatMap((v, i) => (v === null ? [] : [`${x(i).toFixed(1)},${y(v).toFixed(1)}`]));
    if (points.length > 1) parts.push(`<polyline points="${points.join(' ')}" fill="none" stroke="${colour}" stroke-width="${strokeWidth}"/>`);
  };
  for (const row of rows) {
    const colour = colourOf(row.strategy);
    row.rewards.forEach((v, i) => {
      if (v !== null) parts.push(`<circle cx="${x(i).toFixed(1)}" cy="${y(v).toFixed(1)}" r="2" fill="${colour}" fill-opacity="0.3"/>`);
    });
    const window: number[] = [];
    polyline(row.rewards.map((v) => {
      if (v === null) return null;
      window.push(v);
      if (window.length > 50) window.shift();
      return mean(window);
    }), colour, 1);
    polyline(runningTopMean(row.rewards, 5), colour, 2.5);
  }
  strategies.forEach((strategy, k) => {
    const runs = rows.filter((r) => r.strategy === strategy);
    const label = runs.length === 1 ? `${strategy}: ${runs[0]!.run}` : `${strategy} (${runs.length} runs)`;
    parts.push(`<text x="${m.left + 10}" y="${16 + 16 * k}" fill="${colourOf(strategy)}">${escape(label)}</text>`);
  });
  parts.push(`<text x="${m.left + 10}" y="${16 + 16 * strategies.length}" fill="#555">thick: mean of the 5 best so far; thin: mean of the last 50</text>`);
  parts.push('</svg>');
  return parts.join('\n');
}
