// The embedded transport: K worker threads on this machine, each training one child at a time (a child is
// CPU-bound, so K is about the number of free cores). A worker that dies fails its attempt and is replaced.
import { Worker } from 'node:worker_threads';
import { NasnetError, type WireError } from '../core/errors.js';
import { workerScript } from '../core/worker_script.js';
import type { TrialOutcome, TrialSpec } from './trial.js';
import type { TrainerRef, TrialTransport } from './transport.js';

export interface EmbeddedTransportOptions {
  readonly workers: number;
  readonly trainer: TrainerRef;
  /** Engine each worker initialises (null: the trainer does it or needs none). */
  readonly backend: string | null;
}

interface Job {
  readonly spec: TrialSpec;
  resolve(outcome: TrialOutcome): void;
  reject(error: Error): void;
}

type Reply = { ok: true; outcome: TrialOutcome } | { ok: false; error: WireError };

export class EmbeddedTransport implements TrialTransport {
  private readonly idle: Worker[] = [];
  private readonly busy = new Map<Worker, Job>();
  private readonly queue: Job[] = [];
  private closed = false;

  constructor(private readonly options: EmbeddedTransportOptions) {
    if (!Number.isInteger(options.workers) || options.workers < 1) throw new NasnetError('INVALID_CONFIG', `workers must be a positive integer; received ${options.workers}`, { field: 'workers' });
    for (let i = 0; i < options.workers; i++) this.idle.push(this.spawn());
  }

  private spawn(): Worker {
    const { filename, execArgv } = workerScript(import.meta.url, 'trial_worker');
    const worker = new Worker(filename, { execArgv, workerData: { trainer: this.options.trainer, backend: this.options.backend } });
    worker.on('message', (reply: Reply) => {
      const job = this.busy.get(worker);
      if (job === undefined) return;
      this.busy.delete(worker);
      if (reply.ok) job.resolve(reply.outcome);
      else job.reject(new NasnetError(reply.error.code, reply.error.message));
      this.idle.push(worker);
      this.pump();
    });
    let gone = false;
    const lost = (error: Error): void => {
      // 'error' is followed by 'exit': replace the worker once.
      if (gone) return;
      gone = true;
      const job = this.busy.get(worker);
      this.busy.delete(worker);
      const index = this.idle.indexOf(worker);
      if (index >= 0) this.idle.splice(index, 1);
      job?.reject(error);
      if (!this.closed) {
        this.idle.push(this.spawn());
        this.pump();
      }
    };
    worker.on('error', lost);
    worker.on('exit', (code) => lost(new NasnetError('INTERNAL', `trial worker exited with code ${code}`)));
    worker.unref();
    return worker;
  }

  private pump(): void {
    while (this.idle.length > 0 && this.queue.length > 0) {
      const worker = this.idle.pop()!;
      const job = this.queue.shift()!;
      this.busy.set(worker, job);
      worker.ref();
      worker.postMessage(job.spec);
    }
    for (const w of this.idle) w.unref();
  }

  attempt(spec: TrialSpec): Promise<TrialOutcome> {
    if (this.closed) return Promise.reject(new NasnetError('INTERNAL', 'EmbeddedTransport: closed'));
    return new Promise((resolve, reject) => {
      this.queue.push({ spec, resolve, reject });
      this.pump();
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    const workers = [...this.idle, ...this.busy.keys()];
    for (const job of [...this.queue, ...this.busy.values()]) job.reject(new NasnetError('INTERNAL', 'EmbeddedTransport: closed'));
    this.queue.length = 0;
    this.busy.clear();
    this.idle.length = 0;
    await Promise.all(workers.map((w) => w.terminate()));
  }
}
