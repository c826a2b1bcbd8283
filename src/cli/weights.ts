// nasnet weights list|fetch|path|verify|add: the published weights by name, in the cache at NASNET_HOME.
const USAGE = `Usage: nasnet weights <command> [options]

Commands:
  list [--json]                  the known names: format, size, source URL, whether cached
  fetch NAME... [--force]        download into the cache (progress on a terminal), check, unpack
        [--timeout SECONDS]      connect / response / idle timeout (default 30)
  path NAME                      print the cached path of NAME (exit 6 when not cached)
  verify [NAME...]               re-check cached copies (every cached name when none is given)
  add NAME FILE                  place a file downloaded elsewhere, checked like a download

Names: nasnet-mobile, nasnet-mobile-no-top, nasnet-large, nasnet-large-no-top (Keras ImageNet .h5,
checked against their published MD5), frcnn-nas-coco, frcnn-nas-lowproposals-coco (TF Object
Detection API tarballs, unpacked; no published hash: the SHA-256 of the first copy is recorded and
later copies must match it).
Names work wherever weights are taken: classify --weights nasnet-mobile, train --backbone-weights
nasnet-mobile-no-top, serve --classifier nasnet-large. Nothing is downloaded unless asked: this verb,
or --fetch / NASNET_FETCH=1 on those commands.

Environment: NASNET_HOME (cache, default ~/.cache/nasnet-ts), HTTPS_PROXY, HTTP_PROXY, NO_PROXY.
Exit codes: 0 ok, 2 bad command line, 3 unreadable file, 4 checksum mismatch or bad archive,
6 not cached / download failed.
`;

import { EXIT, NasnetError } from '../../core/errors.js';
import { addWeights, fetchWeights, listWeights, nasnetHome, verifyWeights, cachedWeightsPath, notCached, type CacheOptions, type FetchOptions } from '../weights/cache.js';
import { formatBytes, progressLine } from '../weights/progress.js';
import { DEFAULT_WEIGHTS_REGISTRY } from '../weights/registry.js';
import { cliMain, isDirectRun, parseFlags, runMain, type CliStreams } from './run.js';

function needNames(command: string, names: string[], min: number, max = Number.POSITIVE_INFINITY): void {
  if (names.length < min || names.length > max) {
    const expected = min === max ? `${min}` : max === Number.POSITIVE_INFINITY ? `at least ${min}` : `${min} to ${max}`;
    throw new NasnetError('INVALID_ARGUMENT', `weights ${command} takes ${expected} argument(s); received ${names.length}\n\n${USAGE}`);
  }
}

