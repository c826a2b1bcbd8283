import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import * as tf from '@tensorflow/tfjs-core';
import sharp, { type Sharp } from 'sharp';
import { initEngine } from '../../core/engine.js';
import { NasnetError, type ErrorCode } from '../../core/errors.js';
import { packageRoot } from '../../core/paths.js';
import {
  decodeImage, decodeRgb, DEFAULT_MAX_PAGES, encodeJpeg, encodePng, fitRgb, loadImageForModel, probeImage, rasterizeSvg,
  type RgbImage,
} from '../../core/image_io.js';
import { countTiffPages, sniffImage } from '../../core/image_sniff.js';
import { manyPageTiff, polyglots, svgzOfGroups, svgzOfSpaces, xmlVariants } from '../helpers/hostile_images.js';

const fixture = (name: string): Buffer => readFileSync(join(packageRoot(), 'test', 'fixtures', 'image_io', name));

type Colour = [number, number, number];
const RED: Colour = [255, 0, 0];
const GREEN: Colour = [0, 255, 0];
const BLUE: Colour = [0, 0, 255];
const WHITE: Colour = [255, 255, 255];

/** width x height RGB where pixel (x, y) gets colourAt(x, y). */
function paint(width: number, height: number, colourAt: (x: number, y: number) => Colour): RgbImage {
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) data.set(colourAt(x, y), (y * width + x) * 3);
  }
  return { data, width, height };
}

/** 32x16, quadrants: top-left red, top-right green, bottom-left blue, bottom-right white. */
const QUADRANTS = paint(32, 16, (x, y) => (y < 8 ? (x < 16 ? RED : GREEN) : x < 16 ? BLUE : WHITE));

const raw = (image: RgbImage, channels: 1 | 3 | 4 = 3) =>
  sharp(image.data, { raw: { width: image.width, height: image.height, channels } });

function pixel(image: RgbImage, x: number, y: number): Colour {
  const i = (y * image.width + x) * 3;
  return [image.data[i]!, image.data[i + 1]!, image.data[i + 2]!];
}

function assertColour(actual: Colour, expected: Colour, tolerance: number, where: string): void {
  const worst = Math.max(...actual.map((v, i) => Math.abs(v - expected[i]!)));
  assert.ok(worst <= tolerance, `${where}: expected ${JSON.stringify(expected)} +-${tolerance}, received ${JSON.stringify(actual)}`);
}

/** Colours at the centres of the four quadrants: [TL, TR, BL, BR]. */
function quadrantColours(image: RgbImage): Colour[] {
  const [qx, qy] = [image.width / 4, image.height / 4];
  return [pixel(image, qx, qy), pixel(image, 3 * qx, qy), pixel(image, qx, 3 * qy), pixel(image, 3 * qx, 3 * qy)];
}

async function rejectsWith(promise: Promise<unknown>, code: ErrorCode, pattern?: RegExp): Promise<void> {
  await assert.rejects(promise, (e: unknown) => {
    assert.ok(e instanceof NasnetError, `expected NasnetError ${code}, received ${String(e)}`);
    assert.equal(e.code, code, e.message);
    if (pattern !== undefined) assert.match(e.message, pattern);
    return true;
  });
}

before(async () => {
  await initEngine({ backend: 'cpu' });
});

