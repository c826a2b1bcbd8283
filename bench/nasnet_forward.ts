// NASNet-A Mobile inference latency at 224x224: ours on onnxruntime-node (our ONNX export, the serving
// engine) and on the tfjs wasm and cpu backends, batch 1 and 8, and Keras NASNetMobile on TensorFlow-CPU in the same run when a Python with tensorflow + keras
// is available; prints medians and our/Keras ratios.
// Usage: npx tsx bench/nasnet_forward.ts [--runs N] [--cpu-runs N] [--backends onnx,wasm,cpu] [--batches 1,8] [--python PATH]
//   --cpu-runs  timed runs on the pure-JS cpu backend (default 2: one batch-8 pass takes minutes)
//   --python  interpreter with tensorflow-cpu and keras (default $NASNET_KERAS_PYTHON, else /work/venv-keras/bin/python
//             when it exists); Keras is skipped when none is found.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { buildNasnet } from '../backbones/nasnet.js';
import { initEngine, type EngineName } from '../src/core/engine.js';
import { OnnxSession, exportLayersModel } from '../src/onnx/index.js';

type Runner = EngineName | 'onnx';

function flag(argv: readonly string[], name: string): string | undefined {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

async function medianOf(runs: number, once: () => Promise<number>): Promise<number> {
  await once(); // warm-up: kernel setup, weight upload
  const times: number[] = [];
  for (let r = 0; r < runs; r++) times.push(await once());
  return median(times);
}

/** Median latency (ms) of the ONNX export of NASNet-A Mobile on onnxruntime-node, per batch size. */
async function timeOnnx(batches: readonly number[], runs: number): Promise<Map<number, number>> {
  await initEngine({ backend: 'cpu' });
  const { model } = buildNasnet({ preset: 'mobile' });
  const session = await OnnxSession.create(exportLayersModel(model, { inputNames: ['image'], outputNames: ['probs'] }));
  model.dispose();
  const result = new Map<number, number>();
  for (const batch of batches) {
    const data = Float32Array.from({ length: batch * 224 * 224 * 3 }, (_, i) => Math.sin(i) * 0.9);
    result.set(batch, await medianOf(runs, async () => {
      const start = performance.now();
      await session.run({ image: { data, dims: [batch, 224, 224, 3] } });
      return performance.now() - start;
    }));
  }
  await session.dispose();
  return result;
}

/** Median forward latency (ms) of NASNet-A Mobile on one tfjs backend, per batch size. */
async function timeOurs(backend: EngineName, batches: readonly number[], runs: number): Promise<Map<number, number>> {
  await initEngine({ backend });
  const { model } = buildNasnet({ preset: 'mobile' });
  const result = new Map<number, number>();
  for (const batch of batches) {
    const x = tf.randomUniform([batch, 224, 224, 3], -1, 1, 'float32', 7);
    const once = async (): Promise<number> => {
      const start = performance.now();
      const y = model.predict(x) as tf.Tensor;
      await y.data(); // wait for the backend to finish
      y.dispose();
      return performance.now() - start;
    };
    result.set(batch, await medianOf(runs, once));
    x.dispose();
  }
  model.layers.forEach((layer) => layer.dispose());
  return result;
}

// Keras' compiled path (predict_on_batch runs a tf.function), same input range, weights=None (random).
const KERAS_SCRIPT = `
import json, sys, time
import numpy as np, keras, tensorflow as tf
batches = [int(b) for b in sys.argv[1].split(',')]; runs = int(sys.argv[2])
model = keras.applications.NASNetMobile(weights=None)
out = {"tensorflow": tf.__version__, "keras": keras.__version__, "threads": tf.config.threading.get_intra_op_parallelism_threads()}
for b in batches:
    x = np.random.default_rng(7).uniform(-1, 1, (b, 224, 224, 3)).astype("float32")
    model.predict_on_batch(x)
    times = []
    for _ in range(runs):
        t = time.perf_counter(); model.predict_on_batch(x); times.append((time.perf_counter() - t) * 1000)
    out[str(b)] = float(np.median(times))
print(json.dumps(out))
`;

interface KerasTimes {
  readonly versions: string;
  readonly ms: Map<number, number>;
}

function timeKeras(python: string, batches: readonly number[], runs: number): KerasTimes | string {
  const run = spawnSync(python, ['-c', KERAS_SCRIPT, batches.join(','), String(runs)], {
    encoding: 'utf8',
    env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: '3' },
    timeout: 15 * 60 * 1000,
  });
  if (run.status !== 0) return `Keras run failed (${run.status ?? run.signal}): ${run.stderr.trim().split('\n').slice(-3).join(' | ')}`;
  const parsed = JSON.parse(run.stdout.trim().split('\n').at(-1)!) as Record<string, number | string>;
  const ms = new Map(batches.map((b) => [b, Number(parsed[String(b)])]));
  return { versions: `tensorflow ${parsed.tensorflow}, keras ${parsed.keras}`, ms };
}

export async function main(argv: readonly string[] = process.argv.slice(2)): Promise<void> {
  const runs = Number(flag(argv, '--runs') ?? 10);
  const cpuRuns = Number(flag(argv, '--cpu-runs') ?? 2);
  const backends = (flag(argv, '--backends') ?? 'onnx,wasm,cpu').split(',') as Runner[];
  const batches = (flag(argv, '--batches') ?? '1,8').split(',').map(Number);
  const defaultPython = '/work/venv-keras/bin/python';
  const python = flag(argv, '--python') ?? process.env.NASNET_KERAS_PYTHON ?? (existsSync(defaultPython) ? defaultPython : undefined);

  console.log(`NASNet-A Mobile forward, 224x224, median of ${runs} runs (cpu: ${cpuRuns}) after one warm-up; node ${process.version}`);
  const ours = new Map<Runner, Map<number, number>>();
  for (const backend of backends) {
    ours.set(backend, backend === 'onnx' ? await timeOnnx(batches, runs) : await timeOurs(backend, batches, backend === 'cpu' ? cpuRuns : runs));
  }
  const keras = python === undefined ? 'no Python with tensorflow + keras (pass --python)' : timeKeras(python, batches, runs);

  const header = ['batch', ...backends.map((b) => `ours ${b} ms`), 'Keras TF-CPU ms', ...backends.map((b) => `${b}/Keras`)];
  console.log(header.join(' | '));
  for (const batch of batches) {
    const k = typeof keras === 'string' ? undefined : keras.ms.get(batch);
    const cells = backends.map((b) => ours.get(b)!.get(batch)!);
    const row = [
      String(batch),
      ...cells.map((ms) => ms.toFixed(0)),
      k === undefined ? '-' : k.toFixed(0),
      ...cells.map((ms) => (k === undefined ? '-' : (ms / k).toFixed(2))),
    ];
    console.log(row.join(' | '));
  }
  console.log(typeof keras === 'string' ? `Keras: ${keras}` : `Keras: ${keras.versions}, predict_on_batch`);
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await main();
