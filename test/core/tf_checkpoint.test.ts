// TensorFlow V2 checkpoint reading, on the OD API replica's checkpoint (written by tf.train.Saver; the
// fixture's variables.tsv lists every variable's name and shape as TensorFlow reported them), and on
// temp copies with one byte changed.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { packageRoot } from '../../core/paths.js';
import { NasnetError } from '../../core/errors.js';
import { maskCrc32c, maskedCrc32c, readTable } from '../../core/leveldb_table.js';
import { TfCheckpoint, findCheckpointPrefix, verifyTfCheckpoint } from '../../core/tf_checkpoint.js';

const DIR = join(packageRoot(), 'test', 'fixtures', 'odapi-frcnn-nas');
const PREFIX = join(DIR, 'model.ckpt');

async function variablesTsv(): Promise<Map<string, number[]>> {
  const text = await readFile(join(DIR, 'variables.tsv'), 'utf8');
  return new Map(
    text.trim().split('\n').map((line) => {
      const [name, shape] = line.split('\t') as [string, string];
      return [name, JSON.parse(shape) as number[]];
    }),
  );
}

describe('masked crc32c', () => {
  test('crc32c("123456789") is 0xe3069283 and the mask is rotate-right-15 plus 0xa282ead8', () => {
    const crc = 0xe3069283;
    assert.equal(maskedCrc32c(new TextEncoder().encode('123456789')), maskCrc32c(crc));
    assert.equal(maskCrc32c(0), 0xa282ead8);
    assert.equal(maskCrc32c(0x8000), (1 + 0xa282ead8) >>> 0); // bit 15 rotates to bit 0
  });
});

describe('TfCheckpoint on the replica', () => {
  let tmp: string;
  before(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'tf-ckpt-'));
  });
  after(async () => rm(tmp, { recursive: true, force: true }));

  test('every variable of variables.tsv is there with its shape, and reads with a matching crc', async () => {
    const expected = await variablesTsv();
    const ckpt = await TfCheckpoint.open(PREFIX);
    assert.equal(ckpt.entries.size, 1555);
    assert.deepEqual([...ckpt.entries.keys()].sort(), [...expected.keys()].sort());
    for (const [name, shape] of expected) {
      const tensor = await ckpt.read(name);
      assert.deepEqual(tensor.shape, shape, name);
      assert.equal(tensor.values.length, shape.reduce((a, b) => a * b, 1), name);
    }
    assert.equal((await ckpt.read('global_step')).dtype, 'int64');
    const conv = await ckpt.read('Conv/weights');
    assert.equal(conv.dtype, 'float32');
    assert.ok(conv.values.every(Number.isFinite));
    // Each tensor's own bytes (a view at the wrong offset would read the shard's first tensor again).
    const bn = 'FirstStageFeatureExtractor/conv0_bn';
    const [gamma, beta] = [await ckpt.read(`${bn}/gamma`), await ckpt.read(`${bn}/beta`)];
    assert.notDeepEqual(Array.from(gamma.values as Float32Array), Array.from(beta.values as Float32Array));
    assert.equal((await ckpt.read('Conv/biases')).values.length, 16);
  });

  test('the prefix is found from a directory (the `checkpoint` file) and from the .index path', async () => {
    assert.equal(await findCheckpointPrefix(DIR), PREFIX);
    assert.equal((await TfCheckpoint.open(`${PREFIX}.index`)).prefix, PREFIX);
  });

  test('a changed byte in the data shard is a crc32c error naming the file and the tensor', async () => {
    const ckpt = await TfCheckpoint.open(PREFIX);
    const entry = ckpt.entries.get('SecondStageBoxPredictor/ClassPredictor/weights')!;
    const prefix = join(tmp, 'data_corrupt');
    await copyFile(`${PREFIX}.index`, `${prefix}.index`);
    const data = await readFile(`${PREFIX}.data-00000-of-00001`);
    data[entry.offset + 17]! ^= 0x01;
    await writeFile(`${prefix}.data-00000-of-00001`, data);
    assert.deepEqual(await verifyTfCheckpoint(PREFIX), { tensors: 1555, bytes: 1570972 });
    await assert.rejects(verifyTfCheckpoint(prefix), /crc32c mismatch for tensor SecondStageBoxPredictor\/ClassPredictor\/weights/);
    const corrupt = await TfCheckpoint.open(prefix);
    await corrupt.read('Conv/weights'); // other tensors still read
    await assert.rejects(corrupt.read(entry.name), (error: unknown) => {
      assert.ok(error instanceof NasnetError);
      assert.equal(error.code, 'CHECKPOINT_INVALID');
      assert.match(error.message, /data_corrupt\.data-00000-of-00001: crc32c mismatch for tensor SecondStageBoxPredictor\/ClassPredictor\/weights/);
      return true;
    });
  });

  test('a changed byte in the index is a block crc32c error naming the file', async () => {
    const index = await readFile(`${PREFIX}.index`);
    index[100]! ^= 0x40;
    const prefix = join(tmp, 'index_corrupt');
    await writeFile(`${prefix}.index`, index);
    await assert.rejects(TfCheckpoint.open(prefix), /index_corrupt\.index: crc32c mismatch in the data block at byte 0/);
  });

  test('a snappy block (type byte 1, crc fixed up) is refused by name; a truncated index has no magic', async () => {
    const index = new Uint8Array(await readFile(`${PREFIX}.index`));
    const table = readTable(index, 'x');
    assert.equal(table[0]!.key, '');
    // The first data block starts at 0; find its end from the index block's first handle.
    const firstValueEnd = (): number => {
      for (let size = 1; size < index.length; size++) {
        const type = index[size]!;
        const stored = new DataView(index.buffer).getUint32(size + 1, true);
        if (type === 0 && stored === maskedCrc32c(index.subarray(0, size + 1))) return size;
      }
      throw new Error('no block end');
    };
    const end = firstValueEnd();
    index[end] = 1;
    new DataView(index.buffer).setUint32(end + 1, maskedCrc32c(index.subarray(0, end + 1)), true);
    const prefix = join(tmp, 'snappy');
    await writeFile(`${prefix}.index`, index);
    await assert.rejects(TfCheckpoint.open(prefix), /snappy\.index: the data block at byte 0 is snappy-compressed/);
    await writeFile(`${prefix}.index`, index.subarray(0, index.length - 3));
    await assert.rejects(TfCheckpoint.open(prefix), /no LevelDB table magic number/);
  });

  test('an unknown tensor name is a WEIGHTS_MISMATCH naming it', async () => {
    const ckpt = await TfCheckpoint.open(PREFIX);
    await assert.rejects(ckpt.read('nope/weights'), (e: unknown) => e instanceof NasnetError && e.code === 'WEIGHTS_MISMATCH' && /nope\/weights/.test(e.message));
  });
});
