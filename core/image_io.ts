// Image decoding, fitting and encoding: the only module that imports sharp.
// Untrusted bytes go through one guarded path: the format is decided from magic bytes before libvips sees
// anything (image_sniff.ts: only JPEG, PNG, WebP, AVIF, TIFF, GIF; gzip, SVG, PDF and the rest refused), and
// libvips' other loaders are blocked process-wide as a second fence; a TIFF's pages are counted by us; a
// pixel limit is checked on the header before any decode and again by libvips (limitInputPixels); one page
// only, read sequentially; failOn:'error' (a truncated file is an error, never a partial image); EXIF
// auto-orientation, alpha removed, sRGB 8-bit. Every failure is a NasnetError (NOT_AN_IMAGE,
// UNSUPPORTED_MEDIA_TYPE, IMAGE_TOO_LARGE, IMAGE_TOO_SMALL) whose message is ours: libvips' own text
// ("tiff2vips: Read error at scanline ...") stays in `cause`, for logs, never in the message.
//
// Shape shorthand: H, W = EXIF-oriented original; OH, OW = network input. Tensors are [OH,OW,3] RGB 0..255.
import * as tf from '@tensorflow/tfjs-core';
import sharp, { type Metadata, type OutputInfo, type Sharp } from 'sharp';
import type { ImageMeta } from './image_meta.js';
import { NasnetError } from './errors.js';
import { countTiffPages, IMAGE_FORMATS, sniffImage, type ImageFormat } from './image_sniff.js';
import {
  LETTERBOX_ALIGNS, RESIZE_MODES, metaForPlan, planFit, resizePilNearest,
  type LetterboxAlign, type ResizeMode, type Rgb, type RgbImage,
} from './resize.js';

export type { LetterboxAlign, ResizeMode, Rgb, RgbImage } from './resize.js';
export { IMAGE_FORMATS, type ImageFormat } from './image_sniff.js';

/** Default decompression-bomb guard: 40 megapixels (a 7300 x 5500 photo), ~120 MB of RGB. */
export const DEFAULT_MAX_PIXELS = 40_000_000;
/** Largest network input accepted by the fitting functions (per side). */
export const MAX_INPUT_SIDE = 8192;
/**
 * Default limit on pages (TIFF) or frames (GIF, animated WebP/AVIF): only the first is decoded, but
 * libvips reads every page header to count them. 256 covers long animations; an 80k-page TIFF is refused.
 */
export const DEFAULT_MAX_PAGES = 256;
/**
 * Default budget for images libvips must hold whole in memory (GIF frames, AVIF, interlaced PNG: no
 * shrink-on-load and no streaming, measured: a 36 MP GIF cost 173 MB of RSS, an interlaced PNG 103 MB,
 * the same PNG not interlaced 22 MB). 64 MiB keeps one request under the service's 100 MB goal.
 */
export const DEFAULT_MAX_DECODE_BYTES = 64 * 2 ** 20;
/**
 * Smallest side the models accept (the classifier/detector APIs pass it as minSide): below 8 px an image
 * is upscaled more than 28x to the network input and carries no information (a 1x1 was "classified").
 */
export const MIN_MODEL_IMAGE_SIDE = 8;

/** `pil-nearest` is PIL's NEAREST (Keras `load_img`) done exactly in JS; the others are libvips kernels. */
export const RESIZE_KERNELS = ['pil-nearest', 'nearest', 'linear', 'cubic', 'mitchell', 'lanczos3'] as const;
export type ResizeKernel = (typeof RESIZE_KERNELS)[number];

export interface ImageProbe {
  readonly format: ImageFormat;
  /** After EXIF auto-orientation (the frame that decoding returns). */
  readonly width: number;
  readonly height: number;
  /** Frames or pages in the file; only the first is decoded. */
  readonly pages: number;
  readonly hasAlpha: boolean;
}

