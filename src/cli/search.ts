// nasnet search: run, resume and inspect an architecture search (search/run.ts); the logic is in search/.
import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { EXIT, NasnetError } from '../../core/errors.js';
import { initEngine, parseEngineRequest } from '../../core/engine.js';
import { createLogger } from '../../core/logger.js';
import { rasterizeSvg } from '../../core/image_io.js';
import { PPO_PRESETS } from '../../search/ppo.js';
import { STRATEGY_NAMES, type StrategyName } from '../../search/strategy.js';
import { createRun, resolveSearchConfig, runSearch } from '../../search/run.js';
import { exportTop, reportRow, reportTable, rewardPlotSvg, runStatus } from '../../search/report.js';
import { openRunTransport, readRunQueue } from '../../search/queue_transport.js';
import { formatQueueStatus, readQueueStatusOrError } from '../../search/queue_status.js';
import { cliMain, definedFields as defined, isDirectRun, numberFlag as num, parseFlags, runMain, withStopSignal, type CliStreams } from './run.js';

const USAGE = `Usage:
  nasnet search --data DIR --out RUN [--strategy ppo|random|evolution] [--trials N] [--workers K]
                [--epochs E] [--cells N] [--filters F] [--image-size S] [--child-lr X] [--seed S] [--batch B]
                [--ppo-preset paper|small]
                [--lr X] [--population P] [--sample S] [--max-attempts A] [--holdout N] [--backend NAME]
                [--queue redis://HOST:PORT]
  nasnet search resume RUN [--workers K] [--backend NAME]
  nasnet search worker --queue redis://HOST:PORT [--concurrency K]    (nasnet search worker --help)
  nasnet search status RUN [--json]
  nasnet search export RUN [--top K] --out best.json
  nasnet search report RUN... [--plot reward.png]

Searches a NASNet cell (normal + reduction) on DIR (an image folder with train/ and val/, e.g. from
\`nasnet data digits\`, CIFAR-10 binaries, or \`nasnet data classes\`): each child is the CIFAR-style network
N@24F with the sampled cell, trained E epochs with cosine decay; its accuracy on DIR/val is the reward.
A run is resumable: kill it at any moment and \`resume\` it; the result is the same as without the kill.

Options:
  --strategy NAME     ppo (controller RNN, PAPER §3), random, evolution (aging evolution) (default ppo)
  --trials N          children in total (default 100)
  --batch B           children per controller update (default 20, PAPER)
  --workers K         children trained at once on worker threads (default 1)
  --epochs E          proxy training epochs per child (default 1)
  --cells N           normal cells per stack (default 1)
  --filters F         filters of the first stack, a multiple of 4 (default 4)
  --image-size S      children's input side, >= 4; images are resized to it (default 32, CIFAR; 8 for digits
                      trains them at their own size)
  --child-lr X        children's SGD learning rate, cosine-decayed (default 0.05)
  --seed S            the run's seed: proposals, trial seeds, controller init (default 0)
  --ppo-preset NAME   small (lr 0.03, default) or paper (lr 0.00035, for ~20,000 children)
  --lr X              controller learning rate (overrides the preset)
  --population P, --sample S   aging evolution (default 20, 5)
  --holdout N         reward on N training images held out by a fixed split (0 = DIR/val; default 0;
                      use it with CIFAR-10 binaries, whose val is the test batch; PAPER: 5,000)
  --max-attempts A    attempts of a failing trial before it is recorded as failed (default 3)
  --queue URL         put the trials on this Redis (BullMQ) queue instead of local threads; any number of
                      \`nasnet search worker --queue URL\` on any machines train them (docs/search_queue.md);
                      resume and status use the run's queue again without the flag
  --json              status as JSON {done, failed, running, waiting, best, ...}
  --top K             export the K best cells (default 1)
  --plot FILE.png     report: reward against trials (PAPER Fig. 6 style), runs overlaid

Prints one line per update: batch, mean reward, baseline, entropy, best so far, done/failed/running.
Exit codes: 0 ok, 2 bad command line, 3 unreadable file, 4 invalid data, 5 bad config, 6 engine unavailable.
`;

const RUN_FLAGS = {
  data: { type: 'string' }, out: { type: 'string' }, strategy: { type: 'string' }, trials: { type: 'string' }, batch: { type: 'string' },
  workers: { type: 'string' }, epochs: { type: 'string' }, cells: { type: 'string' }, filters: { type: 'string' }, 'image-size': { type: 'string' }, 'child-lr': { type: 'string' }, seed: { type: 'string' },
  'ppo-preset': { type: 'string' }, lr: { type: 'string' }, population: { type: 'string' }, sample: { type: 'string' },
  'max-attempts': { type: 'string' }, holdout: { type: 'string' }, backend: { type: 'string' }, queue: { type: 'string' }, help: { type: 'boolean', short: 'h' },
} as const;


async function startEngine(backend: string | undefined): Promise<string> {
  const info = await initEngine({ backend: parseEngineRequest(backend, process.env), logger: createLogger({ fd: 2, level: 'warn' }) });
  return info.backend;
}

async function execute(run: string, workers: number, backend: string | undefined, io: CliStreams, queue?: string): Promise<number> {
  const engine = await startEngine(backend);
  const transport = await openRunTransport(run, queue, (line) => io.stderr.write(`${line}\n`));
  try {
    const summary = await withStopSignal((signal) => {
      // Stopping the controller abandons its waits; the queued trials stay queued (a resume finds their outcomes).
      signal.addEventListener('abort', () => void transport?.close(), { once: true });
      return runSearch(run, { workers, backend: engine, stream: io.stderr, signal, transport });
    });
    io.stdout.write(`${JSON.stringify({ run, ...summary })}\n`);
  } finally {
    await transport?.close();
  }
  return EXIT.OK;
}

