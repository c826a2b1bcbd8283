// Image decoding, fitting and encoding: the only module that imports sharp.
// Untrusted bytes go through one guarded path: format allow-list (SVG and anything else rejected), a pixel
// limit checked on the header before any decode and again by libvips (limitInputPixels), failOn:'error'
// (a truncated file is an error, never a partial image), EXIF auto-orientation, alpha removed, sRGB 8-bit.
// Every failure is a NasnetError: NOT_AN_IMAGE, UNSUPPORTED_MEDIA_TYPE or IMAGE_TOO_LARGE.
//
// Shape shorthand: H, W = EXIF-oriented original; OH, OW = network input. Tensors are [OH,OW,3] RGB 0..255.
import * as tf from '@tensorflow/tfjs-core';
import sharp, { type Metadata, type OutputInfo, type Sharp } from 'sharp';
import type { ImageMeta } from './image_meta.js';
import { NasnetError } from './errors.js';
import {
  LETTERBOX_ALIGNS, RESIZE_MODES, metaForPlan, planFit, resizePilNearest,
  type LetterboxAlign, type ResizeMode, type Rgb, type RgbImage,
} from './resize.js';

export type { LetterboxAlign, ResizeMode, Rgb, RgbImage } from './resize.js';

/** Default decompression-bomb guard: 40 megapixels (a 7300 x 5500 photo), ~120 MB of RGB. */
export const DEFAULT_MAX_PIXELS = 40_000_000;
/** Largest network input accepted by the fitting functions (per side). */
export const MAX_INPUT_SIDE = 8192;

export const IMAGE_FORMATS = ['jpeg', 'png', 'webp', 'avif', 'tiff', 'gif'] as const;
export type ImageFormat = (typeof IMAGE_FORMATS)[number];

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

// Formats sharp cannot decode here but that are images all the same: answer 415, not "not an image".
const FOREIGN_SIGNATURES: ReadonlyArray<{ name: string; test: (b: Uint8Array) => boolean }> = [
  { name: 'bmp', test: (b) => b[0] === 0x42 && b[1] === 0x4d && [12, 40, 52, 56, 64, 108, 124].includes(b[14] ?? -1) && b[15] === 0 },
  { name: 'pdf', test: (b) => startsWith(b, [0x25, 0x50, 0x44, 0x46, 0x2d]) },
  { name: 'psd', test: (b) => startsWith(b, [0x38, 0x42, 0x50, 0x53]) },
  { name: 'jpeg2000', test: (b) => startsWith(b, [0, 0, 0, 0x0c, 0x6a, 0x50, 0x20, 0x20]) || startsWith(b, [0xff, 0x4f, 0xff, 0x51]) },
  { name: 'jxl', test: (b) => startsWith(b, [0xff, 0x0a]) || startsWith(b, [0, 0, 0, 0x0c, 0x4a, 0x58, 0x4c, 0x20]) },
];

/** XML (SVG) is refused before libvips parses it at all: rasterising untrusted SVG is an attack surface. */
function looksLikeXml(bytes: Uint8Array): boolean {
  let i = startsWith(bytes, [0xef, 0xbb, 0xbf]) ? 3 : 0; // UTF-8 byte order mark
  while (i < bytes.length && i < 1024 && [0x09, 0x0a, 0x0d, 0x20].includes(bytes[i]!)) i++;
  return bytes[i] === 0x3c; // '<'
}

function startsWith(bytes: Uint8Array, prefix: readonly number[]): boolean {
  return prefix.every((v, i) => bytes[i] === v);
}

function unsupported(fn: string, format: string): NasnetError {
  return new NasnetError(
    'UNSUPPORTED_MEDIA_TYPE',
    `${fn}: image format ${format} is not accepted; expected one of ${IMAGE_FORMATS.join(', ')}`,
    { format, accepted: [...IMAGE_FORMATS] },
  );
}

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

/** Maps a libvips/sharp failure on untrusted bytes to the typed error. */
function decodeError(fn: string, error: unknown): NasnetError {
  const message = error instanceof Error ? error.message : String(error);
  if (/exceeds pixel limit/i.test(message)) {
    return new NasnetError('IMAGE_TOO_LARGE', `${fn}: ${message}`, undefined, { cause: error });
  }
  const reason = message.split('\n')[0] ?? message;
  return new NasnetError('NOT_AN_IMAGE', `${fn}: the bytes are not a decodable image (${reason})`, undefined, { cause: error });
}

function openImage(input: Buffer, maxPixels: number): Sharp {
  return sharp(input, { failOn: 'error', limitInputPixels: maxPixels, autoOrient: true, pages: 1, page: 0 });
}