describe('decode: formats', () => {
  test('PNG decodes losslessly at its size with the identity meta', async () => {
    const { image, meta } = await decodeRgb(await raw(QUADRANTS).png().toBuffer());
    assert.deepEqual(image.data, QUADRANTS.data);
    assert.deepEqual(meta, { width: 32, height: 16, inputWidth: 32, inputHeight: 16, scaleX: 1, scaleY: 1, padLeft: 0, padTop: 0 });
  });

  const lossy: Array<[string, (s: Sharp) => Sharp, number]> = [
    ['jpeg', (s) => s.jpeg({ quality: 95 }), 40],
    ['webp', (s) => s.webp({ quality: 95 }), 40],
    ['avif', (s) => s.avif({ quality: 90 }), 40],
    ['tiff', (s) => s.tiff({ compression: 'lzw' }), 0],
    ['gif', (s) => s.gif(), 0],
  ];
  for (const [format, encode, tolerance] of lossy) {
    test(`${format}: probe names the format, decode keeps the quadrant colours (+-${tolerance})`, async () => {
      const bytes = await encode(raw(QUADRANTS)).toBuffer();
      const probe = await probeImage(bytes);
      assert.deepEqual([probe.format, probe.width, probe.height], [format, 32, 16]);
      const { image } = await decodeRgb(bytes);
      const expected = [RED, GREEN, BLUE, WHITE];
      quadrantColours(image).forEach((c, i) => assertColour(c, expected[i]!, tolerance, `${format} quadrant ${i}`));
    });
  }

  test('animated GIF: only the first frame is decoded', async () => {
    const frames = Buffer.concat([paint(8, 6, () => RED).data, paint(8, 6, () => BLUE).data]);
    const gif = await sharp(frames, { raw: { width: 8, height: 12, channels: 3, pageHeight: 6 } }).gif().toBuffer();
    const probe = await probeImage(gif);
    assert.deepEqual([probe.width, probe.height, probe.pages], [8, 6, 2]);
    const { image } = await decodeRgb(gif);
    assert.deepEqual([image.width, image.height], [8, 6]);
    assert.deepEqual(pixel(image, 7, 5), RED);
  });

  test('greyscale (1 channel) and 16-bit PNGs become 8-bit RGB', async () => {
    const grey = await sharp(Uint8Array.from([0, 100, 200, 255]), { raw: { width: 2, height: 2, channels: 1 } }).png().toBuffer();
    assert.deepEqual([...(await decodeRgb(grey)).image.data], [0, 0, 0, 100, 100, 100, 200, 200, 200, 255, 255, 255]);
    const deep = await raw(paint(2, 2, () => [10, 20, 30])).toColourspace('rgb16').png().toBuffer();
    assert.equal((await sharp(deep).metadata()).depth, 'ushort');
    assert.deepEqual(pixel((await decodeRgb(deep)).image, 1, 1), [10, 20, 30]);
  });

  test('alpha is dropped by default (PIL convert("RGB")) or flattened onto alphaBackground', async () => {
    const rgba = await sharp(Uint8Array.from([200, 0, 0, 128]), { raw: { width: 1, height: 1, channels: 4 } }).png().toBuffer();
    assert.deepEqual([...(await decodeRgb(rgba)).image.data], [200, 0, 0]);
    // Over white: 200*a + 255*(1-a) with a = 128/255 -> 227.4; 255*(1-a) = 127.0.
    const flat = (await decodeRgb(rgba, { alphaBackground: [255, 255, 255] })).image;
    assertColour(pixel(flat, 0, 0), [227, 127, 127], 1, 'flattened');
  });
});

