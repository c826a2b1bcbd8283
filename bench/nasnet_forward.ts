// NASNet-A Mobile inference latency at 224x224: ours on onnxruntime-node (our ONNX export, the serving
// engine) and on the tfjs wasm and cpu backends, batch 1 and 8, against Keras NASNetMobile on
// TensorFlow-CPU when a Python with tensorflow + keras is available. Prints wall-clock and process CPU
// time (medians) and our/Keras ratios.
// The ONNX runners and Keras run interleaved, one forward pass each in turn (Keras in a Python worker
// fed over stdin), so that a shared machine's load drifts over all of them alike; CPU time (user + sys of
// the process, all its threads) is the number that load hurts least.
// What each row includes:
//   ours bytes-png / bytes-jpeg  loadClassifier(...).classify(bytes) (batch 1) / classifyBatch (batch 8) on
//                   encoded images already in memory: decode + resize (PIL NEAREST, the .h5 default) +
//                   x/127.5-1 + model + softmax + top-5. png = a 224x224 PNG (no resize work), jpeg = the
//                   512x600 Grace Hopper JPEG of the fixtures (a real resize). Weights: the seed-1 Keras
//                   fixture (test/fixtures/keras-nasnet), the graph the fixture tests check against Keras.
//   ours onnx*      the model only: session.run on a ready float32 NHWC array, softmax included.
//   Keras TF-CPU    the model only: predict_on_batch on a ready float32 array (weights=None).
// The load average is printed before and after; on a shared machine every number is provisional.
// Usage: npx tsx bench/nasnet_forward.ts [--runs N] [--cpu-runs N] [--backends bytes-png,bytes-jpeg,onnx,onnx-base,wasm,cpu]
//          [--batches 1,8] [--threads N] [--static] [--ablation] [--python PATH] [--gap-ms 50] [--block 1]
//   onnx       our export with its graph passes, session defaults (pool threads spin, onnxruntime's default)
//   onnx-passive  the same without spinning (NASNET_ORT_SPINNING=0, what the service uses when oversubscribed)
//   onnx-base  the export and session as they were before the passes: no BN/subsampling folding, no
//              channel padding, onnxruntime's spinning thread pool (for before/after in one run)
//   --ablation  adds the steps between the two: onnx-nospin (base export, no spinning), onnx-folds
//               (+ BN and subsampling folds), onnx-padonly (channel padding without the folds)
//   --runs      timed runs per runner and batch after one warm-up (default 20)
//   --gap-ms    idle time before each timed pass (default 50), so that no runner's spinning pool threads
//               are still busy when the next one starts
//   --block     timed passes per visit, after one untimed pass (default 1: strict alternation, cold caches;
//               e.g. 5: the warm caches of back-to-back requests, as the issue measured)
//   --cpu-runs  timed runs on the pure-JS cpu backend (default 2: one batch-8 pass takes minutes)
//   --threads   intra-op threads for onnxruntime AND TensorFlow (default 0: each library's default)
//   --static    export the onnx runner with static shapes (one session per batch size)
//   --python    interpreter with tensorflow-cpu and keras (default $NASNET_KERAS_PYTHON, else
//               /work/venv-keras/bin/python when it exists); Keras is skipped when none is found.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolve } from 'node:path';
import { createInterface, type Interface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { buildNasnet } from '../backbones/nasnet.js';
import { readKerasWeightsFile, writeKerasWeights } from '../backbones/keras_h5.js';
import { encodePng, fitRgb } from '../core/image_io.js';
import { packageRoot } from '../core/paths.js';
import { loadClassifier } from '../src/api/classifier.js';
import type { Classifier } from '../src/api/types.js';
import { initEngine, type EngineName } from '../core/engine.js';
import { OnnxSession, exportLayersModel, type ExportOptions } from '../src/onnx/index.js';
import { median, timed, type Timing } from './timing.js';

const ONNX_VARIANTS = {
  onnx: { passes: {}, spinning: true },
  'onnx-passive': { passes: {}, spinning: false },
  'onnx-base': { passes: { foldBatchNorm: false, foldSubsampling: false, channelAlignment: 1 }, spinning: true },
  'onnx-nospin': { passes: { foldBatchNorm: false, foldSubsampling: false, channelAlignment: 1 }, spinning: false },
  'onnx-folds': { passes: { channelAlignment: 1 }, spinning: false },
  'onnx-padonly': { passes: { foldBatchNorm: false, foldSubsampling: false }, spinning: false },
} as const satisfies Record<string, { passes: ExportOptions; spinning: boolean }>;
type OnnxVariant = keyof typeof ONNX_VARIANTS;
type Runner = EngineName | OnnxVariant;
const isOnnx = (runner: string): runner is OnnxVariant => runner in ONNX_VARIANTS;
/** One timed forward pass of a batch. */
type Pass = (batch: number) => Promise<Timing>;

function flag(argv: readonly string[], name: string): string | undefined {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
}

const input = (batch: number): Float32Array => Float32Array.from({ length: batch * 224 * 224 * 3 }, (_, i) => Math.sin(i) * 0.9);

/** Our ONNX export on onnxruntime-node, with the export passes and session spinning of `variant`. */
async function onnxPass(model: LayersModel, variant: OnnxVariant, threads: number, batches: readonly number[], staticShape: boolean): Promise<{ pass: Pass; dispose(): Promise<void> }> {
  const { passes, spinning } = ONNX_VARIANTS[variant];
  const sessions = new Map<number, OnnxSession>(); // by batch size; one shared session (key 0) when dynamic
  for (const key of staticShape ? batches : [0]) {
    const shape = staticShape ? { batchSize: key, dynamicSpatial: false } : {};
    const bytes = exportLayersModel(model, { inputNames: ['image'], outputNames: ['probs'], ...passes, ...shape });
    sessions.set(key, await OnnxSession.create(bytes, { threads, spinning }));
  }
  const inputs = new Map(batches.map((batch) => [batch, input(batch)]));
  return {
    pass(batch) {
      const session = sessions.get(staticShape ? batch : 0)!;
      return timed(() => session.run({ image: { data: inputs.get(batch)!, dims: [batch, 224, 224, 3] } }));
    },
    async dispose() {
      for (const session of sessions.values()) await session.dispose();
    },
  };
}

/** The seed-1 NASNet-A Mobile Keras fixture with its top, as a .h5 in `dir` (what test/api/classifier.test.ts loads). */
export async function fixtureH5(dir: string): Promise<string> {
  const fixture = (name: string): string => join(packageRoot(), 'test', 'fixtures', 'keras-nasnet', name);
  const notop = await readKerasWeightsFile(fixture('mobile_notop_seed1.h5'));
  const meta = JSON.parse(readFileSync(fixture('mobile_seed1_predictions.json'), 'utf8')) as { tensors: { name: string; shape: number[]; offset: number }[] };
  const bytes = readFileSync(fixture('mobile_seed1_predictions.bin'));
  const weights = meta.tensors.map((t) => {
    const count = t.shape.reduce((a, b) => a * b, 1);
    return { name: t.name, shape: t.shape, data: new Float32Array(bytes.buffer.slice(bytes.byteOffset + t.offset, bytes.byteOffset + t.offset + count * 4)) };
  });
  const path = join(dir, 'mobile_seed1.h5');
  writeFileSync(path, await writeKerasWeights({ ...notop, layerNames: [...notop.layerNames, 'predictions'], layers: [...notop.layers, { name: 'predictions', weights }] }));
  return path;
}

/** classify / classifyBatch from encoded bytes, the way a user calls it. */
async function bytesPasses(threads: number): Promise<{ passes: Map<string, Pass>; classifier: Classifier; dir: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'nasnet-forward-'));
  const classifier = await loadClassifier({ weights: await fixtureH5(dir), backbone: 'mobile', threads, onnxCache: false });
  const jpeg = new Uint8Array(readFileSync(join(packageRoot(), 'test', 'fixtures', 'image_io', 'photo_grace_hopper.jpg')));
  const png = await encodePng((await fitRgb(jpeg, { width: 224, height: 224, kernel: 'linear' })).image);
  const pass = (image: Uint8Array): Pass => (batch) =>
    timed(() => (batch === 1 ? classifier.classify(image) : classifier.classifyBatch!(Array.from({ length: batch }, () => image))));
  return { passes: new Map([['ours bytes-png', pass(png)], ['ours bytes-jpeg', pass(jpeg)]]), classifier, dir };
}

