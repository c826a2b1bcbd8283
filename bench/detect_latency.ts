// Benchmark: detection latency on one 640x480 JPEG (decode + letterbox + network + post-processing), for
//   - the embedded default detector (models/default/detector, 256 x 256 input),
//   - NASNet-A Mobile Faster R-CNN (4 @ 1056, 640 x 640 input, 300 proposals, random weights),
// each on onnxruntime-node (engine 'onnx') and TensorFlow.js wasm (engine 'tfjs'), and, when a Python
// with torch + torchvision is given, torchvision's fasterrcnn_mobilenet_v3_large_fpn and
// fasterrcnn_resnet50_fpn (weights=None) on the same 480x640 input in the same run. Prints medians
// and ratios.
//
//   npx tsx bench/detect_latency.ts [--runs N] [--python /path/to/python] [--skip-mobile]
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import { loadDetector } from '../src/api/detector.js';
import { defaultDetectorPath } from '../src/api/defaults.js';
import type { Detector } from '../src/api/types.js';
import { saveCheckpoint } from '../core/checkpoint.js';
import { initEngine } from '../core/engine.js';
import { encodeJpeg } from '../core/image_io.js';
import { packageRoot } from '../core/paths.js';
import { renderShapesImage, resolveShapesConfig } from '../data/shapes.js';
import { FasterRcnn } from '../detection/faster_rcnn.js';

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 === 1 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

async function time(detector: Detector, image: Uint8Array, runs: number): Promise<number[]> {
  await detector.detect(image); // warm-up: kernels, sessions
  const out: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    await detector.detect(image);
    out.push(performance.now() - start);
  }
  return out;
}

/** An untrained NASNet-A Mobile Faster R-CNN saved as a checkpoint, so that it loads through the same API. */
async function mobileCheckpoint(dir: string): Promise<void> {
  const model = new FasterRcnn({ backbone: { preset: 'mobile' }, imageSize: 640, numClasses: 80 });
  try {
    await saveCheckpoint(dir, { config: { model: model.config, task: 'detection' }, weights: new Map(model.variables().map((v) => [v.name, v.variable as tf.Tensor])) });
  } finally {
    model.dispose();
  }
}

export async function main(argv: string[] = process.argv.slice(2)): Promise<void> {
  const { values } = parseArgs({ args: argv, options: { runs: { type: 'string' }, python: { type: 'string' }, 'skip-mobile': { type: 'boolean' } } });
  const runs = Number(values.runs ?? 5);
  await initEngine({ backend: 'wasm' });
  const scene = renderShapesImage(11, resolveShapesConfig({ width: 640, height: 480, maxObjectSize: 200 }));
  const image = await encodeJpeg(scene.image, { quality: 90 });
  const rows: { name: string; ms: number }[] = [];
  const report = (name: string, times: number[]): void => {
    rows.push({ name, ms: median(times) });
    process.stdout.write(`${name.padEnd(52)} median ${median(times).toFixed(1)} ms  (runs ${times.map((t) => t.toFixed(0)).join(', ')})\n`);
  };

  const targets: { label: string; weights: string }[] = [{ label: 'default NASNet FRCNN (256)', weights: defaultDetectorPath() }];
  const scratch = await mkdtemp(join(tmpdir(), 'nasnet-bench-'));
  try {
    if (!values['skip-mobile']) {
      await mobileCheckpoint(join(scratch, 'mobile'));
      targets.push({ label: 'NASNet-A Mobile FRCNN (640, 300 proposals)', weights: join(scratch, 'mobile') });
    }
    for (const { label, weights } of targets) {
      for (const engine of ['onnx', 'tfjs'] as const) {
        const detector = await loadDetector({ weights, engine });
        try {
          report(`${label} ${engine === 'onnx' ? 'onnxruntime' : 'tfjs-wasm'}`, await time(detector, image, label.includes('Mobile') ? Math.min(runs, 3) : runs));
        } finally {
          detector.dispose();
        }
      }
    }
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }

  if (values.python !== undefined) {
    const script = join(packageRoot(), 'bench', 'torchvision_frcnn.py');
    const { stdout } = await promisify(execFile)(values.python, [script, '--runs', String(runs)], { maxBuffer: 1 << 20 });
    type TorchvisionRuns = { median_ms: number; runs_ms: number[]; without_shim_runs_ms?: number[] };
    const result = JSON.parse(stdout) as Record<string, TorchvisionRuns | string | number | boolean>;
    process.stdout.write(`torch ${String(result.torch)}, torchvision ${String(result.torchvision)}, ${String(result.threads)} threads, input 480x640 (min_size 480, max_size 640)\n`);
    if (result.ops_shim === true) {
      process.stdout.write('torchvision ops shimmed (bench/torchvision_ops_shim.py): "w/o NMS+ROI align" rows are lower bounds\n');
    }
    for (const name of ['fasterrcnn_mobilenet_v3_large_fpn', 'fasterrcnn_resnet50_fpn']) {
      const r = result[name] as TorchvisionRuns;
      report(`torchvision ${name}`, r.runs_ms);
      if (r.without_shim_runs_ms !== undefined) report(`torchvision ${name} w/o NMS+ROI align`, r.without_shim_runs_ms);
    }
  }
  const base = rows[0]!.ms;
  process.stdout.write('\nratios to the first row:\n');
  for (const row of rows) process.stdout.write(`${row.name.padEnd(52)} x${(row.ms / base).toFixed(2)}\n`);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await main();
