// What untrusted bytes are, decided from their first bytes before any decoder sees them. libvips picks
// its loader by sniffing too, and it has loaders we must never run on untrusted input: librsvg for SVG
// and gzip-compressed SVG (a 2 MB .svgz of whitespace cost 2 GB of RSS in the header probe alone), PDF,
// and others. So the bytes must positively match the signature of an accepted format; everything else
// is refused here, named where we recognise it (415) or as "not an image" (400).
// Signatures: JPEG (ITU T.81 SOI FF D8 FF), PNG (ISO/IEC 15948 5.2), WebP (RIFF....WEBP), AVIF (an
// ISO-BMFF `ftyp` box whose major or compatible brands include avif/avis, AV1 Image File Format 9.1),
// TIFF 6.0 (II*\0 / MM\0*) and BigTIFF (II+\0 / MM\0+), GIF (GIF87a / GIF89a).
export const IMAGE_FORMATS = ['jpeg', 'png', 'webp', 'avif', 'tiff', 'gif'] as const;
export type ImageFormat = (typeof IMAGE_FORMATS)[number];

export type Sniffed =
  | { readonly accepted: true; readonly format: ImageFormat }
  /** `name` is what the bytes look like (for the message); `known` false when we do not recognise them. */
  | { readonly accepted: false; readonly name: string; readonly known: boolean };

function startsWith(bytes: Uint8Array, prefix: readonly number[], at = 0): boolean {
  return prefix.every((v, i) => bytes[at + i] === v);
}

function ascii(bytes: Uint8Array, at: number, length: number): string {
  return String.fromCharCode(...bytes.subarray(at, at + length));
}

/** The brands of a leading ISO-BMFF `ftyp` box (major first), or undefined if there is none. */
function ftypBrands(bytes: Uint8Array): string[] | undefined {
  if (bytes.length < 16 || ascii(bytes, 4, 4) !== 'ftyp') return undefined;
  const size = Math.min(bytes.length, ((bytes[0]! << 24) | (bytes[1]! << 16) | (bytes[2]! << 8) | bytes[3]!) >>> 0);
  const brands = [ascii(bytes, 8, 4)];
  for (let at = 16; at + 4 <= size; at += 4) brands.push(ascii(bytes, at, 4));
  return brands;
}

/** XML (and so SVG) after an optional UTF-8/UTF-16 byte order mark and whitespace. */
function looksLikeXml(bytes: Uint8Array): boolean {
  if (startsWith(bytes, [0xfe, 0xff]) || startsWith(bytes, [0xff, 0xfe])) return bytes[2] === 0x3c || bytes[3] === 0x3c;
  let i = startsWith(bytes, [0xef, 0xbb, 0xbf]) ? 3 : 0;
  while (i < bytes.length && i < 4096 && [0x09, 0x0a, 0x0d, 0x20].includes(bytes[i]!)) i++;
  return bytes[i] === 0x3c; // '<'
}

const ACCEPTED: ReadonlyArray<{ format: ImageFormat; test: (b: Uint8Array) => boolean }> = [
  { format: 'jpeg', test: (b) => startsWith(b, [0xff, 0xd8, 0xff]) },
  { format: 'png', test: (b) => startsWith(b, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]) },
  { format: 'webp', test: (b) => ascii(b, 0, 4) === 'RIFF' && ascii(b, 8, 4) === 'WEBP' },
  { format: 'avif', test: (b) => (ftypBrands(b) ?? []).some((brand) => brand === 'avif' || brand === 'avis') },
  { format: 'tiff', test: (b) => startsWith(b, [0x49, 0x49]) && (b[2] === 0x2a || b[2] === 0x2b) && b[3] === 0 },
  { format: 'tiff', test: (b) => startsWith(b, [0x4d, 0x4d, 0]) && (b[3] === 0x2a || b[3] === 0x2b) },
  { format: 'gif', test: (b) => ascii(b, 0, 6) === 'GIF87a' || ascii(b, 0, 6) === 'GIF89a' },
];