describe('decode: EXIF orientation', () => {
  // The quadrant image (TL red, TR green, BL blue, BR white) as displayed for each EXIF orientation.
  const cases: Array<[number, [number, number], Colour[]]> = [
    [1, [32, 16], [RED, GREEN, BLUE, WHITE]],
    [2, [32, 16], [GREEN, RED, WHITE, BLUE]], // mirrored left-right
    [3, [32, 16], [WHITE, BLUE, GREEN, RED]], // rotated 180
    [6, [16, 32], [BLUE, RED, WHITE, GREEN]], // rotated 90 clockwise: the left column becomes the top row
    [8, [16, 32], [GREEN, WHITE, RED, BLUE]], // rotated 90 counter-clockwise
  ];
  for (const [orientation, [width, height], expected] of cases) {
    test(`JPEG with orientation ${orientation} decodes as displayed, ${width}x${height}`, async () => {
      const jpeg = await raw(QUADRANTS).jpeg({ quality: 95 }).withMetadata({ orientation }).toBuffer();
      assert.equal((await sharp(jpeg).metadata()).orientation, orientation);
      const probe = await probeImage(jpeg);
      assert.deepEqual([probe.width, probe.height], [width, height]);
      const { image, meta } = await decodeRgb(jpeg);
      assert.deepEqual([image.width, image.height, meta.width, meta.height], [width, height, width, height]);
      quadrantColours(image).forEach((c, i) => assertColour(c, expected[i]!, 40, `orientation ${orientation} quadrant ${i}`));
    });
  }

  test('the fitted image of a rotated JPEG is the oriented one, and meta holds the oriented size', async () => {
    const jpeg = await raw(QUADRANTS).jpeg({ quality: 95 }).withMetadata({ orientation: 6 }).toBuffer();
    const { image, meta } = await fitRgb(jpeg, { width: 8, height: 16, mode: 'stretch', kernel: 'nearest' });
    assert.deepEqual([meta.width, meta.height, meta.scaleX, meta.scaleY], [16, 32, 0.5, 0.5]);
    quadrantColours(image).forEach((c, i) => assertColour(c, [BLUE, RED, WHITE, GREEN][i]!, 40, `fitted quadrant ${i}`));
  });
});

