// int8 on NASNet-A Mobile 224 (the seed-1 Keras fixture weights, test/fixtures/keras-nasnet): top-5 agreement
// with float32 and with Keras' own top-5 on the fixture inputs (the two preprocessed arrays of
// inputs_224.bin and the Grace Hopper photo of the classifier test), and the model-only latency of both
// graphs interleaved at batch 1 and 8 (session.run on a ready array; load average printed).
//
//   npm run build && node dist/bench/int8_keras_fixture.js --calibrate DIR [--calibration-images 300] [--runs 10]
// DIR: any images (e.g. `nasnet data classes --out C --size 224 --train-per-class 30 --val-per-class 0`, C/train).
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { exportClassifier, topK } from '../src/api/classifier.js';
import { OnnxSession } from '../src/onnx/session.js';
import { initEngine } from '../core/engine.js';
import { fitRgb } from '../core/image_io.js';
import { packageRoot } from '../core/paths.js';
import { fixtureH5 } from './nasnet_forward.js';

const median = (xs: readonly number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
const load = (): string => loadavg().map((v) => v.toFixed(1)).join(' ');

export async function main(argv: string[] = process.argv.slice(2)): Promise<void> {
  const { values } = parseArgs({ args: argv, options: { calibrate: { type: 'string' }, 'calibration-images': { type: 'string' }, runs: { type: 'string' } } });
  if (values.calibrate === undefined) throw new Error('int8_keras_fixture: --calibrate DIR is required');
  await initEngine({ backend: 'cpu' });
  const dir = mkdtempSync(join(tmpdir(), 'int8-fixture-'));
  try {
    const weights = await fixtureH5(dir);
    const started = performance.now();
    const fp32 = await OnnxSession.create((await exportClassifier({ weights, backbone: 'mobile' })).onnx);
    const int8Bytes = (await exportClassifier({ weights, backbone: 'mobile', quantize: 'int8', calibrate: values.calibrate, calibrationImages: Number(values['calibration-images'] ?? 300) })).onnx;
    const int8 = await OnnxSession.create(int8Bytes);
    console.log(`exports (fp32 + int8 with calibration) ${(performance.now() - started).toFixed(0)} ms; int8 graph ${(int8Bytes.length / 1e6).toFixed(1)} MB`);
    const fixture = (...parts: string[]): string => join(packageRoot(), 'test', 'fixtures', ...parts);
    const raw = readFileSync(fixture('keras-nasnet', 'inputs_224.bin'));
    const arrays = new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
    const photo = await fitRgb(new Uint8Array(readFileSync(fixture('image_io', 'photo_grace_hopper.jpg'))), { width: 224, height: 224, kernel: 'pil-nearest' });
    const inputs: [string, Float32Array][] = [
      ['smooth pattern', arrays.subarray(0, 224 * 224 * 3)],
      ['uniform random', arrays.subarray(224 * 224 * 3)],
      ['Grace Hopper photo', Float32Array.from(photo.image.data, (v) => v / 127.5 - 1)],
    ];
    const kerasTop5 = (JSON.parse(readFileSync(fixture('classifier', 'photo_mobile_seed1.json'), 'utf8')) as { top5: { indices: number[] } }).top5.indices;
    const run = async (session: OnnxSession, x: Float32Array, n = 1) => (await session.run({ image: { data: x, dims: [n, 224, 224, 3] } })).probs!.data;
    for (const [name, x] of inputs) {
      const a = topK(await run(fp32, x), 5).map((p) => p.classId);
      const b = topK(await run(int8, x), 5).map((p) => p.classId);
      const shared = a.filter((c) => b.includes(c)).length;
      const keras = name === 'Grace Hopper photo' ? `; Keras top-5 ${kerasTop5.join(',')}` : '';
      console.log(`${name}: fp32 top-5 ${a.join(',')}; int8 top-5 ${b.join(',')}; ${shared}/5 shared, top-1 ${a[0] === b[0] ? 'same' : 'differs'}${keras}`);
    }
    const runs = Number(values.runs ?? 10);
    console.log(`model-only latency, ${runs} interleaved rounds; load average at start ${load()}`);
    for (const batch of [1, 8]) {
      const x = new Float32Array(batch * 224 * 224 * 3).map((_, i) => Math.sin(i) * 0.9);
      const times = { fp32: [] as number[], int8: [] as number[] };
      for (let r = -1; r < runs; r++) {
        for (const [name, session] of [['fp32', fp32], ['int8', int8]] as const) {
          const t = performance.now();
          await run(session, x, batch);
          if (r >= 0) times[name].push(performance.now() - t);
        }
      }
      console.log(`batch ${batch}: fp32 ${median(times.fp32).toFixed(1)} ms, int8 ${median(times.int8).toFixed(1)} ms, int8 / fp32 ${(median(times.int8) / median(times.fp32)).toFixed(2)}`);
    }
    console.log(`load average at end ${load()} (provisional)`);
    await fp32.dispose();
    await int8.dispose();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await main();
