// A search worker in its own process for the queue tests: `node queue_worker_child.js REDIS_URL DIR [TRAINER]`
// (TRAINER: `fake` (default) or `real`). NASNET_TEST_WORKER_FAULT=after-outcome:n SIGKILLs it right after
// its n-th stored outcome, before the job completes. SIGTERM closes it gracefully.
import { QueueWorker } from '../../search/queue_worker.js';
import { DEFAULT_TRAINER } from '../../search/run.js';
import { QUEUE_FAKE_TRAINER } from './queue_fixtures.js';

async function main(): Promise<void> {
  const [url, dir, kind] = process.argv.slice(2) as [string, string, string | undefined];
  const [point, nth] = (process.env.NASNET_TEST_WORKER_FAULT ?? '').split(':');
  let hits = 0;
  const real = kind === 'real';
  const worker = await QueueWorker.start({
    url, dir, concurrency: Number(process.env.NASNET_TEST_CONCURRENCY ?? 2),
    trainer: real ? DEFAULT_TRAINER : QUEUE_FAKE_TRAINER, backend: real ? 'wasm' : null,
    lockMs: real ? 10_000 : 1_500, stalledMs: real ? 5_000 : 500, maxStalled: 10, heartbeatMs: 500,
    log: (line) => process.stderr.write(`[worker ${process.pid}] ${line}\n`),
    fault: (at) => {
      if (at === point && ++hits === Number(nth)) process.kill(process.pid, 'SIGKILL');
    },
  });
  process.stdout.write('ready\n');
  process.once('SIGTERM', () => {
    void worker.close(5_000).then(() => process.exit(0));
  });
}

// `node --test` also runs every .js under test/ as a test: without the run arguments this file is inert.
if (process.argv[2] !== undefined) await main();