describe('decode: rejects bad input with typed errors', () => {
  test('non-image bytes and empty input are NOT_AN_IMAGE', async () => {
    await rejectsWith(decodeImage(Buffer.from('definitely not an image, just some text')), 'NOT_AN_IMAGE', /^decodeRgb: the bytes are not a decodable image/);
    await rejectsWith(decodeImage(new Uint8Array(0)), 'NOT_AN_IMAGE', /empty/);
  });

  test('truncated JPEG and PNG are NOT_AN_IMAGE (failOn: error), not a partial image', async () => {
    const photo = fixture('photo_grace_hopper.jpg');
    // Our own message; libvips' text ("premature end of JPEG file") is kept as the cause, for logs only.
    await assert.rejects(decodeRgb(photo.subarray(0, photo.length >> 1)), (e: unknown) => {
      assert.ok(e instanceof NasnetError);
      assert.equal(e.message, 'decodeRgb: the jpeg data is corrupt or truncated');
      assert.match(String((e.cause as Error).message), /premature end/i);
      return true;
    });
    await rejectsWith(decodeRgb(photo.subarray(0, 200)), 'NOT_AN_IMAGE');
    const png = await raw(paint(64, 64, (x, y) => [x * 4, y * 4, (x * y) & 255])).png().toBuffer();
    await rejectsWith(decodeRgb(png.subarray(0, png.length - 30)), 'NOT_AN_IMAGE');
    // A corrupted middle (bytes zeroed) must also fail or decode, never crash.
    const damaged = Buffer.from(photo);
    damaged.fill(0, 2000, 6000);
    await decodeRgb(damaged).then(
      ({ image }) => assert.deepEqual([image.width, image.height], [512, 600]),
      (e: unknown) => assert.ok(e instanceof NasnetError && e.code === 'NOT_AN_IMAGE'),
    );
  });

  test('SVG is UNSUPPORTED_MEDIA_TYPE in probe and decode', async () => {
    const svg = Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="10" height="10"/></svg>');
    await rejectsWith(probeImage(svg), 'UNSUPPORTED_MEDIA_TYPE', /svg.*jpeg, png, webp, avif, tiff, gif/);
    await rejectsWith(loadImageForModel(svg, { width: 4, height: 4 }), 'UNSUPPORTED_MEDIA_TYPE');
    // Refused before libvips parses it, whatever precedes the first tag.
    const declared = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('\n  <?xml version="1.0"?>\n'), svg]);
    await rejectsWith(decodeRgb(declared), 'UNSUPPORTED_MEDIA_TYPE', /svg \(XML\)/);
  });

  test('BMP and PDF signatures are UNSUPPORTED_MEDIA_TYPE, not NOT_AN_IMAGE', async () => {
    // A 1x1 24-bit BMP: 14-byte file header + 40-byte BITMAPINFOHEADER + one padded row.
    const bmp = Buffer.alloc(58);
    bmp.write('BM', 0, 'latin1');
    bmp.writeUInt32LE(58, 2);
    bmp.writeUInt32LE(54, 10);
    bmp.writeUInt32LE(40, 14);
    bmp.writeInt32LE(1, 18);
    bmp.writeInt32LE(1, 22);
    bmp.writeUInt16LE(1, 26);
    bmp.writeUInt16LE(24, 28);
    await rejectsWith(decodeRgb(bmp), 'UNSUPPORTED_MEDIA_TYPE', /bmp/);
    await rejectsWith(decodeRgb(Buffer.from('%PDF-1.7\n%binary\n')), 'UNSUPPORTED_MEDIA_TYPE', /pdf/);
  });

  test('a header claiming 50000x50000 is IMAGE_TOO_LARGE before any decoding', async () => {
    const png = Buffer.from(await raw(paint(4, 4, () => RED)).png().toBuffer());
    // IHDR data starts at byte 16 (8 signature + 4 length + 4 type); its CRC covers type + 13 data bytes.
    png.writeUInt32BE(50_000, 16);
    png.writeUInt32BE(50_000, 20);
    png.writeUInt32BE(crc32(png.subarray(12, 29)), 29);
    await rejectsWith(probeImage(png), 'IMAGE_TOO_LARGE', /50000x50000 = 2500000000 pixels; the limit is 40000000/);
    await rejectsWith(decodeImage(png), 'IMAGE_TOO_LARGE');
  });

  test('maxPixels is inclusive and configurable', async () => {
    const png = await raw(paint(100, 100, () => GREEN)).png().toBuffer();
    assert.equal((await decodeRgb(png, { maxPixels: 10_000 })).image.width, 100);
    await rejectsWith(decodeRgb(png, { maxPixels: 9_999 }), 'IMAGE_TOO_LARGE', /100x100/);
    await rejectsWith(fitRgb(png, { width: 8, height: 8, maxPixels: 9_999 }), 'IMAGE_TOO_LARGE');
  });

  test('bad options are INVALID_ARGUMENT naming the field', async () => {
    const png = await raw(QUADRANTS).png().toBuffer();
    await rejectsWith(fitRgb(png, { width: 0, height: 8 }), 'INVALID_ARGUMENT', /width/);
    await rejectsWith(fitRgb(png, { width: 8, height: 8, mode: 'fit' as never }), 'INVALID_ARGUMENT', /mode must be one of stretch, letterbox, center-crop/);
    await rejectsWith(fitRgb(png, { width: 8, height: 8, padColor: [0, 0, 300] }), 'INVALID_ARGUMENT', /padColor/);
    await rejectsWith(decodeRgb(png, { maxPixels: -1 }), 'INVALID_ARGUMENT', /maxPixels/);
  });
});

