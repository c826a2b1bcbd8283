// The download progress line: size, percentage, rate and ETA redrawn in place on a terminal (at most
// 10 times a second); nothing at all when the stream is not a TTY (logs and CI stay quiet).
export interface ProgressLine {
  readonly update: (bytes: number, total: number | undefined) => void;
  /** Ends the line (a TTY gets its newline). */
  readonly done: () => void;
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(0)} kB`;
  if (bytes < 1024 * 1024 * 1024) return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
  return `${(bytes / 1024 / 1024 / 1024).toFixed(2)} GB`;
}

function formatSeconds(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  const s = Math.round(seconds);
  return s < 60 ? `${s}s` : `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
}

/** The text of one progress line (exported for tests). */
export function progressText(label: string, bytes: number, total: number | undefined, startBytes: number, elapsedSeconds: number): string {
  const rate = elapsedSeconds > 0 ? (bytes - startBytes) / elapsedSeconds : 0;
  if (total === undefined) return `${label}  ${formatBytes(bytes)}  ${formatBytes(rate)}/s`;
  const percent = total > 0 ? Math.min(100, (100 * bytes) / total) : 100;
  const eta = rate > 0 ? (total - bytes) / rate : Number.POSITIVE_INFINITY;
  return `${label}  ${formatBytes(bytes)} / ${formatBytes(total)}  ${percent.toFixed(0)}%  ${formatBytes(rate)}/s  ETA ${formatSeconds(eta)}`;
}

export function progressLine(stream: NodeJS.WritableStream, label: string, now: () => number = Date.now): ProgressLine {
  const tty = (stream as { isTTY?: boolean }).isTTY === true;
  if (!tty) return { update: () => undefined, done: () => undefined };
  const start = now();
  let startBytes: number | undefined;
  let last = 0;
  let drawn = false;
  return {
    update(bytes, total) {
      startBytes ??= bytes;
      const t = now();
      if (t - last < 100 && bytes !== total) return;
      last = t;
      drawn = true;
      stream.write(`\r${progressText(label, bytes, total, startBytes, (t - start) / 1000)}\x1b[K`);
    },
    done() {
      if (drawn) stream.write('\n');
    },
  };
}