export interface DecodeOptions {
  /** Reject images with more pixels than this (IMAGE_TOO_LARGE). Default DEFAULT_MAX_PIXELS. */
  readonly maxPixels?: number;
  /** Reject files with more pages or frames than this (IMAGE_TOO_LARGE). Default DEFAULT_MAX_PAGES. */
  readonly maxPages?: number;
  /** Reject images whose width or height is smaller (IMAGE_TOO_SMALL). Default 1. */
  readonly minSide?: number;
  /** Reject whole-image decodes (GIF, AVIF, interlaced PNG) needing more bytes (IMAGE_TOO_LARGE). Default DEFAULT_MAX_DECODE_BYTES. */
  readonly maxDecodeBytes?: number;
  /** Composite transparent pixels onto this colour. Default: drop alpha (PIL `convert('RGB')`, as Keras does). */
  readonly alphaBackground?: Rgb;
}

export interface FitOptions extends DecodeOptions {
  readonly width: number;
  readonly height: number;
  /** Default 'stretch'. */
  readonly mode?: ResizeMode;
  /** Default 'linear' (libvips, antialiased like PIL BILINEAR). */
  readonly kernel?: ResizeKernel;
  /** Letterbox placement, default 'center'. */
  readonly align?: LetterboxAlign;
  /** Letterbox padding colour, default black. */
  readonly padColor?: Rgb;
}

export interface DecodedImage {
  readonly image: RgbImage;
  readonly meta: ImageMeta;
}

export interface ImageTensor {
  /** [OH,OW,3] RGB, values 0..255. The caller owns it and disposes it. */
  readonly tensor: tf.Tensor3D;
  readonly meta: ImageMeta;
}

function unsupported(fn: string, format: string): NasnetError {
  return new NasnetError(
    'UNSUPPORTED_MEDIA_TYPE',
    `${fn}: image format ${format} is not accepted; expected one of ${IMAGE_FORMATS.join(', ')}`,
    { format, accepted: [...IMAGE_FORMATS] },
  );
}

function notAnImage(fn: string): NasnetError {
  return new NasnetError(
    'NOT_AN_IMAGE',
    `${fn}: the bytes are not a decodable image (no signature of ${IMAGE_FORMATS.join(', ')})`,
  );
}

// libvips' loaders by operation name (vips -l foreign): the buffer loaders of the accepted formats.
const ACCEPTED_LOADERS = [
  'VipsForeignLoadJpegBuffer', 'VipsForeignLoadPngBuffer', 'VipsForeignLoadWebpBuffer',
  'VipsForeignLoadHeifBuffer', 'VipsForeignLoadTiffBuffer', 'VipsForeignLoadNsgifBuffer',
];
const SVG_LOADER = 'VipsForeignLoadSvgBuffer';
// The second fence behind sniffImage: every other libvips loader (SVG, PDF, FITS, ...) is blocked for the
// whole process (libvips state is shared by all worker threads). rasterizeSvg opens the SVG loader only
// while it renders our own SVG.
sharp.block({ operation: ['VipsForeignLoad'] });
sharp.unblock({ operation: ACCEPTED_LOADERS });
let svgRenders = 0;

function checkPositiveInt(fn: string, field: string, value: unknown, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > max) {
    throw new NasnetError('INVALID_ARGUMENT', `${fn}: ${field} must be an integer in [1, ${max}]; received ${String(value)}`, { field });
  }
  return value;
}

function checkRgbColour(fn: string, field: string, value: Rgb | undefined): Rgb | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || value.length !== 3 || !value.every((v) => Number.isInteger(v) && v >= 0 && v <= 255)) {
    throw new NasnetError('INVALID_ARGUMENT', `${fn}: ${field} must be [r, g, b] integers in 0..255; received ${JSON.stringify(value)}`, { field });
  }
  return value;
}

function checkChoice<T extends string>(fn: string, field: string, value: T | undefined, choices: readonly T[], def: T): T {
  if (value === undefined) return def;
  if (!choices.includes(value)) {
    throw new NasnetError('INVALID_ARGUMENT', `${fn}: ${field} must be one of ${choices.join(', ')}; received ${JSON.stringify(value)}`, { field });
  }
  return value;
}

