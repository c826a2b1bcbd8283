// Benchmark: NASNet classification training on the synthetic classification set (`nasnet data classes`)
// until the validation accuracy reaches the target (default 95 %). Prints the accuracy after every epoch,
// the wall time (data generation, training) and the mean training step time; with --cpu-steps N also
// the step time of the same network on the cpu engine.
//
//   npx tsx bench/classification_training.ts [--dir DIR] [--train-per-class 1000] [--val-per-class 100]
//     [--epochs 5] [--batch-size 32] [--lr 0.05] [--stem imagenet] [--num-cells 1]
//     [--penultimate-filters 384] [--stem-filters 32] [--drop-path-keep 0.6] [--aux-head] [--seed 0]
//     [--target 0.95] [--cpu-steps 0]
//
// The default network is NASNet-A 1@384 with the ImageNet stem on 32x32 inputs (cells at 8x8, 4x4, 2x2):
// on 2 shared cores the wasm engine trains it at about 1 step/s (batch 32), where the CIFAR-stem 1@192
// (cells at 32x32) takes about 10 s a step. The ImageNet stem leaves a 2x2 map for the aux head, which
// needs 5x5, so it is off unless --aux-head (with the CIFAR stem).
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { getThreadsCount } from '@tensorflow/tfjs-backend-wasm';
import { ClassificationTrainingTask } from '../backbones/classification_training.js';
import type { ClassificationTrainingInput } from '../backbones/classification_training_config.js';
import { initEngine } from '../core/engine.js';
import { runTraining } from '../core/training/loop.js';
import { generateSyntheticClasses } from '../data/synthetic_classes.js';

const FLAGS = {
  dir: { type: 'string', default: join(tmpdir(), 'nasnet-bench-classification') },
  'train-per-class': { type: 'string', default: '1000' },
  'val-per-class': { type: 'string', default: '100' },
  epochs: { type: 'string', default: '5' },
  'batch-size': { type: 'string', default: '32' },
  lr: { type: 'string', default: '0.05' },
  stem: { type: 'string', default: 'imagenet' },
  'num-cells': { type: 'string', default: '1' },
  'penultimate-filters': { type: 'string', default: '384' },
  'stem-filters': { type: 'string', default: '32' },
  'drop-path-keep': { type: 'string', default: '0.6' },
  'aux-head': { type: 'boolean', default: false },
  seed: { type: 'string', default: '0' },
  target: { type: 'string', default: '0.95' },
  'cpu-steps': { type: 'string', default: '0' },
} as const;

/** Times `steps` training steps (after one warm-up step) of a fresh task on the current engine, on one batch. */
async function msPerStep(options: ClassificationTrainingInput, steps: number): Promise<number> {
  const task = await ClassificationTrainingTask.create(options);
  try {
    await task.restore();
    for await (const batch of task.batches(0, 0)) {
      try {
        await task.trainStep(batch, 0);
        const start = performance.now();
        for (let i = 1; i <= steps; i++) await task.trainStep(batch, i);
        return (performance.now() - start) / steps;
      } finally {
        batch.dispose();
      }
    }
    throw new Error('no training batch');
  } finally {
    task.dispose();
  }
}

export async function main(argv: string[] = process.argv.slice(2)): Promise<number> {
  const { values: v } = parseArgs({ args: argv, options: FLAGS, strict: true });
  const int = (name: keyof typeof FLAGS): number => Number(v[name]);
  const dir = v.dir;
  const data = join(dir, 'data');
  const out = join(dir, 'checkpoint');
  await rm(out, { recursive: true, force: true }); // a benchmark run starts fresh

  const started = performance.now();
  const generated = await generateSyntheticClasses({ outDir: data, trainPerClass: int('train-per-class'), valPerClass: int('val-per-class'), seed: int('seed'), size: 32 });
  console.log(`data: ${generated.images.train} train + ${generated.images.val} val images (32x32, 10 classes) in ${generated.seconds.toFixed(1)} s -> ${data}`);

  const options: ClassificationTrainingInput = {
    data,
    out,
    backbone: {
      preset: 'cifar',
      stem: v.stem as 'cifar' | 'imagenet',
      numCells: int('num-cells'),
      penultimateFilters: int('penultimate-filters'),
      stemFilters: int('stem-filters'),
      inputSize: 32,
      auxHead: v['aux-head'],
      dropPathKeepProb: Number(v['drop-path-keep']),
    },
    epochs: int('epochs'),
    batchSize: int('batch-size'),
    learningRate: Number(v.lr),
    seed: int('seed'),
  };
  const engine = await initEngine({ backend: 'wasm' });
  const task = await ClassificationTrainingTask.create(options);
  const { config } = task.network;
  console.log(
    `network: NASNet-A ${config.numCells}@${config.penultimateFilters}, ${config.stem} stem (${config.stemFilters}), aux head ${config.auxHead}, ` +
      `drop-path keep ${config.dropPathKeepProb}, ${task.network.model.countParams()} parameters; engine ${engine.backend} (${getThreadsCount()} threads)`,
  );
  console.log(`training: ${options.epochs} epochs x ${task.stepsPerEpoch} steps of ${options.batchSize}, momentum 0.9, lr ${options.learningRate} cosine, label smoothing 0.1, L2 5e-4, clip 5`);
  let stepMs = 0;
  let steps = 0;
  const inner = task.trainStep.bind(task);
  task.trainStep = async (batch, step) => {
    const t = performance.now();
    const losses = await inner(batch, step);
    stepMs += performance.now() - t;
    steps += 1;
    return losses;
  };
  const target = Number(v.target);
  let reached: string | undefined;
  const trainingStarted = performance.now();
  try {
    const state = await runTraining(task, { stream: process.stderr });
    console.log('epoch  train_loss  train_acc  val_loss  val_acc  seconds');
    for (const h of state.history) {
      const acc = h.validation.val_accuracy!;
      console.log(`${String(h.epoch + 1).padStart(5)}  ${h.train.loss!.toFixed(4).padStart(10)}  ${h.train.accuracy!.toFixed(4).padStart(9)}  ${h.validation.val_loss!.toFixed(4).padStart(8)}  ${acc.toFixed(4).padStart(7)}  ${h.seconds.toFixed(0).padStart(7)}`);
      if (reached === undefined && acc >= target) reached = `epoch ${h.epoch + 1}`;
    }
    const final = state.history[state.history.length - 1]!.validation.val_accuracy!;
    const trainSeconds = (performance.now() - trainingStarted) / 1000;
    console.log(`final validation accuracy ${(100 * final).toFixed(2)} % (target ${(100 * target).toFixed(0)} %: ${reached !== undefined ? `reached at ${reached}` : 'NOT reached'})`);
    console.log(`wall time: training ${trainSeconds.toFixed(0)} s, total ${((performance.now() - started) / 1000).toFixed(0)} s; wasm train step ${(stepMs / steps).toFixed(0)} ms (batch ${options.batchSize}, mean of ${steps})`);
  } finally {
    task.dispose();
  }
  const cpuSteps = int('cpu-steps');
  if (cpuSteps > 0) {
    await initEngine({ backend: 'cpu' });
    const ms = await msPerStep({ ...options, out: join(dir, 'cpu-probe') }, cpuSteps);
    console.log(`cpu train step ${ms.toFixed(0)} ms (mean of ${cpuSteps}); wasm/cpu speed-up ${(ms / (stepMs / steps)).toFixed(1)}x`);
  }
  return reached !== undefined ? 0 : 1;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  process.exitCode = await main();
}
