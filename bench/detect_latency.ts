// Benchmark: detection latency on one 640x480 JPEG, end to end, ours and torchvision's interleaved run by run.
//   ours: loadDetector(...).detect(jpegBytes) = decode + letterbox resize + x/127.5-1 + network (onnxruntime:
//     stage-1 cells, RPN head, proposal selection; ROI align, stage-2 cells, predictor) + post-processing
//     (score threshold, per-class NMS, boxes to COCO pixels). The JPEG is already in memory.
//   torchvision (bench/torchvision_frcnn.py, a Python worker fed over stdin, real C++ ops): read + decode the
//     same JPEG + model (its normalise/resize transform, backbone, RPN, ROI heads, post-processing) at the
//     image's native 480x640 (min_size 480, max_size 640), random weights.
// Rows: the embedded default detector (256 input), and NASNet-A Mobile Faster R-CNN (random weights) at the
// checkpoint's 300 test proposals and with fewer (the OD API's lowproposals setting: 50) and a smaller input.
// Every runner runs once per round (50 ms apart), rounds repeated --runs times, after one warm-up each; medians of wall
// and process CPU time (all threads: ours includes sharp's decode threads). The load average is printed
// before and after: on a shared machine the CPU-time ratio is the steadier one.
//
//   npm run build && node dist/bench/detect_latency.js [--runs N] [--python /usr/bin/python3] [--threads N]
//        [--variants 640:300,640:50,640:50:1,480:50] [--tfjs]   (input size : proposals [: ROI align sampling ratio])
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
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
import { median, timed, type Timing } from './timing.js';

const load = (): string => loadavg().map((v) => v.toFixed(1)).join(' ');

/** An untrained NASNet-A Mobile Faster R-CNN saved as a checkpoint, so that it loads through the same API. */
async function mobileCheckpoint(dir: string, imageSize: number): Promise<void> {
  const model = new FasterRcnn({ backbone: { preset: 'mobile' }, imageSize, numClasses: 80 });
  try {
    await saveCheckpoint(dir, { config: { model: model.config, task: 'detection' }, weights: new Map(model.variables().map((v) => [v.name, v.variable as tf.Tensor])) });
  } finally {
    model.dispose();
  }
}

/** torchvision_frcnn.py as a worker: one timed detection per request. */
async function torchvisionWorker(python: string, threads: number, jpeg: string) {
  // OpenMP threads that spin-wait (GOMP's default) burn the cores ours needs and, on a loaded machine, get
  // descheduled mid-op: measured under load 16 they made torch 3x slower in wall and CPU time. Our sessions
  // do not spin either (src/onnx/session.ts), so PASSIVE is the like-for-like setting; the caller's
  // OMP_WAIT_POLICY wins.
  const env = { ...process.env, OMP_WAIT_POLICY: process.env.OMP_WAIT_POLICY ?? 'PASSIVE' };
  const child = spawn(python, [join(packageRoot(), 'bench', 'torchvision_frcnn.py'), String(threads)], { env });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-2000)));
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const first = await lines.next();
  if (first.done === true) throw new Error(`torchvision worker failed: ${stderr.trim().split('\n').slice(-3).join(' | ')}`);
  const header = JSON.parse(first.value) as { torch: string; torchvision: string; threads: number; blas: string; models: string[] };
  return {
    header,
    async pass(model: string): Promise<Timing> {
      child.stdin.write(`${model} ${jpeg}\n`);
      const line = await lines.next();
      if (line.done === true) throw new Error(`torchvision worker exited: ${stderr}`);
      return JSON.parse(line.value) as Timing;
    },
    stop: () => child.stdin.end(),
  };
}

