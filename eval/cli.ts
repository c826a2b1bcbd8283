#!/usr/bin/env node
// coco-eval GT.json DT.json [options]: COCO detection metrics, printed exactly as pycocotools'
// COCOeval.summarize() prints them. The evaluation itself is evaluateCoco (evaluate_coco.ts).
import { realpathSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { constants as fsConstants } from 'node:fs';
import { access, readFile, stat, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { COCO } from './coco.js';
import type { ProgressFn } from './cocoeval.js';
import { CocoEvalError, EXIT } from './errors.js';
import { evaluateCoco, evaluateCocoParallel, type EvaluateCocoParams } from './evaluate_coco.js';
import { EvalPool } from './parallel.js';
import { prCurveSvg } from './pr_plot.js';
import { parseBboxResults, ResultColumns } from './results_parser.js';
import { perCategoryTable, resultJson } from './report.js';
import { IOU_TYPES, type IouType } from './types.js';

/** Where the CLI writes: the process's streams, or buffers in tests. */
export interface CliStreams {
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream;
}

const USAGE = `Usage: coco-eval GT.json DT.json [options]

Evaluates detections (DT.json, a COCO results list) against ground truth (GT.json, a COCO instances
file) and prints the 12 summary lines of pycocotools' COCOeval (10 for keypoints).

Options:
  --iou-type TYPE       bbox (default), segm or keypoints
  --img-ids 1,2,...     evaluate these images only (ids of GT images)
  --cat-ids 1,18,...    evaluate these categories only (ids of GT categories)
  --max-dets 1,10,100   max detections per image (bbox/segm need at least 3 values)
  --iou-thrs .5,.75     IoU thresholds (default 0.50:0.05:0.95)
  --no-cats             ignore category labels (useCats=0, proposal-style evaluation)
  --per-category        also print AP, AP50, AP75 and AR@maxDets for each category
  --json OUT            write {stats, params, perCategory} to OUT
  --plot OUT.png        draw precision-recall curves (IoU .50, .75, .50:.95; one panel per area range)
  --allow-empty         evaluate an empty results list as "no detections" instead of failing
  --threads N           worker threads for evaluate/accumulate besides the main one (default: cores - 1,
                        at most 3; 0 = single-threaded; at most 8); the numbers are the same either way
  --quiet               no progress on stderr (shown for inputs of 100,000 records or more)
  -h, --help            this text

Exit codes:
  0  evaluated
  1  internal error (a bug; printed with a stack trace)
  2  bad command line: unknown flag, bad value, --img-ids/--cat-ids not in the GT
  3  a file could not be read or written
  4  invalid input: not JSON, or a record with a missing or bad field (the message names the file,
     the record index and the field), a result for an image that is not in the GT, an empty results
     list (pycocotools crashes on the last two; we stop with this message instead)
  6  --plot needs sharp, which could not be loaded
`;

const BIG_INPUT = 100_000;

function numberList(flag: string, raw: string | undefined, integer: boolean): number[] | undefined {
  if (raw === undefined) return undefined;
  const parts = raw.split(',').map((s) => s.trim());
  const values = parts.map(Number);
  const bad = parts.findIndex((s, i) => s === '' || !Number.isFinite(values[i]) || (integer && !Number.isInteger(values[i])));
  if (bad >= 0) {
    throw new CocoEvalError('INVALID_ARGUMENT', `${flag}: expected a comma-separated list of ${integer ? 'integers' : 'numbers'}; received ${JSON.stringify(parts[bad])} in ${JSON.stringify(raw)}`);
  }
  return values;
}

async function readBytes(path: string, what: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (error) {
    const e = error as NodeJS.ErrnoException;
    throw new CocoEvalError('IO_ERROR', `${path}: cannot read the ${what} file (${e.code ?? e.message})`, { path }, { cause: error });
  }
}

/** Reads and parses a JSON file: IO_ERROR when unreadable, INVALID_JSON with line:column when not JSON. */
async function readJson(path: string, what: string): Promise<unknown> {
  return parseJson(await readBytes(path, what), path, what);
}

/**
 * The results file: box detections of the usual shape go straight into columns (parseBboxResults);
 * anything else (segmentations, keypoints, extra fields, errors) through JSON.parse.
 */
async function readResults(path: string, tryColumns: boolean): Promise<unknown> {
  const bytes = await readBytes(path, 'results');
  const columns = tryColumns ? parseBboxResults(bytes) : null;
  return columns ?? parseJson(bytes, path, 'results');
}

function parseJson(bytes: Buffer, path: string, what: string): unknown {
  const text = bytes.toString('utf8');
  try {
    return JSON.parse(text);
  } catch (error) {
    const msg = (error as Error).message;
    const pos = /position (\d+)/.exec(msg);
    let where = '';
    if (pos) {
      const before = text.slice(0, Number(pos[1]));
      const line = before.split('\n').length;
      where = ` at line ${line}, column ${Number(pos[1]) - before.lastIndexOf('\n')}`;
    }
    throw new CocoEvalError('INVALID_JSON', `${path}: the ${what} file is not valid JSON${where} (${msg})`, { path }, { cause: error });
  }
}

function checkKnown(flag: string, ids: number[] | undefined, known: Map<number, unknown>, what: string, file: string): void {
  const unknown = ids?.filter((id) => !known.has(id)) ?? [];
  if (unknown.length > 0) throw new CocoEvalError('INVALID_ARGUMENT', `${flag}: ${what} ${unknown.join(', ')} not found in ${file}`);
}

function progressTo(stderr: NodeJS.WritableStream): ProgressFn {
  let lastPct = -1;
  return (phase, done, total) => {
    const pct = Math.floor((100 * done) / Math.max(1, total) / 25) * 25;
    if (phase === 'evaluate' && pct !== lastPct) { lastPct = pct; stderr.write(`coco-eval: evaluate ${pct}%\n`); }
    if (phase === 'accumulate' && done === 0) stderr.write('coco-eval: accumulate\n');
  };
}

type Sharp = typeof import('sharp').default;

/** sharp, an optional dependency loaded only for --plot (before the evaluation, so that it fails first). */
async function loadSharp(): Promise<Sharp> {
  try {
    return (await import('sharp')).default;
  } catch (error) {
    throw new CocoEvalError('ENGINE_UNAVAILABLE', `--plot: the PNG renderer (sharp) could not be loaded (${(error as Error).message}); install it with \`npm install sharp\``, {}, { cause: error });
  }
}

/** Renders the SVG plot to PNG. */
function rasterize(sharp: Sharp, svg: string): Promise<Buffer> {
  return sharp(Buffer.from(svg, 'utf8'), { failOn: 'error' }).png().toBuffer();
}

/**
 * An output path that cannot be written is reported before the evaluation, not after it: the path
 * is not a directory, and it (or, if it does not exist yet, its folder) is writable.
 */
async function checkWritable(path: string, flag: string): Promise<void> {
  const fail = (code: string, cause?: unknown) => new CocoEvalError('IO_ERROR', `${flag} ${path}: cannot write (${code})`, { path }, { cause });
  const st = await stat(path).catch(() => null);
  if (st?.isDirectory()) throw fail('EISDIR');
  try {
    await access(st ? path : dirname(resolve(path)), fsConstants.W_OK);
    if (!st && !(await stat(dirname(resolve(path)))).isDirectory()) throw fail('ENOTDIR');
  } catch (error) {
    if (error instanceof CocoEvalError) throw error;
    throw fail((error as NodeJS.ErrnoException).code ?? (error as Error).message, error);
  }
}

async function writeOut(path: string, data: string | Buffer, flag: string): Promise<void> {
  try {
    await writeFile(path, data);
  } catch (error) {
    throw new CocoEvalError('IO_ERROR', `${flag} ${path}: cannot write (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`, { path }, { cause: error });
  }
}

const FLAGS = {
  'iou-type': { type: 'string' },
  'img-ids': { type: 'string' },
  'cat-ids': { type: 'string' },
  'max-dets': { type: 'string' },
  'iou-thrs': { type: 'string' },
  'no-cats': { type: 'boolean' },
  'per-category': { type: 'boolean' },
  json: { type: 'string' },
  plot: { type: 'string' },
  'allow-empty': { type: 'boolean' },
  threads: { type: 'string' },
  quiet: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

function parseCommandLine(argv: string[]) {
  try {
    return parseArgs({ args: argv, options: FLAGS, allowPositionals: true, strict: true });
  } catch (error) {
    throw new CocoEvalError('INVALID_ARGUMENT', (error as Error).message);
  }
}

async function run(argv: string[], io: CliStreams): Promise<number> {
  const { values, positionals } = parseCommandLine(argv);
  if (values.help) {
    io.stdout.write(USAGE);
    return EXIT.OK;
  }
  if (positionals.length !== 2) {
    throw new CocoEvalError('INVALID_ARGUMENT', `expected GT.json and DT.json; received ${positionals.length} file argument(s)\n\n${USAGE}`);
  }
  const [gtPath, dtPath] = positionals;
  const iouType = (values['iou-type'] ?? 'bbox') as IouType;
  if (!IOU_TYPES.includes(iouType)) throw new CocoEvalError('INVALID_ARGUMENT', `--iou-type must be one of ${IOU_TYPES.join(', ')}; received ${JSON.stringify(values['iou-type'])}`);
  const imgIds = numberList('--img-ids', values['img-ids'], true);
  const catIds = numberList('--cat-ids', values['cat-ids'], true);
  const maxDets = numberList('--max-dets', values['max-dets'], true);
  const iouThrs = numberList('--iou-thrs', values['iou-thrs'], false);
  const threads = numberList('--threads', values.threads, true)?.[0] ?? Math.min(3, availableParallelism() - 1);
  if (threads < 0 || threads > 8) throw new CocoEvalError('INVALID_ARGUMENT', `--threads: expected an integer from 0 to 8; received ${threads}`);
  // started now, the workers load while this thread reads and parses the files
  const pool = threads > 0 ? new EvalPool(threads) : undefined;
  try {
    return await evaluateFiles(gtPath, dtPath, iouType, { imgIds, catIds, maxDets, iouThrs }, values, io, pool);
  } finally {
    await pool?.close();
  }
}

async function evaluateFiles(
  gtPath: string, dtPath: string, iouType: IouType,
  lists: { imgIds?: number[]; catIds?: number[]; maxDets?: number[]; iouThrs?: number[] },
  values: ReturnType<typeof parseCommandLine>['values'], io: CliStreams, pool: EvalPool | undefined,
): Promise<number> {
  const { imgIds, catIds, maxDets, iouThrs } = lists;
  // outputs first: a path that cannot be written, or --plot without its renderer, fails in a moment,
  // not after the whole evaluation
  if (values.json !== undefined) await checkWritable(values.json, '--json');
  if (values.plot !== undefined) await checkWritable(values.plot, '--plot');
  const sharp = values.plot !== undefined ? await loadSharp() : undefined;

  const big = !values.quiet && ((await stat(dtPath).catch(() => null))?.size ?? 0) > 20e6;
  if (big) io.stderr.write(`coco-eval: loading ${gtPath} and ${dtPath}\n`);
  // the results file is parsed on a worker (box results) while this thread reads the GT
  const onWorker = iouType === 'bbox' && pool !== undefined;
  const dtOnWorker = onWorker ? pool.parseResults(dtPath) : Promise.resolve(null);
  let gt: COCO;
  try {
    gt = new COCO(await readJson(gtPath, 'ground-truth'), gtPath);
  } finally {
    await dtOnWorker; // never leave the worker busy behind an error
  }
  const dt = (await dtOnWorker) ?? await readResults(dtPath, iouType === 'bbox' && !onWorker);
  checkKnown('--img-ids', imgIds, gt.imgs, 'image ids', gtPath);
  checkKnown('--cat-ids', catIds, gt.cats, 'category ids', gtPath);
  const showProgress = !values.quiet && (big || (Array.isArray(dt) && dt.length >= BIG_INPUT) || (dt instanceof ResultColumns && dt.n >= BIG_INPUT) || gt.dataset.annotations.length >= BIG_INPUT);
  const params: EvaluateCocoParams = {
    iouType, gtSource: gtPath, dtSource: dtPath, allowEmptyResults: values['allow-empty'] === true,
    ...(imgIds && { imgIds }), ...(catIds && { catIds }), ...(maxDets && { maxDets }), ...(iouThrs && { iouThrs }),
    ...(values['no-cats'] && { useCats: 0 as const }),
    ...(showProgress && { onProgress: progressTo(io.stderr) }),
  };
  const result = pool ? await evaluateCocoParallel(gt, dt as never, pool!, params) : evaluateCoco(gt, dt as never, params);
  io.stdout.write(`${result.lines.join('\n')}\n`);
  const lastMaxDets = result.params.maxDets[result.params.maxDets.length - 1];
  if (values['per-category']) {
    if (result.perCategory.length === 0) io.stdout.write('\n(per-category results need category labels: not available with --no-cats)\n');
    else io.stdout.write(`\nPer category (area=all, maxDets=${lastMaxDets}):\n${perCategoryTable(result.perCategory, lastMaxDets).join('\n')}\n`);
  }
  if (values.json !== undefined) await writeOut(values.json, `${JSON.stringify(resultJson(result), null, 1)}\n`, '--json');
  if (values.plot !== undefined) await writeOut(values.plot, await rasterize(sharp!, prCurveSvg(result.eval, result.params)), '--plot');
  return EXIT.OK;
}

/** The coco-eval entry point: returns the exit code (errors are reported on stderr, not thrown). */
export async function main(argv: string[], io: CliStreams = process): Promise<number> {
  try {
    return await run(argv, io);
  } catch (error) {
    if (error instanceof CocoEvalError) {
      io.stderr.write(`error: ${error.message}\n`);
      return error.exitCode;
    }
    io.stderr.write(`internal error: ${(error as Error)?.stack ?? String(error)}\n`);
    return EXIT.INTERNAL;
  }
}

/** True when this module is the script node was started with (directly or through a bin link). */
function isDirectRun(): boolean {
  const script = process.argv[1];
  if (script === undefined) return false;
  try {
    return realpathSync(script) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isDirectRun()) void main(process.argv.slice(2)).then((code) => { process.exitCode = code; });
