// The accuracy cost of the int8 engine (src/onnx/quantize.ts): the embedded default classifier on a
// labelled image folder (`nasnet data classes` val), float32 ('onnx') against int8 ('onnx-int8', calibrated
// with min/max on --calibrate), and the per-image latency of each (decode + resize + model + top-k, the
// two engines interleaved image by image). Prints accuracy, top-1 agreement and top-5 set agreement.
//
//   npm run build && node dist/bench/int8_accuracy.js [--val DIR/val --calibrate DIR/train] [--calibration-images 300]
//        [--weights CHECKPOINT] [--threads N]
// Without --val / --calibrate it generates `nasnet data classes --seed 2026` (30 train + 100 val per class).
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { loadClassifier } from '../src/api/classifier.js';
import { defaultClassifierPath } from '../src/api/defaults.js';
import { initEngine } from '../core/engine.js';
import { generateSyntheticClasses } from '../data/synthetic_classes.js';

const median = (xs: readonly number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;

export async function main(argv: string[] = process.argv.slice(2)): Promise<void> {
  const { values } = parseArgs({ args: argv, options: { val: { type: 'string' }, calibrate: { type: 'string' }, 'calibration-images': { type: 'string' }, weights: { type: 'string' }, threads: { type: 'string' } } });
  await initEngine({ backend: 'cpu' });
  let scratch: string | undefined;
  if (values.val === undefined || values.calibrate === undefined) {
    scratch = await mkdtemp(join(tmpdir(), 'int8-accuracy-'));
    await generateSyntheticClasses({ outDir: scratch, trainPerClass: 30, valPerClass: 100, seed: 2026, size: 32 });
    values.val ??= join(scratch, 'val');
    values.calibrate ??= join(scratch, 'train');
  }
  const weights = values.weights ?? defaultClassifierPath();
  const threads = values.threads === undefined ? undefined : Number(values.threads);
  const fp32 = await loadClassifier({ weights, engine: 'onnx', onnxCache: false, threads });
  const started = performance.now();
  const int8 = await loadClassifier({ weights, engine: 'onnx-int8', calibrate: values.calibrate, calibrationImages: Number(values['calibration-images'] ?? 300), threads });
  console.log(`load avg ${loadavg().map((v) => v.toFixed(1)).join(' ')}; int8 export + calibration ${(performance.now() - started).toFixed(0)} ms`);
  const classes = (await readdir(values.val, { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => e.name).sort();
  let n = 0;
  let right32 = 0;
  let right8 = 0;
  let agree1 = 0;
  let agree5 = 0;
  const ms = { fp32: [] as number[], int8: [] as number[] };
  for (const label of classes) {
    for (const file of (await readdir(join(values.val, label))).sort()) {
      const bytes = new Uint8Array(await readFile(join(values.val, label, file)));
      let t = performance.now();
      const a = (await fp32.classify(bytes, { topK: 5 })).predictions;
      ms.fp32.push(performance.now() - t);
      t = performance.now();
      const b = (await int8.classify(bytes, { topK: 5 })).predictions;
      ms.int8.push(performance.now() - t);
      n += 1;
      right32 += Number(a[0]!.label === label);
      right8 += Number(b[0]!.label === label);
      agree1 += Number(a[0]!.classId === b[0]!.classId);
      agree5 += Number(a.map((p) => p.classId).sort().join() === b.map((p) => p.classId).sort().join());
    }
  }
  console.log(`${n} images of ${classes.length} classes (${values.val})`);
  console.log(`accuracy fp32 ${(right32 / n).toFixed(4)}, int8 ${(right8 / n).toFixed(4)}; top-1 agreement ${(agree1 / n).toFixed(4)}; top-5 set agreement ${(agree5 / n).toFixed(4)}`);
  console.log(`per image (decode + resize + model + top-5), median: fp32 ${median(ms.fp32).toFixed(2)} ms, int8 ${median(ms.int8).toFixed(2)} ms (provisional, load avg ${loadavg()[0]!.toFixed(1)})`);
  fp32.dispose();
  int8.dispose();
  if (scratch !== undefined) await rm(scratch, { recursive: true, force: true });
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await main();