function toBuffer(fn: string, bytes: Uint8Array): Buffer {
  if (!(bytes instanceof Uint8Array)) {
    throw new NasnetError('INVALID_ARGUMENT', `${fn}: bytes must be a Buffer or Uint8Array; received ${typeof bytes}`, { field: 'bytes' });
  }
  if (bytes.length === 0) throw new NasnetError('NOT_AN_IMAGE', `${fn}: the image is empty (0 bytes)`);
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/**
 * Maps a libvips/sharp failure on untrusted bytes to the typed error. The message is ours (libvips and
 * glib text can name internals and is not for clients); the original error is the `cause`.
 */
function decodeError(fn: string, format: ImageFormat, maxPixels: number, error: unknown): NasnetError {
  const message = error instanceof Error ? error.message : String(error);
  if (/exceeds pixel limit/i.test(message)) {
    return new NasnetError('IMAGE_TOO_LARGE', `${fn}: the image exceeds the pixel limit of ${maxPixels}`, { maxPixels }, { cause: error });
  }
  return new NasnetError('NOT_AN_IMAGE', `${fn}: the ${format} data is corrupt or truncated`, { format }, { cause: error });
}

interface Limits {
  readonly maxPixels: number;
  readonly maxPages: number;
  readonly minSide: number;
  readonly maxDecodeBytes: number;
}

function limitsOf(fn: string, options: DecodeOptions): Limits {
  return {
    maxPixels: checkPositiveInt(fn, 'maxPixels', options.maxPixels ?? DEFAULT_MAX_PIXELS),
    maxPages: checkPositiveInt(fn, 'maxPages', options.maxPages ?? DEFAULT_MAX_PAGES),
    minSide: checkPositiveInt(fn, 'minSide', options.minSide ?? 1, MAX_INPUT_SIDE),
    maxDecodeBytes: checkPositiveInt(fn, 'maxDecodeBytes', options.maxDecodeBytes ?? DEFAULT_MAX_DECODE_BYTES),
  };
}

/** A decode of the first page only, read sequentially (rows stream through resize), pixel-capped by libvips. */
function openImage(input: Buffer, maxPixels: number): Sharp {
  return sharp(input, { failOn: 'error', limitInputPixels: maxPixels, autoOrient: true, pages: 1, page: 0, sequentialRead: true });
}

/**
 * Reads the header only: accepted format, EXIF-oriented size, frame count. Throws NOT_AN_IMAGE,
 * UNSUPPORTED_MEDIA_TYPE (SVG, HEIC, BMP, ...) or IMAGE_TOO_LARGE (width*height > maxPixels).
 */
export async function probeImage(bytes: Uint8Array, options: Omit<DecodeOptions, 'alphaBackground'> = {}): Promise<ImageProbe> {
  const fn = 'probeImage';
  return probe(fn, toBuffer(fn, bytes), limitsOf(fn, options));
}

function tooBigToHold(fn: string, what: string, width: number, height: number, bytes: number, maxDecodeBytes: number): NasnetError {
  return new NasnetError(
    'IMAGE_TOO_LARGE',
    `${fn}: ${what} is decoded whole: ${width}x${height} needs ${bytes} bytes; the limit is ${maxDecodeBytes}`,
    { width, height, maxDecodeBytes },
  );
}

/** Bytes a pixel costs when libvips decodes the whole image at once; undefined when it streams or shrinks on load. */
function wholeDecodeBytesPerPixel(format: ImageFormat, info: Metadata): number | undefined {
  const sampleBytes = info.depth === 'ushort' ? 2 : 1;
  if (format === 'gif') return 4; // the frame is composed as RGBA
  if (format === 'avif') return info.channels * sampleBytes;
  if (format === 'png' && info.isProgressive) return info.channels * sampleBytes; // Adam7 interlacing
  return undefined;
}

function tooManyPages(fn: string, pages: number | string, maxPages: number): NasnetError {
  return new NasnetError('IMAGE_TOO_LARGE', `${fn}: the file has ${pages} pages or frames; the limit is ${maxPages}`, { maxPages });
}

/** probeImage for a caller `fn` (named in its error messages). */
async function probe(fn: string, input: Buffer, limits: Limits): Promise<ImageProbe> {
  const { maxPixels, maxPages, minSide } = limits;
  // Order: format, pages, pixels, whole-decode bytes, minimum side; all from the header.
  const sniffed = sniffImage(input);
  if (!sniffed.accepted) throw sniffed.known ? unsupported(fn, sniffed.name) : notAnImage(fn);
  const sniffedFormat = sniffed.format;
  if (sniffedFormat === 'tiff') {
    const pages = countTiffPages(input, maxPages);
    if (pages === 'corrupt' || pages === 0) throw new NasnetError('NOT_AN_IMAGE', `${fn}: the tiff data is corrupt (broken page directory)`);
    if (pages > maxPages) throw tooManyPages(fn, `more than ${maxPages}`, maxPages);
  }
  let info: Metadata;
  try {
    // No pixel limit here so that an oversized image is reported with its size; metadata() decodes nothing.
    info = await sharp(input, { failOn: 'error', limitInputPixels: false }).metadata();
  } catch (error) {
    throw decodeError(fn, sniffedFormat, maxPixels, error);
  }
  let format: string = info.format;
  if (format === 'heif') format = info.compression === 'av1' ? 'avif' : `heif/${info.compression ?? 'unknown'}`;
  // libvips sniffs again: a loader other than the one our signature named is refused (defence in depth).
  if (format !== sniffedFormat) throw unsupported(fn, format);
  const pages = info.pages ?? 1;
  if (pages > maxPages) throw tooManyPages(fn, pages, maxPages);
  const { width, height } = info.autoOrient;
  if (width * height > maxPixels) {
    throw new NasnetError(
      'IMAGE_TOO_LARGE',
      `${fn}: image is ${width}x${height} = ${width * height} pixels; the limit is ${maxPixels}`,
      { width, height, maxPixels },
    );
  }
  const perPixel = wholeDecodeBytesPerPixel(sniffedFormat, info);
  if (perPixel !== undefined && width * height * perPixel > limits.maxDecodeBytes) {
    const kind = sniffedFormat === 'png' ? 'an interlaced png' : `a ${sniffedFormat}`;
    throw tooBigToHold(fn, kind, width, height, width * height * perPixel, limits.maxDecodeBytes);
  }
  if (width < minSide || height < minSide) {
    throw new NasnetError('IMAGE_TOO_SMALL', `${fn}: image is ${width}x${height}; both sides must be at least ${minSide} pixels`, { width, height, minSide });
  }
  return { format: sniffedFormat, width, height, pages, hasAlpha: info.hasAlpha };
}

/** Runs a pipeline to raw sRGB bytes (alpha dropped or flattened), mapping failures to typed errors. */
async function toRaw(fn: string, header: ImageProbe, maxPixels: number, pipeline: Sharp, alphaBackground: Rgb | undefined): Promise<RgbImage> {
  const coloured = alphaBackground === undefined
    ? pipeline.removeAlpha()
    : pipeline.flatten({ background: { r: alphaBackground[0], g: alphaBackground[1], b: alphaBackground[2] } });
  let result: { data: Buffer; info: OutputInfo };
  try {
    result = await coloured.toColourspace('srgb').raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
  } catch (error) {
    throw decodeError(fn, header.format, maxPixels, error);
  }
  const { data, info } = result;
  if (info.channels !== 3 || data.length !== info.width * info.height * 3) {
    throw new NasnetError('INTERNAL', `${fn}: sharp returned ${info.channels} channels, ${data.length} bytes for ${info.width}x${info.height}`);
  }
  return { data: new Uint8Array(data.buffer, data.byteOffset, data.length), width: info.width, height: info.height };
}

/** Decodes the first frame at its EXIF-oriented size; meta is the identity fit. */
export async function decodeRgb(bytes: Uint8Array, options: DecodeOptions = {}): Promise<DecodedImage> {
  const fn = 'decodeRgb';
  const limits = limitsOf(fn, options);
  const alphaBackground = checkRgbColour(fn, 'alphaBackground', options.alphaBackground);
  const input = toBuffer(fn, bytes);
  const header = await probe(fn, input, limits);
  const image = await toRaw(fn, header, limits.maxPixels, openImage(input, limits.maxPixels), alphaBackground);
  if (image.width !== header.width || image.height !== header.height) {
    throw new NasnetError('INTERNAL', `${fn}: decoded ${image.width}x${image.height}, header said ${header.width}x${header.height}`);
  }
  const plan = planFit(image.width, image.height, image.width, image.height, 'stretch');
  return { image, meta: metaForPlan(image.width, image.height, plan) };
}

/**
 * Decodes and fits into width x height (resize in libvips, or the exact PIL NEAREST gather for
 * kernel 'pil-nearest'). meta maps back: original = (input - pad) / scale, per axis.
 */
export async function fitRgb(bytes: Uint8Array, options: FitOptions): Promise<DecodedImage> {
  const fn = 'fitRgb';
  const width = checkPositiveInt(fn, 'width', options.width, MAX_INPUT_SIDE);
  const height = checkPositiveInt(fn, 'height', options.height, MAX_INPUT_SIDE);
  const mode = checkChoice(fn, 'mode', options.mode, RESIZE_MODES, 'stretch');
  const kernel = checkChoice(fn, 'kernel', options.kernel, RESIZE_KERNELS, 'linear');
  const align = checkChoice(fn, 'align', options.align, LETTERBOX_ALIGNS, 'center');
  const padColor = checkRgbColour(fn, 'padColor', options.padColor) ?? [0, 0, 0];
  const limits = limitsOf(fn, options);
  const alphaBackground = checkRgbColour(fn, 'alphaBackground', options.alphaBackground);

  const input = toBuffer(fn, bytes);
  const header = await probe(fn, input, limits);
  const plan = planFit(header.width, header.height, width, height, mode, align);
  const meta = metaForPlan(header.width, header.height, plan);
  const pipeline = openImage(input, limits.maxPixels);
  if (kernel === 'pil-nearest') {
    // PIL NEAREST needs the full RGB original (libvips' nearest samples other rows, so it cannot shrink
    // first without changing the answer): the same budget as the formats libvips decodes whole.
    const bytes = header.width * header.height * 3;
    if (bytes > limits.maxDecodeBytes) throw tooBigToHold(fn, 'with kernel pil-nearest, the image', header.width, header.height, bytes, limits.maxDecodeBytes);
    const original = await toRaw(fn, header, limits.maxPixels, pipeline, alphaBackground);
    return { image: resizePilNearest(original, plan, padColor), meta };
  }
  pipeline.resize(plan.resizedWidth, plan.resizedHeight, { fit: 'fill', kernel });
  if (plan.resizedWidth < width || plan.resizedHeight < height) {
    pipeline.extend({
      left: plan.left, top: plan.top,
      right: width - plan.resizedWidth - plan.left, bottom: height - plan.resizedHeight - plan.top,
      background: { r: padColor[0], g: padColor[1], b: padColor[2], alpha: 1 },
    });
  } else if (plan.resizedWidth > width || plan.resizedHeight > height) {
    pipeline.extract({ left: -plan.left, top: -plan.top, width, height });
  }
  return { image: await toRaw(fn, header, limits.maxPixels, pipeline, alphaBackground), meta };
}

/** An RgbImage as a [H,W,3] tensor (values 0..255 in the chosen dtype). */
export function rgbToTensor(image: RgbImage, dtype: 'int32' | 'float32' = 'float32'): tf.Tensor3D {
  const values = dtype === 'int32' ? Int32Array.from(image.data) : Float32Array.from(image.data);
  return tf.tensor3d(values, [image.height, image.width, 3], dtype);
}

/** Decodes to an int32 (default, like tf.node.decodeImage) or float32 [H,W,3] tensor at the original size. */
export async function decodeImage(
  bytes: Uint8Array,
  options: DecodeOptions & { readonly dtype?: 'int32' | 'float32' } = {},
): Promise<ImageTensor> {
  const dtype = checkChoice('decodeImage', 'dtype', options.dtype, ['int32', 'float32'] as const, 'int32');
  const { image, meta } = await decodeRgb(bytes, options);
  return { tensor: rgbToTensor(image, dtype), meta };
}

/** Decodes and fits to the network input: a float32 [OH,OW,3] tensor, 0..255, plus the meta to map boxes back. */
export async function loadImageForModel(bytes: Uint8Array, options: FitOptions): Promise<ImageTensor> {
  const { image, meta } = await fitRgb(bytes, options);
  return { tensor: rgbToTensor(image, 'float32'), meta };
}

/** Raw RGB bytes of an image or a [H,W,3] tensor (values rounded and clipped to 0..255). */
async function rgbOf(fn: string, source: RgbImage | tf.Tensor3D): Promise<RgbImage> {
  if (!(source instanceof tf.Tensor)) return source;
  if (source.rank !== 3 || source.shape[2] !== 3) {
    throw new NasnetError('INVALID_ARGUMENT', `${fn}: tensor must be [H,W,3]; received [${source.shape.join(',')}]`, { field: 'source' });
  }
  const values = await source.data();
  const data = new Uint8Array(values.length);
  for (let i = 0; i < values.length; i++) data[i] = Math.min(255, Math.max(0, Math.round(Number(values[i]))));
  return { data, width: source.shape[1], height: source.shape[0] };
}

function rawInput(fn: string, image: RgbImage): Sharp {
  const expected = image.width * image.height * 3;
  if (!Number.isInteger(image.width) || !Number.isInteger(image.height) || image.width < 1 || image.height < 1 || image.data.length !== expected) {
    throw new NasnetError('INVALID_ARGUMENT', `${fn}: image must be width x height x 3 bytes; received ${image.data.length} bytes for ${image.width}x${image.height}`, { field: 'source' });
  }
  return sharp(image.data, { raw: { width: image.width, height: image.height, channels: 3 } });
}

/** Lossless PNG of an RGB image or [H,W,3] tensor. */
export async function encodePng(source: RgbImage | tf.Tensor3D): Promise<Buffer> {
  return rawInput('encodePng', await rgbOf('encodePng', source)).png().toBuffer();
}

/** JPEG (4:2:0, quality 1..100, default 90) of an RGB image or [H,W,3] tensor. */
export async function encodeJpeg(source: RgbImage | tf.Tensor3D, options: { readonly quality?: number } = {}): Promise<Buffer> {
  const quality = checkPositiveInt('encodeJpeg', 'quality', options.quality ?? 90, 100);
  return rawInput('encodeJpeg', await rgbOf('encodeJpeg', source)).jpeg({ quality }).toBuffer();
}

/**
 * Renders an SVG document to PNG bytes. For SVG our own code generates (charts, drawings) only:
 * untrusted SVG is an attack surface, which is why probeImage/decode* reject it (UNSUPPORTED_MEDIA_TYPE).
 */
export async function rasterizeSvg(svg: string, options: { readonly density?: number } = {}): Promise<Buffer> {
  const density = checkPositiveInt('rasterizeSvg', 'density', options.density ?? 72, 2400);
  if (svgRenders++ === 0) sharp.unblock({ operation: [SVG_LOADER] });
  try {
    return await sharp(Buffer.from(svg, 'utf8'), { density, failOn: 'error' }).png().toBuffer();
  } catch (error) {
    const reason = error instanceof Error ? error.message.split('\n')[0] : String(error);
    throw new NasnetError('INVALID_ARGUMENT', `rasterizeSvg: the SVG could not be rendered (${reason})`, { field: 'svg' }, { cause: error });
  } finally {
    if (--svgRenders === 0) sharp.block({ operation: [SVG_LOADER] });
  }
}

/** Process-wide libvips tuning for servers: worker threads per image and the operation cache. */
export function configureImageDecoding(options: { readonly threads?: number; readonly cache?: boolean }): void {
  if (options.threads !== undefined) sharp.concurrency(checkPositiveInt('configureImageDecoding', 'threads', options.threads, 1024));
  if (options.cache !== undefined) sharp.cache(options.cache);
}