// Keras' compiled path (predict_on_batch runs a tf.function), same input range, weights=None (random).
// Reads a batch size per line, answers {"wall": ms, "cpu": ms} (process_time: all threads).
const KERAS_WORKER = `
import json, sys, time
import numpy as np, tensorflow as tf
threads = int(sys.argv[1])
if threads > 0:
    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(1)
import keras
model = keras.applications.NASNetMobile(weights=None)
print(json.dumps({"versions": f"tensorflow {tf.__version__}, keras {keras.__version__}"}), flush=True)
inputs = {}
for line in sys.stdin:
    b = int(line)
    x = inputs.setdefault(b, np.random.default_rng(7).uniform(-1, 1, (b, 224, 224, 3)).astype("float32"))
    t, c = time.perf_counter(), time.process_time()
    model.predict_on_batch(x)
    print(json.dumps({"wall": (time.perf_counter() - t) * 1000, "cpu": (time.process_time() - c) * 1000}), flush=True)
`;

class KerasWorker {
  private constructor(
    private readonly child: ChildProcessWithoutNullStreams,
    private readonly lines: AsyncIterator<string>,
    readonly versions: string,
    private readonly rl: Interface,
  ) {}

  static async start(python: string, threads: number): Promise<KerasWorker | string> {
    const child = spawn(python, ['-c', KERAS_WORKER, String(threads)], { env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: '3' } });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-2000)));
    const rl = createInterface({ input: child.stdout });
    const lines = rl[Symbol.asyncIterator]();
    const first = await lines.next();
    if (first.done === true) return `Keras worker failed: ${stderr.trim().split('\n').slice(-3).join(' | ')}`;
    return new KerasWorker(child, lines, (JSON.parse(first.value) as { versions: string }).versions, rl);
  }

  async pass(batch: number): Promise<Timing> {
    this.child.stdin.write(`${batch}\n`);
    const line = await this.lines.next();
    if (line.done === true) throw new Error('Keras worker exited');
    return JSON.parse(line.value) as Timing;
  }

  stop(): void {
    this.rl.close();
    this.child.stdin.end();
  }
}

