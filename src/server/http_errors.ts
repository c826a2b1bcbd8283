// Every error response is JSON `{error: {code, message}}` with the status from the central error table.
// Typed NasnetErrors keep their code and message; Fastify's and the multipart plugin's own errors are
// mapped by status to a table code; anything else is a 500 whose details go to the log, not the client.
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ERROR_TABLE, isNasnetError, type ErrorCode } from '../../core/errors.js';

export interface HttpError {
  readonly status: number;
  readonly code: ErrorCode;
  readonly message: string;
}

export interface ErrorBody {
  readonly error: { readonly code: ErrorCode; readonly message: string };
}

/** Codes whose response carries Retry-After: the client should come back, not give up. */
const RETRYABLE: ReadonlySet<ErrorCode> = new Set(['QUEUE_FULL', 'NOT_READY']);

function codeForStatus(status: number): ErrorCode {
  switch (status) {
    case 404:
      return 'NOT_FOUND';
    case 406:
    case 415:
      return 'UNSUPPORTED_MEDIA_TYPE';
    case 413:
      return 'PAYLOAD_TOO_LARGE';
    case 503:
      return 'NOT_READY';
    default:
      return status >= 400 && status < 500 ? 'INVALID_DATA' : 'INTERNAL';
  }
}

/** Maps any thrown value to the status, table code and client-safe message of its response. */
export function toHttpError(error: unknown): HttpError {
  if (isNasnetError(error)) {
    const status = error.httpStatus;
    // Internal failures are logged in full; the client learns only the category.
    const message = status >= 500 && error.code === 'INTERNAL' ? ERROR_TABLE.INTERNAL.summary : error.message;
    return { status, code: error.code, message };
  }
  const fastifyError = error as Partial<FastifyError>;
  const status = typeof fastifyError.statusCode === 'number' ? fastifyError.statusCode : 500;
  if (status >= 500) return { status: 500, code: 'INTERNAL', message: ERROR_TABLE.INTERNAL.summary };
  if (fastifyError.validation !== undefined) return { status: 400, code: 'INVALID_ARGUMENT', message: String(fastifyError.message) };
  return { status, code: codeForStatus(status), message: String(fastifyError.message ?? ERROR_TABLE[codeForStatus(status)].summary) };
}

/** Fastify's 415 says only "Unsupported Media Type": name the type and what is accepted. */
function describeMediaType(http: HttpError, error: unknown, request: FastifyRequest): HttpError {
  if ((error as { code?: unknown }).code !== 'FST_ERR_CTP_INVALID_MEDIA_TYPE') return http;
  const type = request.headers['content-type'] ?? '(none)';
  return {
    ...http,
    message: `Content-Type ${type} is not accepted; send multipart/form-data with a file field "image", or a raw image/* body`,
  };
}

export function errorBody(error: HttpError): ErrorBody {
  return { error: { code: error.code, message: error.message } };
}

/** The underlying error's text (a decoder's message): logged, never sent. */
function causeOf(error: unknown): string | undefined {
  const cause = (error as { cause?: unknown }).cause;
  return cause instanceof Error ? cause.message : undefined;
}

/** Installs the error and not-found handlers on `app` (call on the root instance). */
export function installErrorHandlers(
  app: FastifyInstance,
  retryAfterSeconds: number,
  onError: (code: ErrorCode) => void = () => undefined,
): void {
  app.setErrorHandler((error: unknown, request: FastifyRequest, reply: FastifyReply) => {
    const http = describeMediaType(toHttpError(error), error, request);
    onError(http.code);
    if (http.status >= 500 && http.code === 'INTERNAL') request.log.error({ err: error }, 'request failed');
    else request.log.info({ code: http.code, status: http.status, reason: http.message, detail: causeOf(error) }, 'request rejected');
    if (RETRYABLE.has(http.code)) void reply.header('retry-after', String(retryAfterSeconds));
    return reply.code(http.status).send(errorBody(http));
  });
  app.setNotFoundHandler((request: FastifyRequest, reply: FastifyReply) => {
    const http: HttpError = { status: 404, code: 'NOT_FOUND', message: `no route ${request.method} ${request.url.split('?')[0]}` };
    onError(http.code);
    return reply.code(404).send(errorBody(http));
  });
}

/**
 * Ajv errors in one line that says what is wrong: `query parameter "topK" must be <= 1000` or
 * `unknown query parameter "foo" (allowed: topK)`.
 */
export function formatValidationErrors(
  errors: ReadonlyArray<{ instancePath: string; keyword: string; params: Record<string, unknown>; message?: string }>,
  dataVar: string,
  allowedQuery: readonly string[] = [],
): Error {
  const where = dataVar === 'querystring' ? 'query parameter' : `${dataVar} field`;
  const lines = errors.map((e) => {
    if (e.keyword === 'additionalProperties') {
      const known = dataVar === 'querystring' ? allowedQuery : [];
      return `unknown ${where} "${String(e.params.additionalProperty)}"${known.length > 0 ? ` (allowed: ${known.join(', ')})` : ''}`;
    }
    const field = e.instancePath.replace(/^\//, '').replace(/\//g, '.');
    return field === '' ? `${dataVar} ${e.message ?? 'is invalid'}` : `${where} "${field}" ${e.message ?? 'is invalid'}`;
  });
  return new Error(lines.join('; '));
}