/** The verb's body with the cache options injectable (tests point the registry at a local server). */
export async function weightsCommand(argv: string[], io: CliStreams, options: CacheOptions & Pick<FetchOptions, 'timeoutMs'> = {}): Promise<number> {
  const { values, positionals } = parseFlags(argv, {
    json: { type: 'boolean' },
    force: { type: 'boolean' },
    timeout: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  });
  const [command, ...args] = positionals;
  if (values.help === true || command === undefined) {
    io.stdout.write(USAGE);
    return command === undefined && values.help !== true ? EXIT.USAGE : EXIT.OK;
  }
  const registry = options.registry ?? DEFAULT_WEIGHTS_REGISTRY;
  switch (command) {
    case 'list': {
      needNames(command, args, 0, 0);
      const listed = await listWeights(options);
      if (values.json === true) {
        io.stdout.write(`${JSON.stringify(listed.map(({ entry, record, path }) => ({ ...entry, cached: path !== undefined, path: path ?? null, record: record ?? null })), null, 2)}\n`);
        return EXIT.OK;
      }
      io.stdout.write(`cache: ${options.home ?? nasnetHome(options.env ?? process.env)}\n`);
      for (const { entry, record, path } of listed) {
        const size = record !== undefined ? formatBytes(record.bytes) : entry.approxBytes !== undefined ? `~${formatBytes(entry.approxBytes)}` : 'size ?';
        const check = entry.md5 !== undefined ? `md5 ${entry.md5}` : entry.sha256 !== undefined ? `sha256 ${entry.sha256.slice(0, 16)}...` : 'sha256 recorded on first fetch';
        io.stdout.write(`${path === undefined ? ' ' : '*'} ${entry.name.padEnd(28)} ${size.padStart(9)}  ${entry.description}\n    ${entry.url} (${check})${path === undefined ? '' : `\n    cached: ${path}`}\n`);
      }
      io.stdout.write('(* = cached)\n');
      return EXIT.OK;
    }
    case 'fetch': {
      needNames(command, args, 1);
      let timeoutMs = options.timeoutMs;
      if (values.timeout !== undefined) {
        const seconds = Number(values.timeout);
        if (!(seconds > 0)) throw new NasnetError('INVALID_ARGUMENT', `--timeout must be a positive number of seconds; received ${JSON.stringify(values.timeout)}`);
        timeoutMs = seconds * 1000;
      }
      for (const name of args) {
        if (!registry.has(name)) throw new NasnetError('INVALID_ARGUMENT', `unknown weights name ${JSON.stringify(name)}; known: ${[...registry.keys()].join(', ')}`);
      }
      for (const name of args) {
        const line = progressLine(io.stderr, name);
        let result;
        try {
          result = await fetchWeights(name, { ...options, force: values.force === true, onProgress: line.update, ...(timeoutMs === undefined ? {} : { timeoutMs }) });
        } finally {
          line.done();
        }
        const how = result.record.checkedBy === 'sha256-first-use' ? `SHA-256 ${result.record.sha256} recorded (no published hash: later copies must match)` : `${result.record.checkedBy.toUpperCase()} ok`;
        io.stderr.write(result.downloaded ? `fetched ${name} (${formatBytes(result.record.bytes)}${result.resumedFrom > 0 ? `, resumed at ${formatBytes(result.resumedFrom)}` : ''}, ${how})\n` : `${name} is already cached\n`);
        io.stdout.write(`${result.path}\n`);
      }
      return EXIT.OK;
    }
    case 'path': {
      needNames(command, args, 1, 1);
      const name = args[0] as string;
      const path = await cachedWeightsPath(name, options);
      if (path === undefined) throw notCached(name, options);
      io.stdout.write(`${path}\n`);
      return EXIT.OK;
    }
    case 'verify': {
      const names = args.length > 0 ? args : (await listWeights(options)).filter((l) => l.path !== undefined).map((l) => l.entry.name);
      if (names.length === 0) {
        io.stderr.write('nothing cached to verify\n');
        return EXIT.OK;
      }
      let failed = false;
      for (const name of names) {
        const result = await verifyWeights(name, options);
        failed ||= !result.ok;
        io.stdout.write(`${result.ok ? 'ok    ' : 'FAILED'} ${name}\n`);
        for (const problem of result.problems) io.stdout.write(`    ${problem}\n`);
        for (const check of result.checks) if (check.status !== 'failed') io.stdout.write(`    ${check.name}: ${check.status} (${check.detail})\n`);
      }
      if (failed) throw new NasnetError('CHECKSUM_MISMATCH', 'verify: some cached weights differ from their checksums (fetch them again with --force)');
      return EXIT.OK;
    }
    case 'add': {
      needNames(command, args, 2, 2);
      const [name, file] = args as [string, string];
      const { path, record } = await addWeights(name, file, options);
      io.stderr.write(`added ${name} (${formatBytes(record.bytes)}, ${record.checkedBy === 'sha256-first-use' ? `SHA-256 ${record.sha256} recorded` : `${record.checkedBy.toUpperCase()} ok`})\n`);
      io.stdout.write(`${path}\n`);
      return EXIT.OK;
    }
    default:
      throw new NasnetError('INVALID_ARGUMENT', `unknown weights command ${JSON.stringify(command)}\n\n${USAGE}`);
  }
}

export const main = cliMain((argv, io) => weightsCommand(argv, io));

if (isDirectRun(import.meta.url)) runMain(main);
