// evaluate() + accumulate() with the category groups shared among worker threads. Category groups
// are independent in both phases (evaluateCategory writes only group k's codes, present flags and
// npig; accumulateCategory only k's entries of precision/recall/scores), so each thread takes the
// next k from a shared counter (largest categories first) and runs both phases for it, writing into
// shared memory. The numbers are those of the single-threaded evaluate() + accumulate(), bit for bit:
// each k is computed by the same code, only on another thread.
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { Accumulated, EvalStore } from './accumulate.js';
import { accumulateCategory, newAccumulated } from './accumulate.js';
import type { COCOeval, ProgressFn } from './cocoeval.js';
import { EvaluateWork, evaluateCategory, newEvalStore } from './cocoeval.js';
import type { Params } from './params.js';
import type { WorkerRequest } from './parallel_worker.js';
import type { Prepared } from './prepare.js';
import { ResultColumns } from './results_parser.js';

/** What every thread receives: the prepared groups (copied) and the shared outputs. */
export interface Share {
  pr: Prepared;
  p: Params;
  st: EvalStore;
  out: Accumulated;
  /** [K] category groups, largest first. */
  order: Int32Array;
  /** [1] the next index into order (Atomics). */
  counter: Int32Array;
  /** [K] 1 when both phases of k are written. */
  done: Uint8Array;
}

/** Runs category groups until none is left; returns how many this thread did. */
export function runShare(s: Share, onDone?: (taken: number) => void): number {
  const work = new EvaluateWork();
  const K = s.order.length;
  let n = 0;
  for (;;) {
    const i = Atomics.add(s.counter, 0, 1);
    if (i >= K) return n;
    const k = s.order[i];
    evaluateCategory(s.pr, s.p, s.st, k, work);
    accumulateCategory(s.st, k, s.p.recThrs, s.p.maxDets, s.out);
    s.done[k] = 1;
    n++;
    onDone?.(i + 1);
  }
}

/** Worker threads started ahead of time (they load this package while the main thread reads files). */
export class EvalPool {
  private readonly workers: Worker[];

  /** n workers; default: one per core beyond the main thread's, at most 3. */
  constructor(n = Math.min(3, availableParallelism() - 1)) {
    this.workers = Array.from({ length: Math.max(0, n) }, () => new Worker(new URL('./parallel_worker.js', import.meta.url)));
  }

  get size(): number {
    return this.workers.length;
  }

  /** Posts the share to every worker; resolves when each has finished (or failed: then false). */
  run(s: Share): Promise<boolean[]> {
    return Promise.all(this.workers.map((w) => ask(w, { type: 'share', share: s }).then(() => true, () => false)));
  }

  /**
   * Reads and parses a box results file on a worker (parseBboxResults), while this thread does
   * something else; null when the file is not of that shape, cannot be read, or there is no worker.
   */
  async parseResults(path: string): Promise<ResultColumns | null> {
    if (this.workers.length === 0) return null;
    const c = await ask(this.workers[0], { type: 'parse', path }).catch(() => null) as ResultColumns | null;
    return c && new ResultColumns(c.n, c.imageId, c.categoryId, c.bbox, c.score);
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}

/** One request to a worker: its answer, or a rejection when the worker fails or exits. */
function ask(w: Worker, request: WorkerRequest): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const finish = (fn: () => void) => { w.off('message', onMessage); w.off('error', onFail); w.off('exit', onFail); fn(); };
    const onMessage = (m: unknown) => finish(() => resolve(m));
    const onFail = (e: unknown) => finish(() => reject(e));
    w.on('message', onMessage); w.on('error', onFail); w.on('exit', onFail);
    w.postMessage(request);
  });
}

/**
 * E.evaluate() then E.accumulate(), on the calling thread and the pool's workers together. Leaves
 * E.evalImgs and E.eval exactly as the two calls would.
 */
export async function evaluateAccumulateParallel(E: COCOeval, pool: EvalPool, onProgress?: ProgressFn): Promise<void> {
  const p = E.params;
  const pr = E.prepareGroups();
  const st = newEvalStore(pr, p, pool.size > 0);
  const out = newAccumulated(st, p.recThrs.length, p.maxDets.length, pool.size > 0);
  const { K, I } = pr;
  // the work of a category ~ its dt slots plus its GTs; largest first balances the threads
  const cost = (k: number) => pr.dtStart[(k + 1) * I] - pr.dtStart[k * I] + pr.gtStart[(k + 1) * I] - pr.gtStart[k * I];
  const order = Int32Array.from(Array.from({ length: K }, (_, k) => k).sort((a, b) => cost(b) - cost(a) || a - b));
  const sab = (n: number) => new SharedArrayBuffer(n);
  const s: Share = { pr, p, st, out, order: new Int32Array(sab(4 * K)), counter: new Int32Array(sab(4)), done: new Uint8Array(sab(K)) };
  s.order.set(order);
  const workers = pool.run(s);
  runShare(s, onProgress && ((taken) => onProgress('evaluate', Math.min(taken, K) * I, K * I)));
  const ok = await workers;
  if (ok.includes(false)) {
    // a worker died: redo whatever it left unfinished here (npig and present of k from scratch)
    const work = new EvaluateWork();
    for (let k = 0; k < K; k++) {
      if (s.done[k]) continue;
      st.npig.fill(0, k * st.A, (k + 1) * st.A);
      st.present.fill(0, k * I, (k + 1) * I);
      evaluateCategory(pr, p, st, k, work);
      accumulateCategory(st, k, p.recThrs, p.maxDets, out);
    }
  }
  onProgress?.('evaluate', K * I, K * I);
  onProgress?.('accumulate', 1, 1);
  E.evalImgs = st;
  E.eval = out;
}
