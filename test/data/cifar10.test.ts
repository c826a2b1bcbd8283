import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { NasnetError } from '../../core/errors.js';
import { CIFAR10_RECORD_BYTES, cifar10Image, loadCifar10, parseCifar10Batch } from '../../data/cifar10.js';
import { openClassificationData } from '../../data/classification_source.js';
import { tempDir } from './temp.js';

const CLASSES = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'];

/** One record: label, then planes R, G, B with R = (p + seed) % 256, G = (3p + seed) % 256, B = seed. */
function record(label: number, seed: number): Uint8Array {
  const bytes = new Uint8Array(CIFAR10_RECORD_BYTES);
  bytes[0] = label;
  for (let p = 0; p < 1024; p++) {
    bytes[1 + p] = (p + seed) % 256;
    bytes[1 + 1024 + p] = (3 * p + seed) % 256;
    bytes[1 + 2048 + p] = seed;
  }
  return bytes;
}

function writeCifar(dir: string): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'batches.meta.txt'), `${CLASSES.join('\n')}\n\n`);
  for (let b = 1; b <= 5; b++) writeFileSync(join(dir, `data_batch_${b}.bin`), Buffer.concat([record(b, 10 * b), record(9 - b, 10 * b + 1)]));
  writeFileSync(join(dir, 'test_batch.bin'), Buffer.concat([record(0, 200), record(7, 201), record(3, 202)]));
}

describe('CIFAR-10 binary reader', () => {
  test('reads back what was written: labels in file order, planes interleaved to HWC', async () => {
    const root = tempDir('cifar');
    writeCifar(join(root, 'cifar-10-batches-bin'));
    const train = await loadCifar10(root, 'train');
    assert.deepEqual(train.classes, CLASSES);
    assert.equal(train.count, 10);
    assert.deepEqual([...train.labels], [1, 8, 2, 7, 3, 6, 4, 5, 5, 4]);
    const image = cifar10Image(train, 3); // data_batch_2.bin, second record: seed 21
    assert.equal(image.width, 32);
    // Pixel (x=5, y=2) is plane index p = 69.
    const o = (2 * 32 + 5) * 3;
    assert.deepEqual([...image.data.subarray(o, o + 3)], [(69 + 21) % 256, (3 * 69 + 21) % 256, 21]);
    const test = await loadCifar10(join(root, 'cifar-10-batches-bin'), 'test');
    assert.deepEqual([...test.labels], [0, 7, 3]);
    assert.equal(cifar10Image(test, 2).data[2], 202);
  });

  test('bad sizes, labels and missing files are reported with the file and record', async () => {
    assert.throws(() => parseCifar10Batch(new Uint8Array(3073 * 2 - 1), 'x.bin', 10),
      (e: unknown) => e instanceof NasnetError && e.code === 'INVALID_DATA' && e.message.includes('x.bin') && e.message.includes('6145 bytes'));
    const bytes = Buffer.concat([record(1, 0), record(12, 0)]);
    assert.throws(() => parseCifar10Batch(bytes, 'y.bin', 10),
      (e: unknown) => e instanceof NasnetError && e.message.includes('record 1') && e.message.includes('label 12'));
    const root = tempDir('cifar-bad');
    writeCifar(root);
    writeFileSync(join(root, 'data_batch_3.bin'), new Uint8Array(0));
    await assert.rejects(loadCifar10(root, 'train'), (e: unknown) => e instanceof NasnetError && e.message.includes('data_batch_3.bin'));
    await assert.rejects(loadCifar10(join(root, 'none'), 'test'), (e: unknown) => e instanceof NasnetError && e.code === 'IO_ERROR');
  });

  test('openClassificationData recognises CIFAR-10 and maps val to the test batch', async () => {
    const root = tempDir('cifar-open');
    writeCifar(root);
    const val = await openClassificationData(root, 'val', CLASSES);
    assert.equal(val.count, 3);
    assert.equal(val.label(1), 7);
    const upscaled = await val.load(0, 64);
    assert.equal(upscaled.data.length, 64 * 64 * 3);
    assert.equal(upscaled.data[2], 200, 'a constant blue plane stays constant through the bilinear resize');
    await assert.rejects(openClassificationData(root, 'train', ['a', 'b']), (e: unknown) => e instanceof NasnetError && e.code === 'INVALID_DATA');
  });
});