describe('untrusted bytes: the format is decided before any decoder', () => {
  test('sniffImage names accepted formats from their signatures and nothing else', async () => {
    const png = await raw(paint(4, 4, () => RED)).png().toBuffer();
    for (const format of ['jpeg', 'png', 'webp', 'avif', 'tiff', 'gif'] as const) {
      const bytes = await sharp(png).toFormat(format).toBuffer();
      assert.deepEqual(sniffImage(bytes), { accepted: true, format }, format);
    }
    assert.deepEqual(sniffImage(Buffer.from([0x1f, 0x8b, 8, 0])), { accepted: false, name: 'gzip (e.g. .svgz)', known: true });
    assert.deepEqual(sniffImage(Buffer.from('%PDF-1.7')), { accepted: false, name: 'pdf', known: true });
    // An ftyp box without an AVIF brand (HEIC) is refused by name; a WebP needs WEBP at byte 8, not just RIFF.
    const heic = Buffer.concat([Buffer.from([0, 0, 0, 0x18]), Buffer.from('ftypheic\0\0\0\0mif1heic')]);
    assert.deepEqual(sniffImage(heic), { accepted: false, name: 'heif', known: true });
    assert.deepEqual(sniffImage(Buffer.from('RIFF0000WAVEfmt ')), { accepted: false, name: 'unknown', known: false });
    assert.deepEqual(sniffImage(Buffer.from([0xff, 0xd8])), { accepted: false, name: 'unknown', known: false }, 'SOI without a marker');
  });

  test('gzip-compressed SVG is UNSUPPORTED_MEDIA_TYPE at once, whatever it expands to', async () => {
    const spaces = await svgzOfSpaces(64);
    const groups = await svgzOfGroups(200_000);
    for (const bytes of [spaces, groups]) {
      const start = performance.now();
      await rejectsWith(probeImage(bytes), 'UNSUPPORTED_MEDIA_TYPE', /^probeImage: image format gzip \(e\.g\. \.svgz\) is not accepted/);
      await rejectsWith(decodeRgb(bytes), 'UNSUPPORTED_MEDIA_TYPE', /gzip/);
      // librsvg would inflate 64 MiB and parse it (seconds); the signature check takes microseconds.
      assert.ok(performance.now() - start < 100, `refused in ${performance.now() - start} ms`);
    }
  });

  test('XML after a byte order mark or whitespace is refused as SVG', async () => {
    for (const { name, bytes } of xmlVariants()) await rejectsWith(decodeRgb(bytes), 'UNSUPPORTED_MEDIA_TYPE', /svg \(XML\)/).catch((e: unknown) => {
      throw new Error(`${name}: ${String(e)}`);
    });
  });

  test('polyglots reach at most the decoder of the signature they start with: NOT_AN_IMAGE, our message', async () => {
    for (const { name, bytes } of polyglots()) {
      const format = sniffImage(bytes);
      assert.equal(format.accepted, true, name);
      await rejectsWith(decodeRgb(bytes), 'NOT_AN_IMAGE', /^decodeRgb: the (png|jpeg|gif|webp|tiff) data is corrupt/);
    }
  });

  test('libvips loaders other than the accepted formats are blocked in this process (the second fence)', async () => {
    const svg = xmlVariants()[2]!.bytes;
    await assert.rejects(sharp(svg).metadata(), /unsupported image format/);
    // rasterizeSvg opens the SVG loader only for its own render and closes it again.
    await rasterizeSvg('<svg xmlns="http://www.w3.org/2000/svg" width="2" height="2"/>');
    await assert.rejects(sharp(svg).metadata(), /unsupported image format/);
  });

  test(`a TIFF with more than ${DEFAULT_MAX_PAGES} pages is IMAGE_TOO_LARGE before libvips counts them; the first page of a smaller one is decoded`, async () => {
    const many = await manyPageTiff(DEFAULT_MAX_PAGES + 1);
    assert.equal(countTiffPages(many, 10_000), DEFAULT_MAX_PAGES + 1);
    await rejectsWith(decodeRgb(many), 'IMAGE_TOO_LARGE', new RegExp(`more than ${DEFAULT_MAX_PAGES} pages or frames; the limit is ${DEFAULT_MAX_PAGES}`));
    const exactly = await manyPageTiff(DEFAULT_MAX_PAGES);
    const { image } = await decodeRgb(exactly);
    assert.deepEqual([image.width, image.height, pixel(image, 7, 7)], [8, 8, [100, 100, 100]], 'one 8x8 page, not the 8x2048 strip');
    assert.equal((await probeImage(exactly)).pages, DEFAULT_MAX_PAGES);
    await rejectsWith(decodeRgb(exactly, { maxPages: DEFAULT_MAX_PAGES - 1 }), 'IMAGE_TOO_LARGE', /limit is 255/);
  });

  test('a TIFF whose page directory loops or leaves the file is NOT_AN_IMAGE', async () => {
    const tiff = Buffer.from(await manyPageTiff(2));
    const little = tiff[0] === 0x49;
    const first = little ? tiff.readUInt32LE(4) : tiff.readUInt32BE(4);
    const entries = little ? tiff.readUInt16LE(first) : tiff.readUInt16BE(first);
    const next = first + 2 + entries * 12;
    // Page 1 points back to itself.
    if (little) tiff.writeUInt32LE(first, next); else tiff.writeUInt32BE(first, next);
    assert.equal(countTiffPages(tiff, 1000), 'corrupt');
    await rejectsWith(decodeRgb(tiff), 'NOT_AN_IMAGE', /page directory/);
    if (little) tiff.writeUInt32LE(tiff.length + 100, next); else tiff.writeUInt32BE(tiff.length + 100, next);
    assert.equal(countTiffPages(tiff, 1000), 'corrupt');
  });

  test('whole-image decodes (interlaced PNG, GIF) are capped by maxDecodeBytes (inclusive); streamed ones are not', async () => {
    const card = raw(paint(100, 100, (x, y) => [x, y, 7]));
    const interlaced = await card.clone().png({ progressive: true }).toBuffer();
    const plain = await card.clone().png().toBuffer();
    const gif = await card.clone().gif().toBuffer();
    assert.equal((await decodeRgb(interlaced, { maxDecodeBytes: 30_000 })).image.width, 100, '100*100*3 bytes fit exactly');
    await rejectsWith(
      decodeRgb(interlaced, { maxDecodeBytes: 29_999 }), 'IMAGE_TOO_LARGE',
      /^decodeRgb: an interlaced png is decoded whole: 100x100 needs 30000 bytes; the limit is 29999$/,
    );
    assert.equal((await decodeRgb(plain, { maxDecodeBytes: 1 })).image.width, 100, 'a plain PNG streams: no budget applies');
    assert.equal((await decodeRgb(gif, { maxDecodeBytes: 40_000 })).image.width, 100, 'GIF frames are RGBA: 4 bytes a pixel');
    await rejectsWith(fitRgb(gif, { width: 8, height: 8, maxDecodeBytes: 39_999 }), 'IMAGE_TOO_LARGE', /a gif is decoded whole: 100x100 needs 40000 bytes/);
    // PIL NEAREST gathers from the full RGB original: 3 bytes a pixel, whatever the format.
    assert.equal((await fitRgb(plain, { width: 8, height: 8, kernel: 'pil-nearest', maxDecodeBytes: 30_000 })).image.width, 8);
    await rejectsWith(
      fitRgb(plain, { width: 8, height: 8, kernel: 'pil-nearest', maxDecodeBytes: 29_999 }), 'IMAGE_TOO_LARGE',
      /^fitRgb: with kernel pil-nearest, the image is decoded whole: 100x100 needs 30000 bytes; the limit is 29999$/,
    );
    assert.equal((await fitRgb(plain, { width: 8, height: 8, kernel: 'linear', maxDecodeBytes: 1 })).image.width, 8, 'libvips kernels stream');
  });

  test('minSide refuses smaller images with IMAGE_TOO_SMALL (inclusive bound)', async () => {
    const tiny = await raw(paint(1, 1, () => RED)).png().toBuffer();
    await rejectsWith(decodeRgb(tiny, { minSide: 8 }), 'IMAGE_TOO_SMALL', /image is 1x1; both sides must be at least 8 pixels/);
    const eight = await raw(paint(8, 7, () => RED)).png().toBuffer();
    await rejectsWith(fitRgb(eight, { width: 4, height: 4, minSide: 8 }), 'IMAGE_TOO_SMALL', /8x7/);
    assert.equal((await decodeRgb(eight, { minSide: 7 })).image.height, 7);
    assert.equal((await decodeRgb(tiny)).image.width, 1, 'the library default accepts any size');
  });
});