// Formats (and containers) we recognise but refuse: the client learns what it sent.
const REFUSED: ReadonlyArray<{ name: string; test: (b: Uint8Array) => boolean }> = [
  { name: 'gzip (e.g. .svgz)', test: (b) => startsWith(b, [0x1f, 0x8b]) },
  { name: 'zlib/deflate', test: (b) => b[0] === 0x78 && [0x01, 0x5e, 0x9c, 0xda].includes(b[1] ?? -1) },
  { name: 'bzip2', test: (b) => ascii(b, 0, 3) === 'BZh' },
  { name: 'xz', test: (b) => startsWith(b, [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]) },
  { name: 'zstd', test: (b) => startsWith(b, [0x28, 0xb5, 0x2f, 0xfd]) },
  { name: 'zip', test: (b) => startsWith(b, [0x50, 0x4b, 0x03, 0x04]) },
  { name: 'svg (XML)', test: looksLikeXml },
  { name: 'pdf', test: (b) => ascii(b, 0, 5) === '%PDF-' },
  { name: 'postscript', test: (b) => ascii(b, 0, 2) === '%!' },
  { name: 'bmp', test: (b) => ascii(b, 0, 2) === 'BM' && [12, 40, 52, 56, 64, 108, 124].includes(b[14] ?? -1) && b[15] === 0 },
  { name: 'psd', test: (b) => ascii(b, 0, 4) === '8BPS' },
  { name: 'jpeg2000', test: (b) => startsWith(b, [0, 0, 0, 0x0c, 0x6a, 0x50, 0x20, 0x20]) || startsWith(b, [0xff, 0x4f, 0xff, 0x51]) },
  { name: 'jxl', test: (b) => startsWith(b, [0xff, 0x0a]) || startsWith(b, [0, 0, 0, 0x0c, 0x4a, 0x58, 0x4c, 0x20]) },
  { name: 'heif', test: (b) => ftypBrands(b) !== undefined },
  { name: 'ico', test: (b) => startsWith(b, [0, 0, 1, 0]) },
];

/** Decides the format from the leading bytes alone; never calls a decoder. */
export function sniffImage(bytes: Uint8Array): Sniffed {
  const accepted = ACCEPTED.find((s) => s.test(bytes));
  if (accepted !== undefined) return { accepted: true, format: accepted.format };
  const refused = REFUSED.find((s) => s.test(bytes));
  return refused !== undefined ? { accepted: false, name: refused.name, known: true } : { accepted: false, name: 'unknown', known: false };
}

/**
 * Pages (IFDs) in a TIFF, counted by walking the IFD chain, stopping at `limit + 1`: libtiff walks
 * every directory to report the page count, so an 80,000-page file cost 1.8 s before it was refused.
 * Returns 'corrupt' for a chain that loops or leaves the file (libvips then reports the damage).
 */
export function countTiffPages(bytes: Uint8Array, limit: number): number | 'corrupt' {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const little = bytes[0] === 0x49;
  const big = (little ? bytes[2] : bytes[3]) === 0x2b; // BigTIFF: 8-byte offsets, 20-byte entries
  const offsetAt = (at: number): number =>
    big ? Number(view.getBigUint64(at, little)) : view.getUint32(at, little);
  const seen = new Set<number>();
  let pages = 0;
  try {
    let ifd = offsetAt(big ? 8 : 4);
    while (ifd !== 0 && pages <= limit) {
      if (seen.has(ifd)) return 'corrupt';
      seen.add(ifd);
      const entries = big ? Number(view.getBigUint64(ifd, little)) : view.getUint16(ifd, little);
      pages += 1;
      ifd = offsetAt(ifd + (big ? 8 + entries * 20 : 2 + entries * 12));
    }
  } catch {
    return 'corrupt'; // RangeError: an offset past the end of the file
  }
  return pages;
}
