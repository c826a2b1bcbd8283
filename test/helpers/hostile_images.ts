// Hostile inputs built in the test (small on the wire, huge or slow to decode): gzip-compressed SVG,
// polyglots (an accepted signature followed by something else) and many-page TIFFs.
import { createGzip } from 'node:zlib';
import sharp from 'sharp';

const SVG_OPEN = '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">';

/** Gzip of `head`, then `repeat` copies of `chunk`, then `tail`, streamed (the plain text never exists in memory). */
export async function gzipRepeated(head: string, chunk: Buffer, repeat: number, tail: string): Promise<Buffer> {
  const gzip = createGzip({ level: 9 });
  const out: Buffer[] = [];
  gzip.on('data', (b: Buffer) => out.push(b));
  const done = new Promise<void>((resolve, reject) => {
    gzip.on('end', resolve);
    gzip.on('error', reject);
  });
  const write = (b: Buffer): Promise<void> => new Promise((resolve) => (gzip.write(b) ? resolve() : gzip.once('drain', resolve)));
  await write(Buffer.from(head));
  for (let i = 0; i < repeat; i++) await write(chunk);
  gzip.end(Buffer.from(tail));
  await done;
  return Buffer.concat(out);
}

/** An .svgz: `<svg>` + `mib` MiB of spaces (issue 17: 2 GiB of spaces in 2 MB cost 2 GB of RSS). */
export function svgzOfSpaces(mib: number): Promise<Buffer> {
  return gzipRepeated(SVG_OPEN, Buffer.alloc(1 << 20, 0x20), mib, '</svg>');
}

/** An .svgz of `count` empty `<g/>` elements (2 million in 7.8 KB cost 3.6 GB). */
export function svgzOfGroups(count: number): Promise<Buffer> {
  const perChunk = 1 << 14;
  return gzipRepeated(SVG_OPEN, Buffer.from('<g/>'.repeat(perChunk)), Math.ceil(count / perChunk), '</svg>');
}

/** A TIFF of `pages` 8x8 grey pages (deflate: ~270 bytes a page). */
export function manyPageTiff(pages: number): Promise<Buffer> {
  const side = 8;
  const data = Buffer.alloc(side * side * pages * 3, 100);
  return sharp(data, { raw: { width: side, height: side * pages, channels: 3, pageHeight: side } }).tiff({ compression: 'deflate' }).toBuffer();
}

const SVG = Buffer.from(`${SVG_OPEN}<rect width="10" height="10"/></svg>`);

/** Accepted signatures followed by something else: each must reach at most its own format's decoder. */
export function polyglots(): ReadonlyArray<{ readonly name: string; readonly bytes: Buffer }> {
  const garbage = Buffer.alloc(512, 0x5a);
  return [
    { name: 'png magic + garbage', bytes: Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), garbage]) },
    { name: 'jpeg magic + svg', bytes: Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), SVG]) },
    // All-ASCII prefixes: libvips' own SVG sniffer would take these if its SVG loader were not blocked.
    { name: 'gif magic + svg', bytes: Buffer.concat([Buffer.from('GIF89a                  '), SVG]) },
    { name: 'webp magic + svg', bytes: Buffer.concat([Buffer.from('RIFF0000WEBPVP8 '), SVG]) },
    { name: 'tiff magic + svg', bytes: Buffer.concat([Buffer.from([0x49, 0x49, 0x2a, 0, 8, 0, 0, 0]), SVG]) },
  ];
}

/** XML and SVG spellings that must all be refused as SVG before any decoder. */
export function xmlVariants(): ReadonlyArray<{ readonly name: string; readonly bytes: Buffer }> {
  return [
    { name: 'utf-8 bom + whitespace + svg', bytes: Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(' \n\t\r '), SVG]) },
    { name: 'utf-16le bom + svg', bytes: Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(SVG.toString('utf8'), 'utf16le')]) },
    { name: 'xml declaration', bytes: Buffer.concat([Buffer.from('<?xml version="1.0"?>\n'), SVG]) },
  ];
}
