// One table of error codes for the whole package: every typed failure maps to an HTTP status (the
// service) and a process exit code (the CLIs). Add a code here, never a status or exit code inline.

/** Exit codes shared by every CLI; `--help` texts and the README list them. */
export const EXIT = {
  OK: 0,
  /** Unexpected failure: a bug, reported with a stack trace. */
  INTERNAL: 1,
  /** Bad command line: unknown flag, missing or malformed value. */
  USAGE: 2,
  /** An input file could not be read (missing, permission, I/O). */
  IO: 3,
  /** An input was read but is not valid (JSON syntax, schema, image data, weights). */
  INVALID_INPUT: 4,
  /** A configuration value is invalid (flag, env variable or config file). */
  CONFIG: 5,
  /** A required engine or optional package is not available. */
  UNAVAILABLE: 6,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

interface ErrorKind {
  readonly httpStatus: number;
  readonly exitCode: ExitCode;
  readonly summary: string;
}

export const ERROR_TABLE = {
  INVALID_ARGUMENT: { httpStatus: 400, exitCode: EXIT.USAGE, summary: 'an argument or query value is invalid' },
  INVALID_CONFIG: { httpStatus: 500, exitCode: EXIT.CONFIG, summary: 'a configuration value is invalid' },
  INVALID_JSON: { httpStatus: 400, exitCode: EXIT.INVALID_INPUT, summary: 'a JSON document could not be parsed' },
  INVALID_DATA: { httpStatus: 400, exitCode: EXIT.INVALID_INPUT, summary: 'a record is missing a field or has a bad value' },
  IO_ERROR: { httpStatus: 500, exitCode: EXIT.IO, summary: 'a file could not be read or written' },
  NOT_AN_IMAGE: { httpStatus: 400, exitCode: EXIT.INVALID_INPUT, summary: 'the bytes are not a decodable image' },
  UNSUPPORTED_MEDIA_TYPE: { httpStatus: 415, exitCode: EXIT.INVALID_INPUT, summary: 'the image format is not accepted' },
  IMAGE_TOO_LARGE: { httpStatus: 413, exitCode: EXIT.INVALID_INPUT, summary: 'the image exceeds the pixel or page limit' },
  IMAGE_TOO_SMALL: { httpStatus: 400, exitCode: EXIT.INVALID_INPUT, summary: 'the image is smaller than the minimum side' },
  PAYLOAD_TOO_LARGE: { httpStatus: 413, exitCode: EXIT.INVALID_INPUT, summary: 'the request body exceeds the size limit' },
  WEIGHTS_MISMATCH: { httpStatus: 500, exitCode: EXIT.INVALID_INPUT, summary: 'weights do not match the model' },
  CHECKSUM_MISMATCH: { httpStatus: 500, exitCode: EXIT.INVALID_INPUT, summary: 'a file differs from its published or recorded checksum' },
  CHECKPOINT_INVALID: { httpStatus: 500, exitCode: EXIT.INVALID_INPUT, summary: 'a checkpoint is missing or corrupt' },
  ENGINE_UNAVAILABLE: { httpStatus: 500, exitCode: EXIT.UNAVAILABLE, summary: 'the requested engine cannot be loaded' },
  ADDRESS_UNAVAILABLE: { httpStatus: 500, exitCode: EXIT.UNAVAILABLE, summary: 'the server cannot listen on the address (in use or not permitted)' },
  WEIGHTS_UNAVAILABLE: { httpStatus: 503, exitCode: EXIT.UNAVAILABLE, summary: 'published weights are not cached and were not (or could not be) fetched' },
  NOT_READY: { httpStatus: 503, exitCode: EXIT.UNAVAILABLE, summary: 'the models are not loaded yet' },
  QUEUE_FULL: { httpStatus: 503, exitCode: EXIT.UNAVAILABLE, summary: 'the inference queue is full' },
  DEADLINE_EXCEEDED: { httpStatus: 504, exitCode: EXIT.INTERNAL, summary: 'the request did not finish in time' },
  // nginx's 499: the answer has nobody to go to; it shows in logs and metrics, never on a wire.
  CLIENT_CLOSED: { httpStatus: 499, exitCode: EXIT.INTERNAL, summary: 'the client closed the connection before the answer' },
  UNAUTHORIZED: { httpStatus: 401, exitCode: EXIT.USAGE, summary: 'the API key is missing or wrong' },
  NOT_FOUND: { httpStatus: 404, exitCode: EXIT.INVALID_INPUT, summary: 'the resource does not exist' },
  INTERNAL: { httpStatus: 500, exitCode: EXIT.INTERNAL, summary: 'an unexpected internal error' },
} as const satisfies Record<string, ErrorKind>;

export type ErrorCode = keyof typeof ERROR_TABLE;

/** The one error type the library throws on purpose; `code` picks the status and exit code. */
export class NasnetError extends Error {
  readonly code: ErrorCode;
  readonly details: Readonly<Record<string, unknown>> | undefined;

  constructor(code: ErrorCode, message: string, details?: Record<string, unknown>, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'NasnetError';
    this.code = code;
    this.details = details;
  }

  get httpStatus(): number {
    return ERROR_TABLE[this.code].httpStatus;
  }

  get exitCode(): ExitCode {
    return ERROR_TABLE[this.code].exitCode;
  }
}

export function isNasnetError(error: unknown): error is NasnetError {
  return error instanceof NasnetError;
}

/** An error as it crosses a worker-thread boundary: structured clone keeps data, not the class. */
export interface WireError {
  readonly code: ErrorCode;
  readonly message: string;
  /** The cause's message (e.g. libvips' text): for the server log, never for clients. */
  readonly detail?: string;
}

/** Any thrown value as a WireError (untyped errors become INTERNAL). */
export function toWireError(error: unknown): WireError {
  if (isNasnetError(error)) {
    const cause = error.cause;
    return cause instanceof Error ? { code: error.code, message: error.message, detail: cause.message } : { code: error.code, message: error.message };
  }
  return { code: 'INTERNAL', message: error instanceof Error ? error.message : String(error) };
}

/** A WireError back as a NasnetError; its detail becomes the cause. */
export function fromWireError(wire: WireError, prefix = ''): NasnetError {
  return new NasnetError(wire.code, `${prefix}${wire.message}`, undefined, wire.detail === undefined ? undefined : { cause: new Error(wire.detail) });
}

/** Exit code for any thrown value: typed errors by table, anything else is internal. */
export function exitCodeOf(error: unknown): ExitCode {
  return isNasnetError(error) ? error.exitCode : EXIT.INTERNAL;
}

/** HTTP status for any thrown value: typed errors by table, anything else is 500. */
export function httpStatusOf(error: unknown): number {
  return isNasnetError(error) ? error.httpStatus : 500;
}
