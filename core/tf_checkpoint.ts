// TensorFlow V2 checkpoints (TensorBundle, tensorflow/core/util/tensor_bundle/tensor_bundle.{h,cc}), read
// without TensorFlow:
//
//   <prefix>.index                    LevelDB-format table (leveldb_table.ts), keys sorted:
//                                       ""         -> BundleHeaderProto {num_shards, endianness, version}
//                                       tensor name -> BundleEntryProto {dtype, shape, shard_id, offset, size, crc32c}
//   <prefix>.data-00000-of-00001      the tensors' bytes, raw little-endian, at (offset, size) of their shard
//
// The protos (tensor_bundle.proto, tensor_shape.proto) are decoded with protobufjs from the small schema
// below (field numbers as in TensorFlow). Each tensor's bytes are checked against its masked crc32c.
// Partitioned (sliced) variables and big-endian bundles are refused with the tensor's name.
import { readFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import protobuf from 'protobufjs';
import { NasnetError } from './errors.js';
import { maskedCrc32c, readTable } from './leveldb_table.js';

const SCHEMA = protobuf.Root.fromJSON({
  nested: {
    VersionDef: { fields: { producer: { type: 'int32', id: 1 }, minConsumer: { type: 'int32', id: 2 } } },
    BundleHeaderProto: {
      fields: { numShards: { type: 'int32', id: 1 }, endianness: { type: 'int32', id: 2 }, version: { type: 'VersionDef', id: 3 } },
    },
    Dim: { fields: { size: { type: 'int64', id: 1 }, name: { type: 'string', id: 2 } } },
    TensorShapeProto: { fields: { dim: { rule: 'repeated', type: 'Dim', id: 2 }, unknownRank: { type: 'bool', id: 3 } } },
    TensorSliceProto: { fields: {} },
    BundleEntryProto: {
      fields: {
        dtype: { type: 'int32', id: 1 },
        shape: { type: 'TensorShapeProto', id: 2 },
        shardId: { type: 'int32', id: 3 },
        offset: { type: 'int64', id: 4 },
        size: { type: 'int64', id: 5 },
        crc32c: { type: 'fixed32', id: 6 },
        slices: { rule: 'repeated', type: 'TensorSliceProto', id: 7 },
      },
    },
  },
});
const HEADER = SCHEMA.lookupType('BundleHeaderProto');
const ENTRY = SCHEMA.lookupType('BundleEntryProto');

/** TensorFlow DataType enum values we read (types.proto), with their element sizes. */
const DTYPES: Readonly<Record<number, { name: TfDtype; bytes: number }>> = {
  1: { name: 'float32', bytes: 4 },
  2: { name: 'float64', bytes: 8 },
  3: { name: 'int32', bytes: 4 },
  9: { name: 'int64', bytes: 8 },
};
export type TfDtype = 'float32' | 'float64' | 'int32' | 'int64';

/** One tensor's entry in the index. */
export interface TfTensorEntry {
  readonly name: string;
  readonly dtype: TfDtype;
  readonly shape: readonly number[];
  readonly shard: number;
  readonly offset: number;
  readonly size: number;
  readonly crc32c: number;
}

export interface TfTensor {
  readonly dtype: TfDtype;
  readonly shape: readonly number[];
  /** float32 and float64 as Float32Array, int32 as Int32Array, int64 as BigInt64Array. */
  readonly values: Float32Array | Int32Array | BigInt64Array;
}

interface Decoded {
  numShards?: number;
  endianness?: number;
  dtype?: number;
  shape?: { dim?: { size?: unknown }[]; unknownRank?: boolean };
  shardId?: number;
  offset?: unknown;
  size?: unknown;
  crc32c?: number;
  slices?: unknown[];
}

const toNumber = (value: unknown): number => (value === undefined || value === null ? 0 : Number(value));

function invalid(file: string, message: string, tensor?: string): NasnetError {
  return new NasnetError('CHECKPOINT_INVALID', `${file}: ${message}`, tensor === undefined ? { file } : { file, tensor });
}

/** `prefix` may name the index file itself (`model.ckpt.index`) or the prefix (`model.ckpt`). */
export function checkpointPrefix(path: string): string {
  return path.endsWith('.index') ? path.slice(0, -'.index'.length) : path;
}

/** A V2 checkpoint opened for reading: the index parsed, shards read on demand. */
export class TfCheckpoint {
  private readonly shards = new Map<number, Uint8Array>();

  private constructor(
    readonly prefix: string,
    readonly numShards: number,
    readonly entries: ReadonlyMap<string, TfTensorEntry>,
  ) {}

  /** Reads and checks `<prefix>.index` (block checksums, header, every entry's fields). */
  static async open(path: string): Promise<TfCheckpoint> {
    const prefix = checkpointPrefix(path);
    const file = `${prefix}.index`;
    let bytes: Uint8Array;
    try {
      bytes = await readFile(file);
    } catch (error) {
      throw new NasnetError('IO_ERROR', `TfCheckpoint.open: cannot read ${file}: ${(error as Error).message}`, { file }, { cause: error });
    }
    const table = readTable(bytes, file);
    if (table.length === 0 || table[0]!.key !== '') throw invalid(file, 'the first entry is not the bundle header (empty key)');
    const header = HEADER.toObject(HEADER.decode(table[0]!.value), { longs: Number }) as Decoded;
    const numShards = header.numShards ?? 0;
    if (numShards < 1) throw invalid(file, `header num_shards is ${numShards}; expected >= 1`);
    if ((header.endianness ?? 0) !== 0) throw invalid(file, 'the bundle is big-endian; only little-endian bundles are supported');
    const entries = new Map<string, TfTensorEntry>();
    for (const { key, value } of table.slice(1)) {
      const e = ENTRY.toObject(ENTRY.decode(value), { longs: String }) as Decoded;
      if ((e.slices?.length ?? 0) > 0) throw invalid(file, `tensor ${key} is partitioned (slices); partitioned variables are not supported`, key);
      const dtype = DTYPES[e.dtype ?? 0];
      if (dtype === undefined) throw invalid(file, `tensor ${key} has TensorFlow dtype ${e.dtype}; expected one of float (1), double (2), int32 (3), int64 (9)`, key);
      const shape = (e.shape?.dim ?? []).map((d) => toNumber(d.size));
      const size = toNumber(e.size);
      const count = shape.reduce((a, b) => a * b, 1);
      if (count * dtype.bytes !== size) {
        throw invalid(file, `tensor ${key}: shape [${shape.join(', ')}] of ${dtype.name} needs ${count * dtype.bytes} bytes; the entry says ${size}`, key);
      }
      const shard = e.shardId ?? 0;
      if (shard >= numShards) throw invalid(file, `tensor ${key} is in shard ${shard}; the header has ${numShards} shards`, key);
      entries.set(key, { name: key, dtype: dtype.name, shape, shard, offset: toNumber(e.offset), size, crc32c: (e.crc32c ?? 0) >>> 0 });
    }
    return new TfCheckpoint(prefix, numShards, entries);
  }

  /** `<prefix>.data-0000k-of-0000n`. */
  shardFile(shard: number): string {
    const pad = (n: number): string => String(n).padStart(5, '0');
    return `${this.prefix}.data-${pad(shard)}-of-${pad(this.numShards)}`;
  }

  private async shardBytes(shard: number): Promise<Uint8Array> {
    let bytes = this.shards.get(shard);
    if (bytes === undefined) {
      const file = this.shardFile(shard);
      try {
        bytes = await readFile(file);
      } catch (error) {
        throw new NasnetError('IO_ERROR', `TfCheckpoint: cannot read data shard ${file}: ${(error as Error).message}`, { file }, { cause: error });
      }
      this.shards.set(shard, bytes);
    }
    return bytes;
  }

  /** The tensor `name`, its crc32c verified. */
  async read(name: string): Promise<TfTensor> {
    const entry = this.entries.get(name);
    if (entry === undefined) {
      throw new NasnetError('WEIGHTS_MISMATCH', `${this.prefix}.index: no tensor named ${name} (the checkpoint holds ${this.entries.size})`, { tensor: name });
    }
    const file = this.shardFile(entry.shard);
    const shard = await this.shardBytes(entry.shard);
    if (entry.offset + entry.size > shard.length) {
      throw invalid(file, `tensor ${name} at bytes [${entry.offset}, ${entry.offset + entry.size}) runs past the end of the shard (${shard.length} bytes); the file is truncated`, name);
    }
    const bytes = shard.subarray(entry.offset, entry.offset + entry.size);
    const crc = maskedCrc32c(bytes);
    if (crc !== entry.crc32c) {
      throw invalid(file, `crc32c mismatch for tensor ${name} (bytes [${entry.offset}, ${entry.offset + entry.size})): the index says 0x${entry.crc32c.toString(16)}, the data gives 0x${crc.toString(16)}; the file is corrupt`, name);
    }
    return { dtype: entry.dtype, shape: entry.shape, values: decodeValues(bytes, entry) };
  }

  /** Drops the cached shard bytes. */
  release(): void {
    this.shards.clear();
  }
}

function decodeValues(bytes: Uint8Array, entry: TfTensorEntry): Float32Array | Int32Array | BigInt64Array {
  const copy = new Uint8Array(bytes); // an aligned copy (Buffer#slice would share the shard's memory)
  const count = entry.size / (entry.dtype === 'float64' || entry.dtype === 'int64' ? 8 : 4);
  switch (entry.dtype) {
    case 'float32':
      return new Float32Array(copy.buffer, 0, count);
    case 'int32':
      return new Int32Array(copy.buffer, 0, count);
    case 'float64':
      return Float32Array.from(new Float64Array(copy.buffer, 0, count));
    case 'int64':
      return new BigInt64Array(copy.buffer, 0, count);
  }
}

/** Finds the checkpoint prefix in a directory: `checkpoint`'s model_checkpoint_path, else the one `*.index`. */
export async function findCheckpointPrefix(dir: string): Promise<string> {
  const { readdir } = await import('node:fs/promises');
  try {
    const text = await readFile(join(dir, 'checkpoint'), 'utf8');
    const match = /model_checkpoint_path:\s*"([^"]+)"/.exec(text);
    if (match !== null) return join(dir, basename(match[1]!));
  } catch {
    // no `checkpoint` file: look for the index
  }
  const indexes = (await readdir(dir)).filter((f) => f.endsWith('.index'));
  if (indexes.length !== 1) {
    throw new NasnetError('CHECKPOINT_INVALID', `${dir}: expected one TensorFlow checkpoint (*.index) or a \`checkpoint\` file; found ${indexes.length} index files`, { file: dir });
  }
  return join(dirname(join(dir, indexes[0]!)), indexes[0]!.slice(0, -'.index'.length));
}

/**
 * Reads every tensor of the checkpoint at `path` (prefix or `.index`), which checks the index's block
 * crc32c and each tensor's crc32c (what `nasnet weights verify` needs); returns the count and data bytes.
 */
export async function verifyTfCheckpoint(path: string): Promise<{ tensors: number; bytes: number }> {
  const ckpt = await TfCheckpoint.open(path);
  let bytes = 0;
  for (const entry of ckpt.entries.values()) {
    await ckpt.read(entry.name);
    bytes += entry.size;
  }
  ckpt.release();
  return { tensors: ckpt.entries.size, bytes };
}
