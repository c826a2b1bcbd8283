// A reader for LevelDB-format tables (SSTables), the container of a TensorFlow checkpoint's `.index`
// (tensorflow/core/lib/io/table*.cc, the LevelDB format: github.com/google/leveldb doc/table_format.md).
//
//   file   = data block* | metaindex block | index block | footer (48 bytes)
//   footer = metaindex handle, index handle (varint64 offset + varint64 size each), zero padding to
//            40 bytes, magic 0xdb4775248b80fb57 (little-endian, 8 bytes)
//   block  = entry* | restart offsets (uint32 each) | restart count (uint32); then a 5-byte trailer:
//            compression type (0 none, 1 snappy) + masked crc32c of block contents and type byte
//   entry  = varint32 shared key bytes, varint32 unshared key bytes, varint32 value length,
//            the unshared key bytes, the value (keys are prefix-compressed against the previous key)
//   index block: one entry per data block, value = that block's handle
//
// Every block's crc32c is checked; a snappy-compressed block is refused (TensorFlow writes checkpoint
// indexes uncompressed: tensor_bundle.cc sets `compression = kNoCompression`).
import { crc32c } from '@aws-crypto/crc32c';
import { NasnetError } from './errors.js';

const FOOTER_BYTES = 48;
const TRAILER_BYTES = 5;
const MAGIC_LO = 0x8b80fb57;
const MAGIC_HI = 0xdb477524;
const CRC_MASK_DELTA = 0xa282ead8;

/** LevelDB's masked crc32c (crc rotated right by 15 bits plus a constant), as stored in tables and bundles. */
export function maskCrc32c(crc: number): number {
  return ((((crc >>> 15) | (crc << 17)) >>> 0) + CRC_MASK_DELTA) >>> 0;
}

/** crc32c of `bytes`, masked. */
export function maskedCrc32c(bytes: Uint8Array): number {
  return maskCrc32c(crc32c(bytes));
}

export interface TableEntry {
  readonly key: string;
  readonly value: Uint8Array;
}

interface BlockHandle {
  readonly offset: number;
  readonly size: number;
}

function corrupt(file: string, message: string): NasnetError {
  return new NasnetError('CHECKPOINT_INVALID', `${file}: ${message}`, { file });
}

/** A cursor over a byte range that reads LevelDB varints. */
class Reader {
  constructor(
    private readonly bytes: Uint8Array,
    public pos: number,
    private readonly end: number,
    private readonly file: string,
  ) {}

  varint(what: string): number {
    let result = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw corrupt(this.file, `truncated varint (${what}) at byte ${this.pos}`);
      const byte = this.bytes[this.pos++]!;
      result += (byte & 0x7f) * scale;
      if (byte < 0x80) return result;
      scale *= 128;
    }
    throw corrupt(this.file, `varint (${what}) longer than 10 bytes at byte ${this.pos}`);
  }

  handle(what: string): BlockHandle {
    return { offset: this.varint(`${what} offset`), size: this.varint(`${what} size`) };
  }
}

/** The contents of the block at `handle`, its trailer checked. */
function readBlock(bytes: Uint8Array, handle: BlockHandle, file: string, what: string): Uint8Array {
  const end = handle.offset + handle.size;
  if (end + TRAILER_BYTES > bytes.length) {
    throw corrupt(file, `${what} block [${handle.offset}, ${end}) plus its 5-byte trailer runs past the end of the file (${bytes.length} bytes)`);
  }
  const type = bytes[end]!;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const stored = view.getUint32(end + 1, true);
  const actual = maskedCrc32c(bytes.subarray(handle.offset, end + 1));
  if (stored !== actual) {
    throw corrupt(file, `crc32c mismatch in the ${what} block at byte ${handle.offset} (${handle.size} bytes): stored 0x${stored.toString(16)}, computed 0x${actual.toString(16)}; the file is corrupt`);
  }
  if (type === 1) throw corrupt(file, `the ${what} block at byte ${handle.offset} is snappy-compressed; only uncompressed tables are supported (TensorFlow writes checkpoint indexes uncompressed)`);
  if (type !== 0) throw corrupt(file, `the ${what} block at byte ${handle.offset} has compression type ${type}; expected 0 (none)`);
  return bytes.subarray(handle.offset, end);
}

/** The entries of one block, keys expanded, in stored order. */
function blockEntries(block: Uint8Array, file: string, what: string): TableEntry[] {
  if (block.length < 4) throw corrupt(file, `${what} block of ${block.length} bytes is shorter than its restart count`);
  const view = new DataView(block.buffer, block.byteOffset, block.byteLength);
  const restarts = view.getUint32(block.length - 4, true);
  const limit = block.length - 4 - 4 * restarts;
  if (limit < 0) throw corrupt(file, `${what} block claims ${restarts} restart points, more than its ${block.length} bytes hold`);
  const entries: TableEntry[] = [];
  const decoder = new TextDecoder();
  const reader = new Reader(block, 0, limit, file);
  let key = new Uint8Array(0);
  while (reader.pos < limit) {
    const shared = reader.varint('shared key length');
    const unshared = reader.varint('unshared key length');
    const valueLength = reader.varint('value length');
    if (shared > key.length || reader.pos + unshared + valueLength > limit) {
      throw corrupt(file, `${what} block entry at byte ${reader.pos} overruns the block (shared ${shared}, unshared ${unshared}, value ${valueLength})`);
    }
    const next = new Uint8Array(shared + unshared);
    next.set(key.subarray(0, shared));
    next.set(block.subarray(reader.pos, reader.pos + unshared), shared);
    reader.pos += unshared;
    key = next;
    entries.push({ key: decoder.decode(key), value: block.subarray(reader.pos, reader.pos + valueLength) });
    reader.pos += valueLength;
  }
  return entries;
}

/** Every entry of the table in `bytes` (the contents of `file`), in key order. Block checksums are verified. */
export function readTable(bytes: Uint8Array, file: string): TableEntry[] {
  if (bytes.length < FOOTER_BYTES) throw corrupt(file, `${bytes.length} bytes is shorter than a table footer (48 bytes)`);
  const footerAt = bytes.length - FOOTER_BYTES;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.getUint32(bytes.length - 8, true) !== MAGIC_LO || view.getUint32(bytes.length - 4, true) !== MAGIC_HI) {
    throw corrupt(file, 'no LevelDB table magic number (0xdb4775248b80fb57) in the last 8 bytes; not a TensorFlow checkpoint index');
  }
  const footer = new Reader(bytes, footerAt, bytes.length - 8, file);
  footer.handle('metaindex');
  const indexHandle = footer.handle('index');
  const index = blockEntries(readBlock(bytes, indexHandle, file, 'index'), file, 'index');
  const entries: TableEntry[] = [];
  for (const { key, value } of index) {
    const handle = new Reader(value, 0, value.length, file).handle(`data block handle for "${key}"`);
    entries.push(...blockEntries(readBlock(bytes, handle, file, 'data'), file, 'data'));
  }
  return entries;
}