async function start(argv: string[], io: CliStreams): Promise<number> {
  const { values } = parseFlags(argv, RUN_FLAGS, false);
  if (values.help === true) {
    io.stdout.write(USAGE);
    return EXIT.OK;
  }
  for (const name of ['data', 'out'] as const) if (typeof values[name] !== 'string' || values[name] === '') throw new NasnetError('INVALID_ARGUMENT', `--${name} is required (nasnet search --help)`, { field: name });
  const strategy = (values.strategy ?? 'ppo') as StrategyName;
  if (!STRATEGY_NAMES.includes(strategy)) throw new NasnetError('INVALID_ARGUMENT', `--strategy must be one of ${STRATEGY_NAMES.join(', ')}; received ${JSON.stringify(values.strategy)}`);
  const preset = values['ppo-preset'] ?? 'small';
  if (!(preset in PPO_PRESETS)) throw new NasnetError('INVALID_ARGUMENT', `--ppo-preset must be paper or small; received ${JSON.stringify(preset)}`);
  const config = resolveSearchConfig({
    ...defined({ strategy, trials: num(values, 'trials'), batchSize: num(values, 'batch'), seed: num(values, 'seed'), maxAttempts: num(values, 'max-attempts') }),
    ppo: { ...PPO_PRESETS[preset as keyof typeof PPO_PRESETS], ...defined({ learningRate: num(values, 'lr') }) },
    evolution: defined({ population: num(values, 'population'), sample: num(values, 'sample') }),
    proxy: { data: resolve(values.data!), // absolute: `resume` may run from another folder
      ...defined({ epochs: num(values, 'epochs'), cells: num(values, 'cells'), filters: num(values, 'filters'), imageSize: num(values, 'image-size'), learningRate: num(values, 'child-lr'), holdOut: num(values, 'holdout') }) },
  });
  await createRun(values.out!, config);
  return execute(values.out!, num(values, 'workers') ?? 1, values.backend, io, values.queue);
}

function runArg(positionals: string[], verb: string): string {
  if (positionals.length !== 1) throw new NasnetError('INVALID_ARGUMENT', `nasnet search ${verb} takes one RUN folder; received ${positionals.length}`);
  return positionals[0]!;
}

async function run(argv: string[], io: CliStreams): Promise<number> {
  const [verb, ...rest] = argv;
  switch (verb) {
    case 'resume': {
      const { values, positionals } = parseFlags(rest, { workers: { type: 'string' }, backend: { type: 'string' }, queue: { type: 'string' } });
      return execute(runArg(positionals, 'resume'), num(values, 'workers') ?? 1, values.backend, io, values.queue);
    }
    case 'worker':
      return (await import('./search_worker.js')).main(rest, io);
    case 'status': {
      const { values, positionals } = parseFlags(rest, { json: { type: 'boolean' } });
      await startEngine('cpu'); // runStatus reads the checkpoint's arrays through tfjs
      const status = await runStatus(runArg(positionals, 'status'));
      const onQueue = await readRunQueue(status.run);
      const queue = onQueue === undefined ? undefined : await readQueueStatusOrError(onQueue);
      if (values.json === true) io.stdout.write(`${JSON.stringify(queue === undefined ? status : { ...status, queue })}\n`);
      else {
        const best = status.best === null ? '-' : `${status.best.reward.toFixed(4)} (${status.best.trial}, seed ${status.best.seed})`;
        io.stdout.write(`${status.run}: ${status.strategy}, ${status.done} done, ${status.failed} failed, ${status.running} running, ${status.waiting} waiting of ${status.trials}${status.finished ? ' (finished)' : ''}; best ${best}\n`);
        if (queue !== undefined) io.stdout.write(formatQueueStatus(queue));
      }
      return EXIT.OK;
    }
    case 'export': {
      const { values, positionals } = parseFlags(rest, { top: { type: 'string' }, out: { type: 'string' } });
      if (typeof values.out !== 'string') throw new NasnetError('INVALID_ARGUMENT', '--out is required (nasnet search export RUN --top K --out best.json)');
      const top = num(values, 'top') ?? 1;
      const exported = await exportTop(runArg(positionals, 'export'), top);
      await writeFile(values.out, `${JSON.stringify(exported, null, 2)}\n`);
      io.stdout.write(`wrote ${exported.cells.length} cell(s) to ${values.out}; best ${exported.cells[0]!.trial} reward ${exported.cells[0]!.reward.toFixed(4)}\n`);
      return EXIT.OK;
    }
    case 'report': {
      const { values, positionals } = parseFlags(rest, { plot: { type: 'string' } });
      if (positionals.length === 0) throw new NasnetError('INVALID_ARGUMENT', 'nasnet search report takes one or more RUN folders');
      const rows = await Promise.all(positionals.map(reportRow));
      io.stdout.write(reportTable(rows));
      if (typeof values.plot === 'string') {
        await writeFile(values.plot, await rasterizeSvg(rewardPlotSvg(rows)));
        io.stdout.write(`plot: ${values.plot}\n`);
      }
      return EXIT.OK;
    }
    case undefined:
      io.stdout.write(USAGE);
      return EXIT.USAGE;
    default:
      return start(argv, io);
  }
}

export const main = cliMain(run);

if (isDirectRun(import.meta.url)) runMain(main);
