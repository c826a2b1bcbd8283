// Benchmark: data-parallel detection training. Steps per second of the embedded default detector's
// training (SHAPES_DETECTOR_CONFIG, 256 x 256 shapes, batch 4, ROI positive fraction 0.5) with 1 and with
// 2 workers (--workers: shard 0 on the main thread, the others on worker threads), on the wasm engine,
// data loading and augmentation included. Prints both rates, the speed-up and the cores the process used.
//
//   npx tsx bench/detection_training_parallel.ts [--steps N] [--workers 1,2] [--batch-size 4]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import '@tensorflow/tfjs-layers';
import { SHAPES_DETECTOR_CONFIG } from '../detection/faster_rcnn_config.js';
import { DetectionTrainingTask } from '../detection/training.js';
import { initEngine } from '../core/engine.js';
import { loadCocoSplit } from '../data/coco_dataset.js';
import { generateShapesDataset, shapesConfigForSize } from '../data/shapes.js';

interface Rate {
  readonly workers: number;
  readonly stepsPerSecond: number;
  readonly coresUsed: number;
}

export async function main(argv: string[] = process.argv.slice(2)): Promise<void> {
  const { values } = parseArgs({ args: argv, options: { steps: { type: 'string' }, workers: { type: 'string' }, 'batch-size': { type: 'string' } } });
  const steps = Number(values.steps ?? 30);
  const batchSize = Number(values['batch-size'] ?? 4);
  const counts = (values.workers ?? '1,2').split(',').map(Number);
  await initEngine({ backend: 'wasm' });
  const root = mkdtempSync(join(tmpdir(), 'nasnet-bench-parallel-'));
  try {
    const shapes = shapesConfigForSize(256, { minObjectSize: 24, maxObjectSize: 96 });
    await generateShapesDataset({ outDir: root, train: batchSize * (steps + 2), val: 0, seed: 0, config: shapes });
    const train = await loadCocoSplit(root, 'train');
    const rates: Rate[] = [];
    for (const workers of counts) {
      const task = new DetectionTrainingTask({
        model: { ...SHAPES_DETECTOR_CONFIG, roiSampler: { batchSizePerImage: 32, positiveFraction: 0.5 }, classNames: [], categoryIds: [] },
        train,
        checkpointDir: join(root, `ckpt-${workers}`),
        epochs: 1,
        batchSize,
        learningRate: 0.02,
        warmupSteps: 0,
        decayEpochs: [10],
        momentum: 0.9,
        weightDecay: 4e-5,
        clipGlobalNorm: 10,
        scaleRange: [0.75, 1],
        flipProbability: 0.5,
        seed: 0,
        workers,
      });
      try {
        await task.restore();
        let step = 0;
        let started = 0;
        let cpuStart = process.cpuUsage();
        for await (const batch of task.batches(0, 0)) {
          try {
            await task.trainStep(batch, step);
          } finally {
            batch.dispose();
          }
          step += 1;
          // The first two steps start the replicas and warm the kernels: not timed.
          if (step === 2) {
            started = performance.now();
            cpuStart = process.cpuUsage();
          }
          if (step === steps + 2) break;
        }
        const seconds = (performance.now() - started) / 1000;
        const cpu = process.cpuUsage(cpuStart);
        const rate = { workers, stepsPerSecond: steps / seconds, coresUsed: (cpu.user + cpu.system) / 1e6 / seconds };
        rates.push(rate);
        process.stdout.write(`workers ${workers}: ${rate.stepsPerSecond.toFixed(3)} steps/s (${(1000 / rate.stepsPerSecond).toFixed(0)} ms/step, batch ${batchSize}), ${rate.coresUsed.toFixed(2)} cores used\n`);
      } finally {
        task.dispose();
      }
    }
    const base = rates[0]!;
    for (const r of rates.slice(1)) process.stdout.write(`speed-up ${r.workers} vs ${base.workers} workers: ${(r.stepsPerSecond / base.stepsPerSecond).toFixed(2)}x\n`);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
