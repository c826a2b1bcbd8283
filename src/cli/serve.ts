// nasnet serve: the HTTP service (POST /classify, POST /detect, /healthz, /readyz, /metrics, /models,
// /docs, demo page at /). Settings come from flags, environment variables and a JSON file.
const USAGE = `Usage: nasnet serve [options]

Starts the HTTP service: POST /classify and POST /detect (multipart field "image" or a raw image/*
body), GET /healthz, /readyz, /metrics, /models, OpenAPI + UI at /docs, and a demo page at /.

Every setting below can be given as a flag (--kebab-case), an environment variable, or a key of a
JSON file passed with --config. Precedence: flag > environment > file > default.
Models: --classifier and --detector take "kind" or "kind:weights" (relative weights are resolved
against --models-dir); in a file, {"classifier": {"kind": "...", "weights": "..."}}.

Examples:
  nasnet serve --port 8080 --workers 2
  PORT=8080 NASNET_BACKEND=wasm nasnet serve --config serve.json
  nasnet serve --classifier nasnet-mobile --classifier-engine onnx-int8 --calibrate ./calib-images
  nasnet serve --detector frcnn-nas-coco --detector-proposals 50

Options:
  --config <file>        JSON config file
  --help, -h             this text

Settings:`;

import { EXIT, NasnetError } from '../../core/errors.js';
import { createLogger } from '../../core/logger.js';
import { describeServerConfig, resolveServerConfig, SERVER_CONFIG_SCHEMA } from '../server/config.js';
import { startServer } from '../server/start.js';
import { parseFlags } from './run.js';

const kebab = (key: string): string => key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
const SETTING_FLAGS = Object.fromEntries(Object.keys(SERVER_CONFIG_SCHEMA).map((key) => [kebab(key), key]));

export function usage(): string {
  return `${USAGE}\n${describeServerConfig((key) => `--${kebab(key)}`)}\n`;
}

/** Flags as config values (camelCase keys); --config and --help are taken out. */
export function parseServeArgs(argv: string[]): { help: boolean; configFile?: string; flags: Record<string, string> } {
  const options = {
    help: { type: 'boolean', short: 'h' },
    config: { type: 'string' },
    ...Object.fromEntries(Object.keys(SETTING_FLAGS).map((flag) => [flag, { type: 'string' }])),
  } as const;
  const { values, positionals } = parseFlags(argv, options as Record<string, { type: 'string' | 'boolean'; short?: string }>);
  if (positionals.length > 0) {
    throw new NasnetError('INVALID_ARGUMENT', `nasnet serve takes no positional arguments; received ${positionals.join(' ')}`);
  }
  const flags: Record<string, string> = {};
  for (const [flag, key] of Object.entries(SETTING_FLAGS)) {
    const value = values[flag];
    if (typeof value === 'string') flags[key] = value;
  }
  const configFile = typeof values.config === 'string' ? values.config : undefined;
  return { help: values.help === true, flags, ...(configFile === undefined ? {} : { configFile }) };
}

export async function main(argv: string[]): Promise<number> {
  const args = parseServeArgs(argv);
  if (args.help) {
    process.stdout.write(usage());
    return EXIT.OK;
  }
  const config = resolveServerConfig(args.flags, process.env, args.configFile);
  const logger = createLogger({ level: config.logLevel, name: 'nasnet-serve' });
  const server = await startServer(config, logger);
  return server.closed;
}