/**
 * Median wall and CPU per runner: one warm-up each, then rounds visiting every runner in turn until each has
 * `runs` timed passes. A visit is `block` passes in a row; with block > 1 it starts with one untimed pass, so
 * the timed ones see the warm caches of a steady stream of requests (the issue's own method: median of 30
 * calls in a row), while the rounds still spread any drift in the machine's load over every runner. Each
 * visit starts `gapMs` after the last: a runner's pool threads keep spinning for a moment after its pass
 * (onnxruntime's and TF's both do) and would otherwise steal the cores of whichever runner comes next.
 */
async function interleaved(passes: ReadonlyMap<string, Pass>, batch: number, runs: number, gapMs: number, block = 1): Promise<Map<string, Timing>> {
  const times = new Map([...passes.keys()].map((name) => [name, [] as Timing[]]));
  const pause = (): Promise<void> => new Promise((done) => setTimeout(done, gapMs));
  for (const pass of passes.values()) await pass(batch);
  for (let r = 0; r < runs; r += block) {
    for (const [name, pass] of passes) {
      await pause();
      if (block > 1) await pass(batch);
      for (let k = 0; k < Math.min(block, runs - r); k++) times.get(name)!.push(await pass(batch));
    }
  }
  return new Map([...times].map(([name, list]) => [name, { wall: median(list.map((t) => t.wall)), cpu: median(list.map((t) => t.cpu)) }]));
}

/** Median forward timings of NASNet-A Mobile on one tfjs backend (run alone: these are slow). */
async function timeTfjs(backend: EngineName, batches: readonly number[], runs: number): Promise<Map<number, Timing>> {
  await initEngine({ backend });
  const { model } = buildNasnet({ preset: 'mobile' });
  const result = new Map<number, Timing>();
  for (const batch of batches) {
    const x = tf.randomUniform([batch, 224, 224, 3], -1, 1, 'float32', 7);
    const pass = (): Promise<Timing> =>
      timed(async () => {
        const y = model.predict(x) as tf.Tensor;
        await y.data(); // wait for the backend to finish
        y.dispose();
      });
    result.set(batch, (await interleaved(new Map([[backend, pass]]), batch, runs, 0)).get(backend)!);
    x.dispose();
  }
  model.dispose();
  return result;
}

