// The search checkpoint: one core/checkpoint.ts directory (atomic replace; a kill leaves the old or the new
// one) holding the strategy's arrays (controller weights, Adam slots) as float32 weights and, in `extra`,
// everything else the next update needs: the batch index (which also fixes the proposal PRNG, strategy.ts),
// the strategy's JSON state (baseline, Adam step, evolution population), the pending trials with their
// decisions and log-probabilities, and one record per finished batch. Nothing in it depends on time or on
// the process, so an interrupted and an uninterrupted run write the same bytes.
import * as tf from '@tensorflow/tfjs-core';
import { loadCheckpoint, saveCheckpoint } from '../core/checkpoint.js';
import { NasnetError } from '../core/errors.js';
import type { UpdateStats } from './strategy.js';

export const SEARCH_CHECKPOINT_FORMAT = 'nasnet-ts/search-state@1';

export interface PendingTrial {
  /** Deterministic: `t` + zero-padded index. */
  readonly id: string;
  readonly index: number;
  /** The child's training seed, derived from (run seed, index). */
  readonly seed: number;
  readonly decisions: readonly number[];
  readonly logProbs: readonly number[] | null;
}

export interface BatchRecord extends UpdateStats {
  readonly batch: number;
  readonly done: number;
  readonly failed: number;
  /** Best reward of the run so far and its trial. */
  readonly best: { readonly id: string; readonly reward: number } | null;
}

export interface SearchState {
  /** The batch whose trials are pending (the next to update). */
  readonly batch: number;
  readonly pending: readonly PendingTrial[];
  readonly strategy: unknown;
  readonly history: readonly BatchRecord[];
}

export async function saveSearchCheckpoint(dir: string, state: SearchState, arrays: ReadonlyMap<string, Float32Array>): Promise<void> {
  const weights = [...arrays].map(([name, values]) => ({ name, tensor: tf.tensor1d(values, 'float32') as tf.Tensor }));
  try {
    await saveCheckpoint(dir, { config: { format: SEARCH_CHECKPOINT_FORMAT }, weights, extra: state as unknown });
  } finally {
    tf.dispose(weights.map((w) => w.tensor));
  }
}

export async function loadSearchCheckpoint(dir: string): Promise<{ state: SearchState; arrays: Map<string, Float32Array> }> {
  const loaded = await loadCheckpoint(dir);
  try {
    if ((loaded.config as { format?: unknown } | null)?.format !== SEARCH_CHECKPOINT_FORMAT) {
      throw new NasnetError('CHECKPOINT_INVALID', `loadSearchCheckpoint: ${dir} is not a search checkpoint (format ${SEARCH_CHECKPOINT_FORMAT})`, { dir });
    }
    const state = loaded.extra as SearchState | null;
    if (state === null || !Number.isInteger(state.batch) || !Array.isArray(state.pending) || !Array.isArray(state.history)) {
      throw new NasnetError('CHECKPOINT_INVALID', `loadSearchCheckpoint: ${dir} lacks {batch, pending, history}`, { dir });
    }
    const arrays = new Map([...loaded.weights].map(([name, t]) => [name, Float32Array.from(t.dataSync() as Float32Array)]));
    return { state, arrays };
  } finally {
    tf.dispose([...loaded.weights.values()]);
  }
}