export async function main(argv: string[] = process.argv.slice(2)): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: { runs: { type: 'string' }, python: { type: 'string' }, threads: { type: 'string' }, variants: { type: 'string' }, tfjs: { type: 'boolean' } },
  });
  const runs = Number(values.runs ?? 5);
  const threads = Number(values.threads ?? 2);
  const variants = (values.variants ?? '640:300,640:50:1,640:20:1,480:50:1,480:20:1').split(',').map((v) => v.split(':').map(Number) as [number, number, number?]);
  await initEngine({ backend: 'wasm' });
  const scratch = await mkdtemp(join(tmpdir(), 'nasnet-bench-'));
  const scene = renderShapesImage(11, resolveShapesConfig({ width: 640, height: 480, maxObjectSize: 200 }));
  const image = await encodeJpeg(scene.image, { quality: 90 });
  const jpeg = join(scratch, 'scene.jpg');
  await writeFile(jpeg, image);
  console.log(`one 640x480 JPEG (${image.length} bytes), ${runs} interleaved rounds after one warm-up; load average at start ${load()}`);

  const runners = new Map<string, () => Promise<Timing>>();
  const detectors: Detector[] = [];
  try {
    const add = async (name: string, weights: string, options: { proposals?: number; roiSamplingRatio?: number; engine?: 'onnx' | 'tfjs' } = {}): Promise<void> => {
      const detector = await loadDetector({ weights, engine: options.engine ?? 'onnx', threads, onnxCache: false, ...options });
      detectors.push(detector);
      runners.set(name, () => timed(() => detector.detect(image)));
    };
    await add('ours: embedded default detector (256 input, 100 proposals), onnxruntime', defaultDetectorPath());
    if (values.tfjs) await add('ours: embedded default detector, tfjs-wasm', defaultDetectorPath(), { engine: 'tfjs' });
    for (const size of [...new Set(variants.map(([s]) => s))]) await mobileCheckpoint(join(scratch, `mobile${size}`), size);
    for (const [size, proposals, roiSamplingRatio] of variants) {
      const sampling = roiSamplingRatio === undefined ? '' : `, ROI sampling ${roiSamplingRatio}`;
      await add(`ours: NASNet-A Mobile FRCNN (${size} input, ${proposals} proposals${sampling}), onnxruntime`, join(scratch, `mobile${size}`), { proposals, roiSamplingRatio });
    }
    const torch = values.python === undefined ? undefined : await torchvisionWorker(values.python, threads, jpeg);
    if (torch !== undefined) {
      const { header } = torch;
      console.log(`torch ${header.torch}, torchvision ${header.torchvision} (compiled ops), ${header.threads} threads, OMP_WAIT_POLICY ${process.env.OMP_WAIT_POLICY ?? 'PASSIVE'}, BLAS ${header.blas}`);
      for (const model of header.models) runners.set(`torchvision ${model} (native 480x640)`, () => torch.pass(model));
    }
    const times = new Map([...runners.keys()].map((name) => [name, [] as Timing[]]));
    for (const run of runners.values()) await run();
    // 50 ms before each pass: onnxruntime's pool threads spin for a moment after a run (its default, and
    // ours) and must not take the cores of the torch pass that follows.
    const pause = (): Promise<void> => new Promise((done) => setTimeout(done, 50));
    for (let r = 0; r < runs; r++) {
      for (const [name, run] of runners) {
        await pause();
        times.get(name)!.push(await run());
      }
    }
    torch?.stop();

    const peer = times.get('torchvision fasterrcnn_mobilenet_v3_large_fpn (native 480x640)');
    const peerWall = peer === undefined ? undefined : median(peer.map((t) => t.wall));
    const peerCpu = peer === undefined ? undefined : median(peer.map((t) => t.cpu));
    console.log(`load average at end ${load()}  (all numbers provisional under load)`);
    console.log('runner | wall ms median (min) | CPU ms median | wall / mv3 | CPU / mv3');
    for (const [name, list] of times) {
      const wall = median(list.map((t) => t.wall));
      const cpu = median(list.map((t) => t.cpu));
      const ratio = (a: number, b: number | undefined): string => (b === undefined ? '-' : (a / b).toFixed(2));
      console.log(`${name} | ${wall.toFixed(0)} (${Math.min(...list.map((t) => t.wall)).toFixed(0)}) | ${cpu.toFixed(0)} | ${ratio(wall, peerWall)} | ${ratio(cpu, peerCpu)}`);
    }
  } finally {
    for (const detector of detectors) detector.dispose();
    await rm(scratch, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await main();
