// nasnet data: generates the synthetic datasets that tests, benchmarks and the shipped models train on.
import { NasnetError } from '../../core/errors.js';
import { shapesConfigForSize, generateShapesDataset } from '../../data/shapes.js';
import { generateSyntheticClasses } from '../../data/synthetic_classes.js';
import { writeDigitsFolder } from '../../data/digits.js';
import { IMAGE_FILE_FORMATS, type ImageFileOptions, type ImageFileFormat } from '../../data/dataset_writer.js';
import { EXIT, isDirectRun, parseFlags, reportError, runMain, type CliStreams } from './run.js';

const USAGE = `Usage:
  nasnet data shapes  --out DIR --train N --val M [--seed S] [--size 320] [--max-objects 6]
                      [--min-object-size PX] [--max-object-size PX] [--format png|jpeg] [--quality 92]
  nasnet data classes --out DIR --train-per-class N --val-per-class M [--seed S] [--size 32]
                      [--format png|jpeg] [--quality 92]
  nasnet data digits  --out DIR [--seed S]

shapes   a COCO-format detection set: six shape classes (circle, square, triangle, star, cross, ring) of
         random colour, size and rotation, some overlapping, on textured noisy backgrounds. Writes
         DIR/train/*.png, DIR/val/*.png, DIR/annotations/instances_train.json and instances_val.json.
         Object sizes (circumscribed diameter) default to 16..120 px at --size 320, scaled with --size.
classes  an image-folder classification set: ten classes (six shapes, four textures) of SIZE x SIZE
         images in DIR/train/<class>/ and DIR/val/<class>/.
digits   the UCI handwritten digits (1,797 8x8 images, scikit-learn's copy; attribution in the package's
         data/digits/README.md) as an image folder: DIR/train (1,197), DIR/val (300, held out of the
         training set: the search reward), DIR/test (300); the split is a shuffle seeded by --seed.

The same --seed (default 0) and options give identical files; image i of a split does not depend on how
many images are generated.

Options:
  --out DIR              output directory (created; existing files of the same names are overwritten)
  --seed S               integer seed (default 0)
  --format png|jpeg      image format (default png; jpeg is ~10x smaller for the noisy shapes images)
  --quality Q            JPEG quality 1..100 (default 92)
  --help, -h             this text

Exit codes: 0 ok, 2 bad command line, 3 cannot write, 5 invalid generator settings.
`;

function integerFlag(name: string, raw: string | undefined, options: { min: number; max?: number; default?: number }): number {
  if (raw === undefined) {
    if (options.default !== undefined) return options.default;
    throw new NasnetError('INVALID_ARGUMENT', `--${name} is required (nasnet data --help lists the options)`, { field: name });
  }
  const value = Number(raw);
  const max = options.max ?? Number.MAX_SAFE_INTEGER;
  if (raw.trim() === '' || !Number.isSafeInteger(value) || value < options.min || value > max) {
    throw new NasnetError('INVALID_ARGUMENT', `--${name} must be an integer in [${options.min}, ${max}]; received ${JSON.stringify(raw)}`, { field: name });
  }
  return value;
}

function optionalInteger(name: string, raw: string | undefined, min: number): number | undefined {
  return raw === undefined ? undefined : integerFlag(name, raw, { min });
}

function requiredString(name: string, raw: string | undefined): string {
  if (raw === undefined || raw === '') throw new NasnetError('INVALID_ARGUMENT', `--${name} is required (nasnet data --help lists the options)`, { field: name });
  return raw;
}

function fileOptions(format: string | undefined, quality: string | undefined): ImageFileOptions {
  const chosen = format ?? 'png';
  if (!(IMAGE_FILE_FORMATS as readonly string[]).includes(chosen)) {
    throw new NasnetError('INVALID_ARGUMENT', `--format must be one of ${IMAGE_FILE_FORMATS.join(', ')}; received ${JSON.stringify(chosen)}`, { field: 'format' });
  }
  return { format: chosen as ImageFileFormat, quality: integerFlag('quality', quality, { min: 1, max: 100, default: 92 }) };
}

