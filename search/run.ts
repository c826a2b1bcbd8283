// The search run (PAPER §3, Fig. 1: the controller samples architectures, children are trained, their
// accuracies update the controller), written as a resumable loop over batches. It reads like this:
//
//   search.json (config, once) ─► checkpoint k: strategy state + pending batch k (ids, seeds, decisions,
//   log-probs), written atomically BEFORE any of its trials starts
//        │  trials without a result ─► transport.attempt (retried up to maxAttempts, then "failed")
//        │                              └► results/<id>.json, first write wins
//        ▼  all results of batch k exist
//   update = f(checkpoint k, results of batch k) ─► propose batch k+1 ─► checkpoint k+1 ─► ...
//
// Every random choice derives from (seed, batch) or (seed, trial index), the update reads only the
// checkpoint and the results, and the checkpoint holds no time or process data, so a run killed at any
// moment (SIGKILL included) and resumed ends with the same trials, rewards and checkpoint bytes as an
// uninterrupted one. The run folder:
//   RUN/search.json        the config (strategy, budget, seed, proxy task)
//   RUN/controller/        the search checkpoint (checkpoint.ts)
//   RUN/results/<id>.json  one result per trial (results.ts)
//   RUN/trials/<id>/       the child's working folder (its own training checkpoint)
//   RUN/journal.jsonl      what happened when (informational: never read to decide anything)
//   RUN/owner.json         pid and host of the process running it (for `status`)
import { appendFile, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { NasnetError } from '../core/errors.js';
import { deriveSeed } from '../data/seed.js';
import { type BatchRecord, type PendingTrial, type SearchState, loadSearchCheckpoint, saveSearchCheckpoint } from './checkpoint.js';
import { resolveControllerConfig, type ControllerConfig } from './controller.js';
import { EmbeddedTransport } from './embedded_transport.js';
import { AgingEvolution, resolveEvolutionConfig, type EvolutionConfig } from './evolution.js';
import { PpoSearch, resolvePpoConfig, type PpoConfig } from './ppo.js';
import { RandomSearch } from './random.js';
import { readResult, writeResult, type TrialResult } from './results.js';
import { STRATEGY_NAMES, type Strategy, type StrategyName } from './strategy.js';
import { resolveProxyTask, type ProxyTask, type TrialSpec } from './trial.js';
import type { TrainerRef, TrialTransport } from './transport.js';

export const SEARCH_CONFIG_FORMAT = 'nasnet-ts/search@1';

export interface SearchConfig {
  readonly format: typeof SEARCH_CONFIG_FORMAT;
  readonly strategy: StrategyName;
  /** Total children. */
  readonly trials: number;
  /** Children per update (PAPER: minibatches of 20). */
  readonly batchSize: number;
  readonly seed: number;
  /** Attempts of a trial before it is recorded as failed. */
  readonly maxAttempts: number;
  readonly ppo: PpoConfig;
  readonly controller: ControllerConfig;
  readonly evolution: EvolutionConfig;
  readonly proxy: ProxyTask;
}

export type SearchConfigInput = Partial<Omit<SearchConfig, 'format' | 'ppo' | 'controller' | 'evolution' | 'proxy'>> & {
  readonly proxy: Partial<ProxyTask> & { readonly data: string };
  readonly ppo?: Partial<PpoConfig>;
  readonly controller?: Partial<ControllerConfig>;
  readonly evolution?: Partial<EvolutionConfig>;
};

export function resolveSearchConfig(input: SearchConfigInput): SearchConfig {
  const config: SearchConfig = {
    format: SEARCH_CONFIG_FORMAT,
    strategy: input.strategy ?? 'ppo',
    trials: input.trials ?? 100,
    batchSize: input.batchSize ?? 20,
    seed: input.seed ?? 0,
    maxAttempts: input.maxAttempts ?? 3,
    ppo: resolvePpoConfig(input.ppo),
    controller: resolveControllerConfig(input.controller),
    evolution: resolveEvolutionConfig(input.evolution),
    proxy: resolveProxyTask(input.proxy),
  };
  if (!STRATEGY_NAMES.includes(config.strategy)) throw new NasnetError('INVALID_CONFIG', `strategy must be one of ${STRATEGY_NAMES.join(', ')}; received ${JSON.stringify(config.strategy)}`, { field: 'strategy' });
  for (const field of ['trials', 'batchSize', 'maxAttempts'] as const) {
    if (!Number.isInteger(config[field]) || config[field] < 1) throw new NasnetError('INVALID_CONFIG', `${field} must be a positive integer; received ${config[field]}`, { field });
  }
  if (!Number.isInteger(config.seed)) throw new NasnetError('INVALID_CONFIG', `seed must be an integer; received ${config.seed}`, { field: 'seed' });
  return config;
}

export function createStrategy(config: SearchConfig): Strategy {
  switch (config.strategy) {
    case 'ppo':
      return new PpoSearch(config.seed, config.ppo, config.controller);
    case 'random':
      return new RandomSearch(config.seed);
    case 'evolution':
      return new AgingEvolution(config.seed, config.evolution);
  }
}

export const trialId = (index: number): string => `t${String(index).padStart(5, '0')}`;
/** Stream tag of the per-trial seeds. */
const TRIAL_SEED_STREAM = 202;
export const trialSeed = (seed: number, index: number): number => deriveSeed(seed, TRIAL_SEED_STREAM, index);

export const runPaths = (run: string) => ({
  config: join(run, 'search.json'),
  checkpoint: join(run, 'controller'),
  journal: join(run, 'journal.jsonl'),
  owner: join(run, 'owner.json'),
  trial: (id: string) => join(run, 'trials', id),
});

/** Writes RUN/search.json; an existing run must have the same config (then it is simply resumed). */
export async function createRun(run: string, config: SearchConfig): Promise<void> {
  await mkdir(run, { recursive: true });
  const text = `${JSON.stringify(config, null, 2)}\n`;
  try {
    await writeFile(runPaths(run).config, text, { flag: 'wx' });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw new NasnetError('IO_ERROR', `createRun: ${(error as Error).message}`);
    const existing = await readFile(runPaths(run).config, 'utf8');
    if (existing !== text) throw new NasnetError('INVALID_CONFIG', `createRun: ${run} holds a run with another config; use \`nasnet search resume ${run}\` or another --out`, { run });
  }
}

export async function readRunConfig(run: string): Promise<SearchConfig> {
  const text = await readFile(runPaths(run).config, 'utf8').catch((error: Error) => {
    throw new NasnetError('IO_ERROR', `${run} is not a search run (cannot read search.json: ${error.message})`, { run });
  });
  const value = JSON.parse(text) as SearchConfig;
  if (value.format !== SEARCH_CONFIG_FORMAT) throw new NasnetError('INVALID_DATA', `${run}/search.json is not a ${SEARCH_CONFIG_FORMAT} config`);
  return value;
}

/** The trials of batch `batch` proposed by `strategy`. */
function pendingBatch(config: SearchConfig, strategy: Strategy, batch: number): PendingTrial[] {
  const first = batch * config.batchSize;
  const count = Math.min(config.batchSize, config.trials - first);
  if (count <= 0) return [];
  return strategy.propose(batch, count).map((p, i) => ({
    id: trialId(first + i), index: first + i, seed: trialSeed(config.seed, first + i), decisions: [...p.decisions], logProbs: p.logProbs === null ? null : [...p.logProbs],
  }));
}

/** Named moments a test can kill the process at (faults are injected, never read from the environment here). */
export type FaultPoint = 'checkpoint-write' | 'after-result' | 'before-update';

export interface RunSearchOptions {
  /** Default: embedded threads running `trainer`. */
  readonly transport?: TrialTransport;
  /** Default: search/trial.ts trainTrial. */
  readonly trainer?: TrainerRef;
  readonly workers?: number;
  /** Engine the embedded workers initialise (default wasm; null: none). */
  readonly backend?: string | null;
  /** Progress lines (one per update). */
  readonly stream?: NodeJS.WritableStream;
  readonly signal?: AbortSignal;
  readonly fault?: (point: FaultPoint) => void;
}

export interface RunSummary {
  /** True when the signal stopped the run before its last update (resume continues it). */
  readonly stopped: boolean;
  readonly batches: number;
  readonly done: number;
  readonly failed: number;
  readonly best: { readonly id: string; readonly reward: number } | null;
}

export const DEFAULT_TRAINER: TrainerRef = { module: fileURLToPath(new URL('./trial.js', import.meta.url)), export: 'trainTrial' };

async function journal(run: string, event: Record<string, unknown>): Promise<void> {
  await appendFile(runPaths(run).journal, `${JSON.stringify({ time: new Date().toISOString(), ...event })}\n`);
}

/** Thrown when the run is stopped (signal): the attempts in flight are abandoned, never recorded as failures. */
class Stopped extends Error {}

/** One trial: attempts until success or maxAttempts, then the stored result (whoever wrote it first). */
async function runTrial(run: string, config: SearchConfig, trial: PendingTrial, transport: TrialTransport, fault: RunSearchOptions['fault'], signal?: AbortSignal): Promise<TrialResult> {
  const existing = await readResult(run, trial.id);
  if (existing !== undefined) return existing;
  const spec: TrialSpec = { id: trial.id, index: trial.index, seed: trial.seed, decisions: trial.decisions, proxy: config.proxy, dir: runPaths(run).trial(trial.id) };
  await mkdir(spec.dir, { recursive: true });
  let result: TrialResult | undefined;
  for (let attempt = 1; attempt <= config.maxAttempts && result === undefined; attempt++) {
    if (signal?.aborted) throw new Stopped();
    await journal(run, { event: 'attempt', trial: trial.id, attempt });
    try {
      const outcome = await transport.attempt(spec);
      if (!Number.isFinite(outcome.reward)) throw new NasnetError('INTERNAL', `the trainer returned reward ${outcome.reward}`);
      result = { id: trial.id, index: trial.index, seed: trial.seed, decisions: trial.decisions, status: 'done', reward: outcome.reward, metrics: outcome.metrics, attempts: attempt };
    } catch (error) {
      if (signal?.aborted) throw new Stopped();
      const e = { code: (error as NasnetError).code ?? 'INTERNAL', message: (error as Error).message ?? String(error) };
      await journal(run, { event: 'attempt-failed', trial: trial.id, attempt, error: e });
      if (attempt === config.maxAttempts) {
        result = { id: trial.id, index: trial.index, seed: trial.seed, decisions: trial.decisions, status: 'failed', reward: null, error: e, attempts: attempt };
      }
    }
  }
  await writeResult(run, result!);
  fault?.('after-result');
  const stored = (await readResult(run, trial.id))!;
  await journal(run, { event: 'result', trial: trial.id, status: stored.status, reward: stored.reward });
  return stored;
}

function fmt(value: number | null | undefined, digits = 4): string {
  return value === null || value === undefined ? '-' : value.toFixed(digits);
}

/** Runs (or resumes) the search in `run` until every trial has a result and the last update is checkpointed. */
export async function runSearch(run: string, options: RunSearchOptions = {}): Promise<RunSummary> {
  const config = await readRunConfig(run);
  const paths = runPaths(run);
  await writeFile(paths.owner, `${JSON.stringify({ pid: process.pid, host: hostname() })}\n`);
  const strategy = createStrategy(config);
  const transport = options.transport ?? new EmbeddedTransport({ workers: options.workers ?? 1, trainer: options.trainer ?? DEFAULT_TRAINER, backend: options.backend === undefined ? 'wasm' : options.backend });
  const save = async (s: SearchState): Promise<void> => {
    const { json, arrays } = strategy.state();
    options.fault?.('checkpoint-write');
    await saveSearchCheckpoint(paths.checkpoint, { ...s, strategy: json }, arrays);
  };
  // Stop: our own transport is closed at once (its attempts in flight are abandoned, not recorded); a
  // transport passed in is the caller's to stop.
  const stop = (): void => {
    if (options.transport === undefined) void transport.close();
  };
  options.signal?.addEventListener('abort', stop, { once: true });
  let state: SearchState | undefined;
  try {
    const exists = await stat(join(paths.checkpoint, 'model.json')).then(() => true, () => stat(join(`${paths.checkpoint}.old`, 'model.json')).then(() => true, () => false));
    if (exists) {
      const loaded = await loadSearchCheckpoint(paths.checkpoint);
      strategy.restore(loaded.state.strategy, loaded.arrays);
      state = loaded.state;
    } else {
      state = { batch: 0, pending: pendingBatch(config, strategy, 0), strategy: null, history: [] };
      await save(state);
      await journal(run, { event: 'start', batch: 0 });
    }
    while (state.pending.length > 0) {
      if (options.signal?.aborted) break;
      const pending = state.pending;
      const results = await Promise.all(pending.map((trial) => runTrial(run, config, trial, transport, options.fault, options.signal))).catch((error: unknown) => {
        if (error instanceof Stopped) return undefined;
        throw error;
      });
      if (results === undefined) break;
      options.fault?.('before-update');
      const rewards = results.map((r) => (r.status === 'done' ? r.reward : null));
      const stats = strategy.update(state.pending.map((p) => ({ decisions: p.decisions, logProbs: p.logProbs })), rewards);
      const previous = state.history[state.history.length - 1];
      let best = previous?.best ?? null;
      for (const r of results) if (r.reward !== null && (best === null || r.reward > best.reward)) best = { id: r.id, reward: r.reward };
      const record: BatchRecord = {
        batch: state.batch, ...stats, best,
        done: (previous?.done ?? 0) + results.filter((r) => r.status === 'done').length,
        failed: (previous?.failed ?? 0) + results.filter((r) => r.status === 'failed').length,
      };
      state = { batch: state.batch + 1, pending: pendingBatch(config, strategy, state.batch + 1), strategy: null, history: [...state.history, record] };
      await save(state);
      await journal(run, { event: 'update', ...record });
      const batches = Math.ceil(config.trials / config.batchSize);
      options.stream?.write(
        `batch ${record.batch + 1}/${batches}  mean ${fmt(record.meanReward)}  baseline ${fmt(record.baseline)}  entropy ${fmt(record.entropy, 2)}  ` +
        `best ${fmt(best?.reward)}${best ? ` (${best.id})` : ''}  done ${record.done} failed ${record.failed} running ${state.pending.length}\n`,
      );
    }
    const last = state.history[state.history.length - 1];
    return { stopped: state.pending.length > 0, batches: state.history.length, done: last?.done ?? 0, failed: last?.failed ?? 0, best: last?.best ?? null };
  } finally {
    options.signal?.removeEventListener('abort', stop);
    strategy.dispose();
    if (options.transport === undefined) await transport.close();
  }
}