/**
 * Reads the header only: accepted format, EXIF-oriented size, frame count. Throws NOT_AN_IMAGE,
 * UNSUPPORTED_MEDIA_TYPE (SVG, HEIC, BMP, ...) or IMAGE_TOO_LARGE (width*height > maxPixels).
 */
export async function probeImage(bytes: Uint8Array, options: { readonly maxPixels?: number } = {}): Promise<ImageProbe> {
  const fn = 'probeImage';
  return probe(fn, toBuffer(fn, bytes), checkPositiveInt(fn, 'maxPixels', options.maxPixels ?? DEFAULT_MAX_PIXELS));
}

/** probeImage for a caller `fn` (named in its error messages). */
async function probe(fn: string, input: Buffer, maxPixels: number): Promise<ImageProbe> {
  if (looksLikeXml(input)) throw unsupported(fn, 'svg (XML)');
  let info: Metadata;
  try {
    // No pixel limit here so that an oversized image is reported with its size; metadata() decodes nothing.
    info = await sharp(input, { failOn: 'error', limitInputPixels: false }).metadata();
  } catch (error) {
    const foreign = FOREIGN_SIGNATURES.find((s) => s.test(input));
    throw foreign !== undefined ? unsupported(fn, foreign.name) : decodeError(fn, error);
  }
  let format: string = info.format;
  if (format === 'heif') format = info.compression === 'av1' ? 'avif' : `heif/${info.compression ?? 'unknown'}`;
  if (!(IMAGE_FORMATS as readonly string[]).includes(format)) throw unsupported(fn, format);
  const { width, height } = info.autoOrient;
  if (width * height > maxPixels) {
    throw new NasnetError(
      'IMAGE_TOO_LARGE',
      `${fn}: image is ${width}x${height} = ${width * height} pixels; the limit is ${maxPixels}`,
      { width, height, maxPixels },
    );
  }
  return { format: format as ImageFormat, width, height, pages: info.pages ?? 1, hasAlpha: info.hasAlpha };
}

/** Runs a pipeline to raw sRGB bytes (alpha dropped or flattened), mapping failures to typed errors. */
async function toRaw(fn: string, pipeline: Sharp, alphaBackground: Rgb | undefined): Promise<RgbImage> {
  const coloured = alphaBackground === undefined
    ? pipeline.removeAlpha()
    : pipeline.flatten({ background: { r: alphaBackground[0], g: alphaBackground[1], b: alphaBackground[2] } });
  let result: { data: Buffer; info: OutputInfo };
  try {
    result = await coloured.toColourspace('srgb').raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
  } catch (error) {
    throw decodeError(fn, error);
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
  const maxPixels = checkPositiveInt(fn, 'maxPixels', options.maxPixels ?? DEFAULT_MAX_PIXELS);
  const alphaBackground = checkRgbColour(fn, 'alphaBackground', options.alphaBackground);
  const input = toBuffer(fn, bytes);
  const header = await probe(fn, input, maxPixels);
  const image = await toRaw(fn, openImage(input, maxPixels), alphaBackground);
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
  const maxPixels = checkPositiveInt(fn, 'maxPixels', options.maxPixels ?? DEFAULT_MAX_PIXELS);
  const alphaBackground = checkRgbColour(fn, 'alphaBackground', options.alphaBackground);

  const input = toBuffer(fn, bytes);
  const header = await probe(fn, input, maxPixels);
  const plan = planFit(header.width, header.height, width, height, mode, align);
  const meta = metaForPlan(header.width, header.height, plan);
  const pipeline = openImage(input, maxPixels);
  if (kernel === 'pil-nearest') {
    const original = await toRaw(fn, pipeline, alphaBackground);
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
  return { image: await toRaw(fn, pipeline, alphaBackground), meta };
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
  try {
    return await sharp(Buffer.from(svg, 'utf8'), { density, failOn: 'error' }).png().toBuffer();
  } catch (error) {
    const reason = error instanceof Error ? error.message.split('\n')[0] : String(error);
    throw new NasnetError('INVALID_ARGUMENT', `rasterizeSvg: the SVG could not be rendered (${reason})`, { field: 'svg' }, { cause: error });
  }
}

/** Process-wide libvips tuning for servers: worker threads per image and the operation cache. */
export function configureImageDecoding(options: { readonly threads?: number; readonly cache?: boolean }): void {
  if (options.threads !== undefined) sharp.concurrency(checkPositiveInt('configureImageDecoding', 'threads', options.threads, 1024));
  if (options.cache !== undefined) sharp.cache(options.cache);
}