describe('fit: stretch, letterbox, center-crop', () => {
  test('letterbox 200x100 -> 64x64 pads 16 rows top and bottom with padColor; meta maps back', async () => {
    const png = await raw(paint(200, 100, () => GREEN)).png().toBuffer();
    const { image, meta } = await fitRgb(png, { width: 64, height: 64, mode: 'letterbox', padColor: [1, 2, 3] });
    assert.deepEqual(meta, { width: 200, height: 100, inputWidth: 64, inputHeight: 64, scaleX: 0.32, scaleY: 0.32, padLeft: 0, padTop: 16 });
    for (const y of [0, 15, 48, 63]) assert.deepEqual(pixel(image, 31, y), [1, 2, 3], `row ${y}`);
    for (const y of [16, 32, 47]) assert.deepEqual(pixel(image, 31, y), GREEN, `row ${y}`);
    const topLeft = await fitRgb(png, { width: 64, height: 64, mode: 'letterbox', align: 'top-left' });
    assert.deepEqual([topLeft.meta.padTop, pixel(topLeft.image, 0, 0), pixel(topLeft.image, 0, 32)], [0, GREEN, [0, 0, 0]]);
  });

  test('center-crop 200x100 -> 64x64 keeps original columns 50..149 only', async () => {
    // Red left of column 50, blue from column 150: a centre crop of the 0.64-scaled image shows only green.
    const png = await raw(paint(200, 100, (x) => (x < 50 ? RED : x >= 150 ? BLUE : GREEN))).png().toBuffer();
    const { image, meta } = await fitRgb(png, { width: 64, height: 64, mode: 'center-crop', kernel: 'nearest' });
    assert.deepEqual([meta.scaleX, meta.scaleY, meta.padLeft, meta.padTop], [0.64, 0.64, -32, 0]);
    assert.equal((0 - meta.padLeft) / meta.scaleX, 50);
    for (const x of [0, 1, 32, 62, 63]) assertColour(pixel(image, x, 32), GREEN, 0, `column ${x}`);
    // The same plan executed by the exact JS gather agrees.
    const pil = await fitRgb(png, { width: 64, height: 64, mode: 'center-crop', kernel: 'pil-nearest' });
    assert.deepEqual(pil.meta, meta);
    assert.deepEqual(pil.image.data, image.data);
  });

  test('stretch of the photo with pil-nearest equals keras.utils.load_img byte for byte (from the PIL-decoded PNG)', async () => {
    const { image, meta } = await fitRgb(fixture('photo_grace_hopper_decoded.png'), { width: 224, height: 224, kernel: 'pil-nearest' });
    assert.deepEqual([meta.width, meta.height, meta.scaleX, meta.scaleY], [512, 600, 224 / 512, 224 / 600]);
    assert.deepEqual(Buffer.from(image.data), fixture('photo_224_nearest_uint8.bin'));
  });

  test('sharp decodes the photo JPEG to the same bytes as PIL, so load_img is matched from the JPEG too', async () => {
    const fromJpeg = await decodeRgb(fixture('photo_grace_hopper.jpg'));
    const fromPng = await decodeRgb(fixture('photo_grace_hopper_decoded.png'));
    assert.deepEqual(fromJpeg.image.data, fromPng.image.data);
    const { image } = await fitRgb(fixture('photo_grace_hopper.jpg'), { width: 224, height: 224, kernel: 'pil-nearest' });
    assert.deepEqual(Buffer.from(image.data), fixture('photo_224_nearest_uint8.bin'));
  });

  test('libvips linear is close to PIL BILINEAR (both antialiased): mean |diff| < 0.3/255, max <= 9', async () => {
    const { image } = await fitRgb(fixture('photo_grace_hopper_decoded.png'), { width: 224, height: 224, kernel: 'linear' });
    const pil = fixture('photo_224_bilinear_pil_uint8.bin');
    let sum = 0;
    let max = 0;
    for (let i = 0; i < pil.length; i++) {
      const d = Math.abs(image.data[i]! - pil[i]!);
      sum += d;
      max = Math.max(max, d);
    }
    // Measured 0.2075 and 9 (sharp 0.35.5 / libvips 8.18.7); plain nearest would be ~5.4 from PIL bilinear.
    assert.ok(sum / pil.length < 0.3, `mean ${sum / pil.length}`);
    assert.ok(max <= 9, `max ${max}`);
  });
});

