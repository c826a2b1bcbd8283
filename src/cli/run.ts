// What every CLI entry shares: parse flags strictly, turn errors into one stderr line and the exit code
// from the error table, and run `main` only when the file is executed directly (not when imported by tests).
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { CocoEvalError } from 'pycocotools-js';
import { EXIT, NasnetError, exitCodeOf, isNasnetError } from '../../core/errors.js';

type Options = NonNullable<ParseArgsConfig['options']>;

/** Where a CLI writes: the process's streams, or buffers in tests. */
export interface CliStreams {
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream;
}

/** node:util parseArgs with strict checking; a bad command line becomes INVALID_ARGUMENT (exit 2). */
export function parseFlags<O extends Options>(argv: string[], options: O, allowPositionals = true) {
  try {
    return parseArgs({ args: argv, options, allowPositionals, strict: true });
  } catch (error) {
    throw new NasnetError('INVALID_ARGUMENT', (error as Error).message);
  }
}

/** A numeric flag's value (range checks are the resolvers' job); undefined when absent. */
export function numberFlag(values: Readonly<Record<string, unknown>>, name: string): number | undefined {
  const raw = values[name];
  if (raw === undefined) return undefined;
  const value = Number(raw);
  if (typeof raw !== 'string' || raw.trim() === '' || !Number.isFinite(value)) {
    throw new NasnetError('INVALID_ARGUMENT', `--${name} must be a number; received ${JSON.stringify(raw)}`, { field: name });
  }
  return value;
}

/** Drops undefined fields so that the resolvers' defaults apply. */
export function definedFields<T extends object>(fields: T): Partial<T> {
  return Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined)) as Partial<T>;
}

export type CliMain = (argv: string[], io?: CliStreams) => Promise<number>;

/** Wraps a verb's body into its `main`: typed errors become one stderr line and the table's exit code. */
export function cliMain(run: (argv: string[], io: CliStreams) => Promise<number>): CliMain {
  return async (argv, io = process) => {
    try {
      return await run(argv, io);
    } catch (error) {
      return reportError(error, io.stderr);
    }
  };
}

/** Prints an error the way every CLI does: typed errors as one line, bugs with their stack. */
export function reportError(error: unknown, stderr: NodeJS.WritableStream = process.stderr): number {
  // The COCO evaluator (its own package) throws its own typed error, with the same exit codes.
  if (isNasnetError(error) || error instanceof CocoEvalError) {
    stderr.write(`error: ${error.message}\n`);
    return error.exitCode;
  }
  stderr.write(`internal error: ${(error as Error)?.stack ?? String(error)}\n`);
  return exitCodeOf(error);
}

/**
 * Runs `work` with SIGINT / SIGTERM turned into an abort (training checkpoints, then returns). `on`, not
 * `once`: a second signal (a wrapper relaying Ctrl-C to its child) must not kill the process mid-save.
 */
export async function withStopSignal<T>(work: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  const stop = (): void => controller.abort();
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  try {
    return await work(controller.signal);
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
}

/** True when `moduleUrl` is the script node was started with. */
export function isDirectRun(moduleUrl: string): boolean {
  const script = process.argv[1];
  if (script === undefined) return false;
  try {
    return realpathSync(script) === realpathSync(fileURLToPath(moduleUrl));
  } catch {
    return false;
  }
}

/** Runs `main` and exits with its code; errors are reported, never thrown to the top level. */
export function runMain(main: (argv: string[]) => Promise<number>): void {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      process.exitCode = reportError(error);
    },
  );
}

export { EXIT };
