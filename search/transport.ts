// How trials reach whatever trains them. The run (run.ts) owns everything else (ids, seeds, retries, results,
// checkpoints), so a transport only runs one attempt of one trial and reports its outcome: embedded worker
// threads here (embedded_transport.ts), a BullMQ queue next (issue #19).
import type { TrialOutcome, TrialSpec } from './trial.js';

/** Where a worker finds the trainer: a module (absolute path) and the name of its TrialTrainer export. */
export interface TrainerRef {
  readonly module: string;
  readonly export: string;
}

export interface TrialTransport {
  /** Runs one attempt of `spec`; resolves with its outcome, rejects with the attempt's error. */
  attempt(spec: TrialSpec): Promise<TrialOutcome>;
  close(): Promise<void>;
}
