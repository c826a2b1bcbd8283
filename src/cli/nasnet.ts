#!/usr/bin/env node
// nasnet: one command, one verb per file in this folder (each exports `main(argv): Promise<number>`).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../../core/paths.js';
import { EXIT, isDirectRun, reportError, runMain } from './run.js';

interface Verb {
  readonly summary: string;
  readonly load: () => Promise<{ main(argv: string[]): Promise<number> }>;
}

const VERBS: Readonly<Record<string, Verb>> = {
  serve: { summary: 'run the HTTP service (POST /classify, POST /detect)', load: () => import('./serve.js') },
  classify: { summary: 'classify images with a NASNet (Keras .h5 or checkpoint)', load: () => import('./classify.js') },
  convert: { summary: 'convert weights between Keras .h5 and nasnet-ts checkpoints', load: () => import('./convert.js') },
  export: { summary: 'export a model to ONNX or a Triton / KServe model repository', load: () => import('./export.js') },
  data: { summary: 'generate datasets (synthetic shapes and classes, UCI digits image folder)', load: () => import('./data.js') },
  train: { summary: 'train a detector (Faster R-CNN) or a classifier, resumable', load: () => import('./train.js') },
  search: { summary: 'search a cell (controller RNN + PPO, random, evolution), resumable; status, export, report', load: () => import('./search.js') },
  detect: { summary: 'detect objects in images or a whole COCO-format set (COCO results JSON)', load: () => import('./detect.js') },
};

function usage(): string {
  const verbs = Object.entries(VERBS)
    .map(([name, verb]) => `  ${name.padEnd(10)} ${verb.summary}`)
    .join('\n');
  return `Usage: nasnet <verb> [options]    (nasnet <verb> --help for a verb's options)

Verbs:
${verbs}

Common:
  --help, -h      this text
  --version       the package version

Exit codes: 0 ok, 1 internal error, 2 bad command line, 3 unreadable file, 4 invalid input data,
5 invalid configuration, 6 engine or resource unavailable.
`;
}

export async function main(argv: string[]): Promise<number> {
  const [verb, ...rest] = argv;
  if (verb === undefined || verb === '--help' || verb === '-h' || verb === 'help') {
    process.stdout.write(usage());
    return verb === undefined ? EXIT.USAGE : EXIT.OK;
  }
  if (verb === '--version') {
    const pkg = JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version: string };
    process.stdout.write(`${pkg.version}\n`);
    return EXIT.OK;
  }
  const entry = VERBS[verb];
  if (entry === undefined) {
    process.stderr.write(`error: unknown verb "${verb}"\n\n${usage()}`);
    return EXIT.USAGE;
  }
  try {
    return await (await entry.load()).main(rest);
  } catch (error) {
    return reportError(error);
  }
}

if (isDirectRun(import.meta.url)) runMain(main);
