// The controller of a queued search run in its own process: `node queue_controller_child.js RUN [REDIS_URL]`
// (no URL: the embedded run with the same trainer, the reference). NASNET_TEST_FAULT as in fault_child.ts.
import { initEngine } from '../../core/engine.js';
import { attachRunQueue, QueueTransport } from '../../search/queue_transport.js';
import { createRun, runSearch } from '../../search/run.js';
import { faultFromEnv } from './fault_env.js';
import { QUEUE_FAKE_TRAINER, QUEUE_FAULT_CONFIG } from './queue_fixtures.js';

async function main(): Promise<void> {
  const [run, url] = process.argv.slice(2) as [string, string | undefined];
  await initEngine({ backend: 'cpu' });
  await createRun(run, QUEUE_FAULT_CONFIG);
  const fault = faultFromEnv();
  if (url === undefined) {
    const summary = await runSearch(run, { trainer: QUEUE_FAKE_TRAINER, workers: 2, backend: null, fault });
    process.stdout.write(`${JSON.stringify(summary)}\n`);
    return;
  }
  const queue = await attachRunQueue(run, url);
  const transport = await QueueTransport.open({ url, runKey: queue.key, pollMs: 50, log: (line) => process.stderr.write(`${line}\n`) });
  try {
    const summary = await runSearch(run, { transport, fault });
    process.stdout.write(`${JSON.stringify(summary)}\n`);
  } finally {
    await transport.close();
  }
}

// `node --test` also runs every .js under test/ as a test: without the run arguments this file is inert.
if (process.argv[2] !== undefined) await main();
