// The epoch loop both training tasks share: resume from the last checkpoint, run steps with progress,
// validate and checkpoint at each epoch end (and every N steps inside long epochs), so that a run killed
// at any point restarts from its last checkpoint with the same data order and optimizer state.
import { ProgressBar } from './progress.js';

export interface EpochRecord {
  readonly epoch: number;
  readonly train: Readonly<Record<string, number>>;
  readonly validation: Readonly<Record<string, number>>;
  readonly seconds: number;
}

/** What a checkpoint stores besides the weights: where training stands. */
export interface TrainingState {
  /** Epoch in progress (0-based). */
  readonly epoch: number;
  /** Steps of that epoch already taken. */
  readonly stepInEpoch: number;
  readonly globalStep: number;
  readonly history: readonly EpochRecord[];
  /**
   * Sums of each loss over the `stepInEpoch` steps already taken (mid-epoch checkpoints only), so that a
   * resumed epoch records the mean over all its steps, not only those since the resume.
   */
  readonly epochLossSums?: Readonly<Record<string, number>>;
}

export const FRESH_STATE: TrainingState = { epoch: 0, stepInEpoch: 0, globalStep: 0, history: [] };

export interface TrainingTask<B extends { dispose(): void }> {
  readonly epochs: number;
  readonly stepsPerEpoch: number;
  /** The batches of `epoch` after the first `skip`: the order must depend only on (seed, epoch). */
  batches(epoch: number, skip: number): AsyncIterable<B>;
  /** One optimisation step; returns scalar losses by fixed name. */
  trainStep(batch: B, globalStep: number): Promise<Record<string, number>>;
  validate?(epoch: number): Promise<Record<string, number>>;
  /** Writes weights, optimizer state and `state` atomically. */
  save(state: TrainingState): Promise<void>;
  /** Loads the last checkpoint into the model and optimizer and returns its state; undefined to start fresh. */
  restore(): Promise<TrainingState | undefined>;
}

export interface RunOptions {
  /** Also checkpoint every this many steps inside an epoch (0 = only at epoch ends). */
  readonly checkpointEverySteps?: number;
  readonly stream?: NodeJS.WritableStream;
  /** Stop cleanly (after checkpointing) when aborted, e.g. on SIGINT. */
  readonly signal?: AbortSignal;
}

export async function runTraining<B extends { dispose(): void }>(task: TrainingTask<B>, options: RunOptions = {}): Promise<TrainingState> {
  let state = (await task.restore()) ?? FRESH_STATE;
  const progress = new ProgressBar({ totalEpochs: task.epochs, stepsPerEpoch: task.stepsPerEpoch, stream: options.stream });
  const every = options.checkpointEverySteps ?? 0;
  if (state !== FRESH_STATE && state.epoch < task.epochs) {
    progress.message(`resumed at epoch ${state.epoch + 1}/${task.epochs}, step ${state.stepInEpoch}/${task.stepsPerEpoch} (global step ${state.globalStep})`);
  }

  while (state.epoch < task.epochs) {
    const epoch = state.epoch;
    const started = performance.now();
    // Older checkpoints lack the sums: their epoch mean covers the steps since the resume, as it used to.
    progress.startEpoch(state.epochLossSums === undefined ? undefined : { sums: state.epochLossSums, steps: state.stepInEpoch });
    let stepInEpoch = state.stepInEpoch;
    let globalStep = state.globalStep;
    for await (const batch of task.batches(epoch, stepInEpoch)) {
      let losses: Record<string, number>;
      try {
        losses = await task.trainStep(batch, globalStep);
      } finally {
        batch.dispose();
      }
      for (const [key, value] of Object.entries(losses)) {
        if (!Number.isFinite(value)) throw new Error(`training diverged: ${key} = ${value} at epoch ${epoch + 1}, step ${stepInEpoch + 1}`);
      }
      stepInEpoch += 1;
      globalStep += 1;
      progress.step(epoch, stepInEpoch, losses);
      const aborted = options.signal?.aborted === true;
      if ((every > 0 && stepInEpoch % every === 0 && stepInEpoch < task.stepsPerEpoch) || aborted) {
        state = { ...state, stepInEpoch, globalStep, epochLossSums: progress.epochSums() };
        await task.save(state);
        if (aborted) return state;
      }
      if (stepInEpoch >= task.stepsPerEpoch) break;
    }
    const validation = task.validate ? await task.validate(epoch) : {};
    const train = progress.endEpoch(epoch, validation);
    const record: EpochRecord = { epoch, train, validation, seconds: (performance.now() - started) / 1000 };
    state = { epoch: epoch + 1, stepInEpoch: 0, globalStep, history: [...state.history, record] }; // no sums: a new epoch
    await task.save(state);
    if (options.signal?.aborted) return state;
  }
  return state;
}
