// npm run bench [-- NAME...]: runs the benchmark scripts of this folder one after another, each in its own
// process (an engine is chosen once a process, and one benchmark's heap must not skew the next), and
// stops at the first failure. Without names it runs every benchmark in BENCHMARKS order below.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Every benchmark with a rough duration on a 2-core machine (the slow ones last). */
const BENCHMARKS: readonly { name: string; about: string }[] = [
  { name: 'training_step', about: 'one training step, wasm vs cpu (~2 min)' },
  { name: 'nasnet_forward', about: 'NASNet-A Mobile inference: onnxruntime, wasm, cpu, Keras (~5 min)' },
  { name: 'int8_accuracy', about: 'int8 vs fp32: the default classifier on synthetic classes, accuracy and latency (~1 min)' },
  { name: 'int8_keras_fixture', about: 'int8 vs fp32 on NASNet-A Mobile 224: Keras fixture top-5 agreement, latency (~4 min)' },
  { name: 'keras_h5_io', about: 'Keras .h5 read/write (~1 min)' },
  { name: 'detection_ops', about: 'proposal filtering, NMS, ROI align, postprocess (~2 min)' },
  { name: 'data_generation', about: 'synthetic data generation and batching (~1 min)' },
  { name: 'detect_latency', about: 'detection latency at 640x480, ours and torchvision (~5 min)' },
  { name: 'detection_training_parallel', about: 'detection training steps/s with 1 and 2 workers (~3 min)' },
  { name: 'detector_onnx_stages', about: 'the default detector stage by stage, onnxruntime vs tfjs (~1 min)' },
  { name: 'serve_load', about: 'HTTP load test of the service (~5 min)' },
  { name: 'serve_soak', about: 'HTTP soak at c=16 on /detect with RSS every 30 s, then overload recovery (~11 min)' },
  { name: 'coco_eval_bench', about: 'coco-eval vs pycocotools on a val2017-sized case (~5 min)' },
  { name: 'classification_training', about: 'synthetic classification training to >= 95% (~30 min)' },
  { name: 'odapi_frcnn', about: 'the OD API NASNet-A Large Faster R-CNN at zoo widths, 1200x1200, 50 and 300 proposals (~15 min)' },
  { name: 'search_queue', about: 'search over BullMQ: queue overhead per trial, children/hour with 1, 2, 4 workers (~30 min)' },
  { name: 'search_digits', about: 'architecture search on digits: cell spread, ppo/random/evolution, children/hour (hours; --smoke ~10 min)' },
];

export function main(argv: string[] = process.argv.slice(2)): number {
  const here = dirname(fileURLToPath(import.meta.url));
  const extension = extname(fileURLToPath(import.meta.url));
  const unknown = argv.filter((name) => !BENCHMARKS.some((b) => b.name === name));
  if (unknown.length > 0 || argv.includes('--help')) {
    process.stderr.write(`usage: npm run bench [-- NAME...]\n${BENCHMARKS.map((b) => `  ${b.name.padEnd(24)} ${b.about}`).join('\n')}\n`);
    return unknown.length > 0 ? 2 : 0;
  }
  const selected = argv.length > 0 ? BENCHMARKS.filter((b) => argv.includes(b.name)) : BENCHMARKS;
  for (const { name } of selected) {
    const script = join(here, `${name}${extension}`);
    if (!existsSync(script)) throw new Error(`bench ${name}: ${script} is missing (run npm run build)`);
    process.stdout.write(`\n=== ${name} (${new Date().toISOString()})\n`);
    const run = spawnSync(process.execPath, [...process.execArgv, script], { stdio: 'inherit' });
    if (run.status !== 0) {
      process.stderr.write(`bench ${name} failed with ${run.status ?? run.signal}\n`);
      return 1;
    }
  }
  return 0;
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) process.exitCode = main();
