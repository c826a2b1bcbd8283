// The package's one error type. Codes and exit codes are the same as nasnet-ts' table (2 usage,
// 3 unreadable file, 4 invalid input, 6 unavailable), so the coco-eval CLI exits alike in both.

/** Exit codes of the coco-eval CLI. */
export const EXIT = {
  OK: 0,
  /** Unexpected failure: a bug, reported with a stack trace. */
  INTERNAL: 1,
  /** Bad command line: unknown flag, missing or malformed value. */
  USAGE: 2,
  /** An input file could not be read, or an output file written. */
  IO: 3,
  /** An input was read but is not valid (JSON syntax, a record, a size limit). */
  INVALID_INPUT: 4,
  /** An optional package (sharp, for --plot) is not available. */
  UNAVAILABLE: 6,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

export const COCO_EVAL_ERROR_EXIT = {
  INVALID_ARGUMENT: EXIT.USAGE,
  IO_ERROR: EXIT.IO,
  INVALID_JSON: EXIT.INVALID_INPUT,
  INVALID_DATA: EXIT.INVALID_INPUT,
  ENGINE_UNAVAILABLE: EXIT.UNAVAILABLE,
} as const satisfies Record<string, ExitCode>;

export type CocoEvalErrorCode = keyof typeof COCO_EVAL_ERROR_EXIT;

/** Thrown on purpose by the evaluator and its CLI; `code` names the kind, `exitCode` follows from it. */
export class CocoEvalError extends Error {
  readonly code: CocoEvalErrorCode;
  readonly details: Readonly<Record<string, unknown>> | undefined;

  constructor(code: CocoEvalErrorCode, message: string, details?: Record<string, unknown>, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'CocoEvalError';
    this.code = code;
    this.details = details;
  }

  get exitCode(): ExitCode {
    return COCO_EVAL_ERROR_EXIT[this.code];
  }
}