export async function main(argv: readonly string[] = process.argv.slice(2)): Promise<void> {
  const runs = Number(flag(argv, '--runs') ?? 20);
  const gapMs = Number(flag(argv, '--gap-ms') ?? 50);
  const block = Number(flag(argv, '--block') ?? 1);
  const cpuRuns = Number(flag(argv, '--cpu-runs') ?? 2);
  const ablation = argv.includes('--ablation') ? (['onnx-nospin', 'onnx-folds', 'onnx-padonly'] as const) : [];
  const requested = (flag(argv, '--backends') ?? 'bytes-png,bytes-jpeg,onnx,onnx-base,wasm,cpu').split(',');
  const withBytes = requested.some((b) => b.startsWith('bytes'));
  const backends = [...requested.filter((b) => !b.startsWith('bytes')) as Runner[], ...ablation];
  const batches = (flag(argv, '--batches') ?? '1,8').split(',').map(Number);
  const threads = Number(flag(argv, '--threads') ?? 0);
  const staticShape = argv.includes('--static');
  const defaultPython = ['/work/venv-keras/bin/python', '/tmp/venv-speed/bin/python'].find((p) => existsSync(p)) ?? '/work/venv-keras/bin/python';
  const python = flag(argv, '--python') ?? process.env.NASNET_KERAS_PYTHON ?? (existsSync(defaultPython) ? defaultPython : undefined);

  console.log(`NASNet-A Mobile forward, 224x224, medians of ${runs} interleaved runs in visits of ${block}, ${gapMs} ms apart (tfjs cpu: ${cpuRuns}) after one warm-up`);
  console.log(`load average at start ${loadavg().map((v) => v.toFixed(1)).join(' ')}`);
  console.log(`node ${process.version}, ${threads === 0 ? 'library default threads' : `${threads} thread(s)`} for onnxruntime and TensorFlow${staticShape ? ', static ONNX shapes' : ''}`);
  const results = new Map<string, Map<number, Timing>>();
  const onnxRunners = backends.filter(isOnnx);
  if (onnxRunners.length > 0 || python !== undefined || withBytes) {
    await initEngine({ backend: 'cpu' });
    const bytes = withBytes ? await bytesPasses(threads) : undefined;
    const { model } = buildNasnet({ preset: 'mobile' });
    const onnx = await Promise.all(onnxRunners.map(async (name) => [name, await onnxPass(model, name, threads, batches, staticShape)] as const));
    model.dispose();
    const keras = python === undefined ? 'no Python with tensorflow + keras (pass --python)' : await KerasWorker.start(python, threads);
    const passes = new Map<string, Pass>([...(bytes?.passes ?? new Map<string, Pass>())].filter(([name]) => requested.includes(name.slice(5))));
    for (const [name, runner] of onnx) passes.set(`ours ${name}`, runner.pass);
    if (typeof keras !== 'string') passes.set('Keras TF-CPU', (batch) => keras.pass(batch));
    for (const batch of batches) {
      for (const [name, timing] of await interleaved(passes, batch, runs, gapMs, block)) {
        if (!results.has(name)) results.set(name, new Map());
        results.get(name)!.set(batch, timing);
      }
    }
    for (const [, runner] of onnx) await runner.dispose();
    if (bytes !== undefined) {
      bytes.classifier.dispose();
      rmSync(bytes.dir, { recursive: true, force: true });
    }
    if (typeof keras !== 'string') keras.stop();
    console.log(typeof keras === 'string' ? `Keras: ${keras}` : `Keras: ${keras.versions}, predict_on_batch`);
  }
  for (const backend of backends.filter((b): b is EngineName => !isOnnx(b))) {
    results.set(`ours ${backend}`, await timeTfjs(backend, batches, backend === 'cpu' ? cpuRuns : runs));
  }

  console.log(`load average at end ${loadavg().map((v) => v.toFixed(1)).join(' ')} (numbers provisional under load)`);
  console.log('batch | runner | wall ms | CPU ms | wall / Keras | CPU / Keras');
  for (const batch of batches) {
    const keras = results.get('Keras TF-CPU')?.get(batch);
    for (const [name, byBatch] of results) {
      const t = byBatch.get(batch)!;
      const ratio = (ours: number, theirs: number | undefined): string => (theirs === undefined ? '-' : (ours / theirs).toFixed(2));
      console.log([batch, name, t.wall.toFixed(1), t.cpu.toFixed(1), ratio(t.wall, keras?.wall), ratio(t.cpu, keras?.cpu)].join(' | '));
    }
  }
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await main();
