// The pino logger factory. Services log JSON to stdout; CLIs whose stdout carries results log to stderr.
import { pino, type Logger, type LevelWithSilent } from 'pino';

export type { Logger };

export interface LoggerOptions {
  readonly level?: LevelWithSilent;
  readonly name?: string;
  /** 1 = stdout, 2 = stderr. */
  readonly fd?: 1 | 2;
}

export function createLogger(options: LoggerOptions = {}): Logger {
  return pino(
    { level: options.level ?? 'info', name: options.name ?? 'nasnet', base: { pid: process.pid } },
    pino.destination({ fd: options.fd ?? 1, sync: true }),
  );
}

/** A logger that drops everything (library defaults, tests). */
export const silentLogger: Logger = pino({ level: 'silent' });
