// A training progress line: epoch, step, running means of the losses, throughput and ETA. On a TTY it
// redraws one line; elsewhere (CI, logs) it prints a line every `everySteps` steps and at epoch ends.

export interface ProgressOptions {
  readonly totalEpochs: number;
  readonly stepsPerEpoch: number;
  readonly stream?: NodeJS.WriteStream | NodeJS.WritableStream;
  /** Non-TTY print interval in steps. */
  readonly everySteps?: number;
  readonly now?: () => number;
}

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '--:--';
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const rest = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${rest}` : `${m}:${rest}`;
}

export class ProgressBar {
  private readonly stream: NodeJS.WritableStream;
  private readonly tty: boolean;
  private readonly now: () => number;
  private sums = new Map<string, number>();
  private count = 0;
  private epochStart = 0;
  private stepsDoneInRun = 0;
  private runStart: number;

  constructor(private readonly options: ProgressOptions) {
    this.stream = options.stream ?? process.stderr;
    this.tty = Boolean((this.stream as NodeJS.WriteStream).isTTY);
    this.now = options.now ?? (() => performance.now());
    this.runStart = this.now();
  }

  /** Starts an epoch; `resumed` carries the loss sums of its steps taken before a resume. */
  startEpoch(resumed?: { readonly sums: Readonly<Record<string, number>>; readonly steps: number }): void {
    this.sums = new Map(Object.entries(resumed?.sums ?? {}));
    this.count = resumed?.steps ?? 0;
    this.epochStart = this.now();
  }

  /** A line of its own (e.g. "resumed at ..."), below a redrawn terminal line. */
  message(text: string): void {
    this.stream.write(this.tty ? `\r\x1b[K${text}\n` : `${text}\n`);
  }

  /** The loss sums of the epoch so far (for a checkpoint). */
  epochSums(): Record<string, number> {
    return Object.fromEntries(this.sums);
  }

  /** Records one finished step (1-based `step` within `epoch`, 0-based epoch) and its scalar losses. */
  step(epoch: number, step: number, losses: Readonly<Record<string, number>>, extra = ''): string {
    for (const [key, value] of Object.entries(losses)) this.sums.set(key, (this.sums.get(key) ?? 0) + value);
    this.count += 1;
    this.stepsDoneInRun += 1;
    const elapsed = (this.now() - this.runStart) / 1000;
    const perStep = elapsed / this.stepsDoneInRun;
    const remaining = (this.options.totalEpochs - epoch - 1) * this.options.stepsPerEpoch + (this.options.stepsPerEpoch - step);
    const means = [...this.sums].map(([key, sum]) => `${key} ${(sum / this.count).toFixed(4)}`).join(' ');
    const line =
      `epoch ${epoch + 1}/${this.options.totalEpochs} step ${step}/${this.options.stepsPerEpoch} ${means}` +
      ` ${(1 / perStep).toFixed(2)} it/s ETA ${formatDuration(remaining * perStep)}${extra ? ` ${extra}` : ''}`;
    const every = this.options.everySteps ?? Math.max(1, Math.floor(this.options.stepsPerEpoch / 10));
    if (this.tty) this.stream.write(`\r\x1b[K${line}`);
    // Off a terminal the first step of a run prints too: a log shows at once that training is running.
    else if (this.stepsDoneInRun === 1 || step % every === 0 || step === this.options.stepsPerEpoch) this.stream.write(`${line}\n`);
    return line;
  }

  /** Closes the epoch with its validation metrics; returns the mean training losses. */
  endEpoch(epoch: number, metrics: Readonly<Record<string, number>> = {}): Record<string, number> {
    const means = Object.fromEntries([...this.sums].map(([key, sum]) => [key, sum / Math.max(1, this.count)]));
    const seconds = (this.now() - this.epochStart) / 1000;
    const shown = Object.entries({ ...means, ...metrics })
      .map(([key, value]) => `${key} ${value.toFixed(4)}`)
      .join(' ');
    this.stream.write(`${this.tty ? '\r\x1b[K' : ''}epoch ${epoch + 1}/${this.options.totalEpochs} done in ${formatDuration(seconds)}: ${shown}\n`);
    return means;
  }
}
