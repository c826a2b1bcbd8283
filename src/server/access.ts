// Who may call the service and what it echoes back: the request id (a client's x-request-id only if it
// is short and plain, else our own UUID), an optional API key (header x-api-key, compared in constant
// time; health checks and the demo page exempt) and CORS (off unless origins are configured). All three
// are off or harmless by default; docs/serving.md documents them.
import { createHash, randomUUID, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { FastifyInstance } from 'fastify';
import { NasnetError } from '../../core/errors.js';

/** A client's request id is kept only if it is 1..128 characters of this set (no spaces, quotes, CR/LF). */
const REQUEST_ID = /^[A-Za-z0-9._:@/+=-]{1,128}$/;
export const API_KEY_HEADER = 'x-api-key';
/** Routes anyone may call: orchestrator probes and the static demo page (it asks for the key itself). */
const OPEN_ROUTES = new Set(['/healthz', '/readyz', '/']);

/** Fastify genReqId: the client's x-request-id when it is safe to log and echo, else a new UUID. */
export function requestId(request: IncomingMessage): string {
  const header = request.headers['x-request-id'];
  return typeof header === 'string' && REQUEST_ID.test(header) ? header : randomUUID();
}

/** Equal-length digests so that neither the content nor the length of the key leaks through timing. */
function sameKey(given: string, expected: Buffer): boolean {
  return timingSafeEqual(createHash('sha256').update(given).digest(), expected);
}

export function installApiKey(app: FastifyInstance, apiKey: string): void {
  if (apiKey === '') return;
  const expected = createHash('sha256').update(apiKey).digest();
  app.addHook('onRequest', async (request) => {
    if (request.method === 'OPTIONS' || OPEN_ROUTES.has(request.url.split('?')[0] ?? '')) return;
    const given = request.headers[API_KEY_HEADER];
    if (typeof given !== 'string' || !sameKey(given, expected)) {
      throw new NasnetError('UNAUTHORIZED', `send the API key in header ${API_KEY_HEADER}`);
    }
  });
}

/** Parses the corsOrigins setting: '' off, '*' any, else exact origins. */
export function parseCorsOrigins(setting: string): '*' | ReadonlySet<string> | undefined {
  const trimmed = setting.trim();
  if (trimmed === '') return undefined;
  if (trimmed === '*') return '*';
  return new Set(trimmed.split(',').map((o) => o.trim().replace(/\/$/, '')).filter((o) => o !== ''));
}

/**
 * CORS (Fetch standard, "CORS protocol"): an allowed Origin gets Access-Control-Allow-Origin on every
 * answer, and a preflight (OPTIONS with Access-Control-Request-Method) a 204 naming the methods and
 * headers a browser may use. A disallowed origin gets no CORS headers: the browser then blocks it.
 */
export function installCors(app: FastifyInstance, setting: string): void {
  const allowed = parseCorsOrigins(setting);
  if (allowed === undefined) return;
  const allows = (origin: string): boolean => allowed === '*' || allowed.has(origin);
  app.addHook('onRequest', async (request, reply) => {
    const origin = request.headers.origin;
    if (typeof origin !== 'string' || !allows(origin)) return;
    void reply.header('access-control-allow-origin', allowed === '*' ? '*' : origin);
    void reply.header('access-control-expose-headers', 'x-request-id, retry-after');
    if (allowed !== '*') void reply.header('vary', 'Origin');
    if (request.method === 'OPTIONS' && request.headers['access-control-request-method'] !== undefined) {
      void reply.header('access-control-allow-methods', 'GET, POST');
      void reply.header('access-control-allow-headers', `content-type, ${API_KEY_HEADER}, x-request-id`);
      void reply.header('access-control-max-age', '600');
      return reply.code(204).send();
    }
  });
  // Preflights must reach the hook above instead of a 404 for an unknown method.
  app.options('*', { schema: { hide: true } }, async (_request, reply) => reply.code(204).send());
}
