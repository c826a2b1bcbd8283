// nasnet search worker --queue redis://HOST:PORT [--concurrency K]: trains the children of every search run
// on that queue until SIGTERM / SIGINT (search/queue_worker.ts). Start as many as you like, on any machine,
// before or after the controller.
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EXIT, NasnetError } from '../../core/errors.js';
import { initEngine, parseEngineRequest } from '../../core/engine.js';
import { createLogger } from '../../core/logger.js';
import { QueueWorker } from '../../search/queue_worker.js';
import { redactUrl } from '../../search/redis_check.js';
import { DEFAULT_TRAINER } from '../../search/run.js';
import { cliMain, isDirectRun, parseFlags, runMain, type CliStreams } from './run.js';

const USAGE = `Usage: nasnet search worker --queue redis://HOST:PORT [--concurrency K] [--dir DIR] [--backend NAME]

Takes the trials of any \`nasnet search ... --queue\` run from the queue and trains each child on a worker
thread (K at once). The proxy data path in the run's config must exist here too (a shared volume, or the
same \`nasnet data digits --out DIR\` on every machine). Stop with SIGTERM / Ctrl-C: running children
finish (up to --grace seconds); a worker that dies instead has its trials taken again by the others.

Options:
  --queue URL         redis:// or rediss:// URL (Redis >= 6.2 with appendonly yes, maxmemory-policy noeviction)
  --concurrency K     children trained at once, one thread each (default 1; about the free cores)
  --dir DIR           children's working folders and checkpoints (default $TMPDIR/nasnet-search-worker);
                      a trial taken again by a worker sharing DIR resumes its child's training
  --backend NAME      TensorFlow.js engine for the children: auto, wasm, cpu (env NASNET_BACKEND)
  --lock SECONDS      job lock: a dead worker's trials are taken again after about this long (default 30)
  --grace SECONDS     on SIGTERM, how long running children may finish (default 60)

Exit codes: 0 ok (stopped by a signal), 2 bad command line, 5 Redis unfit for a queue (the reason is printed).
`;

const FLAGS = {
  queue: { type: 'string' }, concurrency: { type: 'string' }, dir: { type: 'string' }, backend: { type: 'string' },
  lock: { type: 'string' }, grace: { type: 'string' }, help: { type: 'boolean', short: 'h' },
} as const;

function positive(raw: string | undefined, name: string, fallback: number): number {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!(value > 0) || !Number.isFinite(value)) throw new NasnetError('INVALID_ARGUMENT', `--${name} must be a positive number; received ${JSON.stringify(raw)}`, { field: name });
  return value;
}

async function run(argv: string[], io: CliStreams): Promise<number> {
  const { values } = parseFlags(argv, FLAGS, false);
  if (values.help === true) {
    io.stdout.write(USAGE);
    return EXIT.OK;
  }
  if (typeof values.queue !== 'string') throw new NasnetError('INVALID_ARGUMENT', '--queue redis://HOST:PORT is required (nasnet search worker --help)', { field: 'queue' });
  const concurrency = positive(values.concurrency, 'concurrency', 1);
  if (!Number.isInteger(concurrency)) throw new NasnetError('INVALID_ARGUMENT', `--concurrency must be an integer; received ${values.concurrency}`);
  const lockMs = positive(values.lock, 'lock', 30) * 1000;
  const graceMs = positive(values.grace, 'grace', 60) * 1000;
  const engine = await initEngine({ backend: parseEngineRequest(values.backend, process.env), logger: createLogger({ fd: 2, level: 'warn' }) });
  const worker = await QueueWorker.start({
    url: values.queue, concurrency, trainer: DEFAULT_TRAINER, backend: engine.backend, dir: values.dir ?? join(tmpdir(), 'nasnet-search-worker'),
    lockMs, stalledMs: Math.max(1000, lockMs / 2), log: (line) => io.stderr.write(`${new Date().toISOString()} ${line}\n`),
  });
  io.stderr.write(`search worker: pid ${process.pid}, ${concurrency} thread(s), engine ${engine.backend}, queue ${redactUrl(values.queue)}\n`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  io.stderr.write(`search worker: stopping (running children have ${graceMs / 1000} s)\n`);
  const force = (): void => process.exit(EXIT.OK);
  process.once('SIGINT', force);
  process.once('SIGTERM', force);
  await worker.close(graceMs);
  return EXIT.OK;
}

export const main = cliMain(run);

if (isDirectRun(import.meta.url)) runMain(main);