const COMMON_FLAGS = {
  out: { type: 'string' },
  seed: { type: 'string' },
  size: { type: 'string' },
  format: { type: 'string' },
  quality: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

async function shapes(argv: string[], io: CliStreams): Promise<number> {
  const { values } = parseFlags(argv, {
    ...COMMON_FLAGS,
    train: { type: 'string' },
    val: { type: 'string' },
    'max-objects': { type: 'string' },
    'min-object-size': { type: 'string' },
    'max-object-size': { type: 'string' },
  }, false);
  if (values.help === true) {
    io.stdout.write(USAGE);
    return EXIT.OK;
  }
  const outDir = requiredString('out', values.out);
  const size = integerFlag('size', values.size, { min: 32, max: 4096, default: 320 });
  const config = shapesConfigForSize(size, {
    maxObjects: optionalInteger('max-objects', values['max-objects'], 1),
    minObjectSize: optionalInteger('min-object-size', values['min-object-size'], 1),
    maxObjectSize: optionalInteger('max-object-size', values['max-object-size'], 1),
  }, 'nasnet data shapes');
  const summary = await generateShapesDataset({
    outDir,
    train: integerFlag('train', values.train, { min: 0 }),
    val: integerFlag('val', values.val, { min: 0 }),
    seed: integerFlag('seed', values.seed, { min: -2147483648, max: 2147483647, default: 0 }),
    config,
    file: fileOptions(values.format, values.quality),
  });
  io.stdout.write(
    `wrote ${summary.images.train} train + ${summary.images.val} val images ` +
    `(${summary.annotations.train} + ${summary.annotations.val} objects) to ${outDir} in ${summary.seconds.toFixed(1)} s\n`,
  );
  return EXIT.OK;
}

async function classes(argv: string[], io: CliStreams): Promise<number> {
  const { values } = parseFlags(argv, {
    ...COMMON_FLAGS,
    'train-per-class': { type: 'string' },
    'val-per-class': { type: 'string' },
  }, false);
  if (values.help === true) {
    io.stdout.write(USAGE);
    return EXIT.OK;
  }
  const outDir = requiredString('out', values.out);
  const summary = await generateSyntheticClasses({
    outDir,
    trainPerClass: integerFlag('train-per-class', values['train-per-class'], { min: 0 }),
    valPerClass: integerFlag('val-per-class', values['val-per-class'], { min: 0 }),
    seed: integerFlag('seed', values.seed, { min: -2147483648, max: 2147483647, default: 0 }),
    size: integerFlag('size', values.size, { min: 8, max: 4096, default: 32 }),
    file: fileOptions(values.format, values.quality),
  });
  io.stdout.write(
    `wrote ${summary.images.train} train + ${summary.images.val} val images of ${summary.classes.length} classes ` +
    `(${summary.classes.join(', ')}) to ${outDir} in ${summary.seconds.toFixed(1)} s\n`,
  );
  return EXIT.OK;
}

async function digits(argv: string[], io: CliStreams): Promise<number> {
  const { values } = parseFlags(argv, { out: { type: 'string' }, seed: { type: 'string' }, help: { type: 'boolean', short: 'h' } }, false);
  if (values.help === true) {
    io.stdout.write(USAGE);
    return EXIT.OK;
  }
  const outDir = requiredString('out', values.out);
  const summary = await writeDigitsFolder(outDir, integerFlag('seed', values.seed, { min: -2147483648, max: 2147483647, default: 0 }));
  io.stdout.write(`wrote ${summary.images.train} train + ${summary.images.val} val + ${summary.images.test} test digit images to ${outDir} in ${summary.seconds.toFixed(1)} s\n`);
  return EXIT.OK;
}

/** `nasnet data ...` (argv without the verb); returns the exit code, reporting errors on stderr. */
export async function main(argv: string[], io: CliStreams = process): Promise<number> {
  const [kind, ...rest] = argv;
  if (kind === undefined || kind === '--help' || kind === '-h') {
    io.stdout.write(USAGE);
    return kind === undefined ? EXIT.USAGE : EXIT.OK;
  }
  try {
    if (kind === 'shapes') return await shapes(rest, io);
    if (kind === 'classes') return await classes(rest, io);
    if (kind === 'digits') return await digits(rest, io);
  } catch (error) {
    return reportError(error, io.stderr);
  }
  io.stderr.write(`error: unknown dataset "${kind}"; expected shapes, classes or digits\n\n${USAGE}`);
  return EXIT.USAGE;
}

if (isDirectRun(import.meta.url)) runMain(main);