describe('tensors', () => {
  test('decodeImage gives int32 [H,W,3]; loadImageForModel gives float32 [OH,OW,3] 0..255', async () => {
    const png = await raw(QUADRANTS).png().toBuffer();
    const decoded = await decodeImage(png);
    assert.equal(decoded.tensor.dtype, 'int32');
    assert.deepEqual(decoded.tensor.shape, [16, 32, 3]);
    assert.deepEqual(Array.from(await decoded.tensor.data()), Array.from(QUADRANTS.data));
    decoded.tensor.dispose();
    const fitted = await loadImageForModel(png, { width: 4, height: 2, kernel: 'pil-nearest' });
    assert.equal(fitted.tensor.dtype, 'float32');
    assert.deepEqual(fitted.tensor.arraySync(), [[RED, RED, GREEN, GREEN], [BLUE, BLUE, WHITE, WHITE]]);
    fitted.tensor.dispose();
  });

  test('no tensor leaks over repeated loads, and none from failed decodes', async () => {
    const jpeg = await raw(QUADRANTS).jpeg().toBuffer();
    const before = tf.memory().numTensors;
    for (let i = 0; i < 5; i++) {
      const { tensor } = await loadImageForModel(jpeg, { width: 16, height: 16, mode: 'letterbox' });
      tensor.dispose();
      await decodeImage(jpeg.subarray(0, 100)).catch(() => undefined);
    }
    assert.equal(tf.memory().numTensors, before);
  });

  test('encodePng round-trips a tensor exactly; values are rounded and clipped to 0..255', async () => {
    const t = tf.tensor3d([[[0, 1.4, 254.6], [-5, 300, 128]]], [1, 2, 3], 'float32');
    const { image } = await decodeRgb(await encodePng(t));
    assert.deepEqual([...image.data], [0, 1, 255, 0, 255, 128]);
    t.dispose();
    await rejectsWith(encodePng(tf.zeros([2, 2, 4]) as tf.Tensor3D), 'INVALID_ARGUMENT', /\[H,W,3\]/);
  });

  test('encodeJpeg writes a JPEG that decodes close to the source', async () => {
    const jpeg = await encodeJpeg(QUADRANTS, { quality: 95 });
    assert.deepEqual([...jpeg.subarray(0, 3)], [0xff, 0xd8, 0xff]);
    const { image } = await decodeRgb(jpeg);
    quadrantColours(image).forEach((c, i) => assertColour(c, [RED, GREEN, BLUE, WHITE][i]!, 40, `quadrant ${i}`));
  });
});

describe('rasterizeSvg (trusted SVG only)', () => {
  test('renders our own SVG to a PNG', async () => {
    const png = await rasterizeSvg('<svg xmlns="http://www.w3.org/2000/svg" width="6" height="4"><rect width="3" height="4" fill="#0000ff"/></svg>');
    const { image } = await decodeRgb(png, { alphaBackground: [255, 255, 255] });
    assert.deepEqual([image.width, image.height, pixel(image, 0, 0), pixel(image, 5, 3)], [6, 4, BLUE, WHITE]);
  });

  test('broken SVG is INVALID_ARGUMENT', async () => {
    await rejectsWith(rasterizeSvg('<svg'), 'INVALID_ARGUMENT', /rasterizeSvg/);
  });
});
