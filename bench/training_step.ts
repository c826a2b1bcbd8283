// Benchmark: one training step (forward + backward + SGD update) of a small separable-conv network
// at batch 32 on 32x32x3 inputs, on the wasm backend (with core/wasm_training_kernels.ts) and on
// the cpu backend. Prints ms/step for each and the ratio.
//
//   npx tsx bench/training_step.ts [--steps N] [--cpu-steps N]
//
// Network (NHWC): conv3x3 3->16, BN, relu | sep3x3 16->32, BN, relu | sep5x5/2 32->64, BN, relu |
// sep7x7 64->64, BN, relu | maxpool3/2 | avgpool3/1 | global average pool | dense 10, softmax CE.
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { getThreadsCount } from '@tensorflow/tfjs-backend-wasm';
import { initEngine } from '../core/engine.js';

const BATCH = 32;
const SIZE = 32;
const CLASSES = 10;

function buildModel(): tfl.Sequential {
  const bnRelu = [() => tfl.layers.batchNormalization({}), () => tfl.layers.reLU()];
  const model = tfl.sequential();
  model.add(tfl.layers.conv2d({ inputShape: [SIZE, SIZE, 3], filters: 16, kernelSize: 3, padding: 'same', useBias: false }));
  for (const make of bnRelu) model.add(make());
  for (const [filters, kernelSize, strides] of [[32, 3, 1], [64, 5, 2], [64, 7, 1]] as const) {
    model.add(tfl.layers.separableConv2d({ filters, kernelSize, strides, padding: 'same', useBias: false }));
    for (const make of bnRelu) model.add(make());
  }
  model.add(tfl.layers.maxPooling2d({ poolSize: 3, strides: 2, padding: 'same' }));
  model.add(tfl.layers.averagePooling2d({ poolSize: 3, strides: 1, padding: 'same' }));
  model.add(tfl.layers.globalAveragePooling2d({}));
  model.add(tfl.layers.dense({ units: CLASSES }));
  model.compile({ optimizer: tf.train.sgd(0.01), loss: (y, p) => tf.losses.softmaxCrossEntropy(y, p) });
  return model;
}

interface StepTime {
  readonly wallMs: number;
  readonly cpuMs: number;
}

/** Mean wall and process-CPU ms of `steps` timed training steps after one warm-up step, on `backend`. */
async function msPerStep(backend: 'wasm' | 'cpu', steps: number): Promise<StepTime> {
  await initEngine({ backend });
  const x = tf.randomUniform([BATCH, SIZE, SIZE, 3], -1, 1, 'float32', 1);
  const y = tf.oneHot(tf.randomUniform([BATCH], 0, CLASSES, 'int32', 2), CLASSES);
  const model = buildModel();
  await model.trainOnBatch(x, y); // warm-up: kernel setup, XNNPACK operator creation
  const start = performance.now();
  const cpuStart = process.cpuUsage();
  for (let i = 0; i < steps; i++) await model.trainOnBatch(x, y); // returns the loss: a device sync
  const cpu = process.cpuUsage(cpuStart);
  const wallMs = (performance.now() - start) / steps;
  model.dispose();
  tf.dispose([x, y]);
  return { wallMs, cpuMs: (cpu.user + cpu.system) / 1000 / steps };
}

export async function main(argv: string[] = process.argv.slice(2)): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { steps: { type: 'string', default: '10' }, 'cpu-steps': { type: 'string', default: '1' } } });
  const wasm = await msPerStep('wasm', Number(values.steps));
  const cpu = await msPerStep('cpu', Number(values['cpu-steps']));
  console.log(`training step, separable-conv net, batch ${BATCH}, ${SIZE}x${SIZE}x3 (wasm threads: ${getThreadsCount()})`);
  console.log(`wasm ${wasm.wallMs.toFixed(1)} ms/step wall, ${wasm.cpuMs.toFixed(1)} ms/step process CPU`);
  console.log(`cpu  ${cpu.wallMs.toFixed(1)} ms/step wall, ${cpu.cpuMs.toFixed(1)} ms/step process CPU`);
  console.log(`cpu / wasm = ${(cpu.wallMs / wasm.wallMs).toFixed(1)}x wall, ${(cpu.cpuMs / wasm.cpuMs).toFixed(1)}x CPU time`);
  return 0;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  process.exitCode = await main();
}
