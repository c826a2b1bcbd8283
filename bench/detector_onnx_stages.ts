// Benchmark: where the time of one detection goes, for the default detector (models/default/detector,
// 256 x 256 input) on one 640x480 JPEG, and what moving the RPN head, proposal selection, ROI align and
// the box predictor onto onnxruntime bought. Prints medians of:
//   - each stage on the onnx runner: decode + letterbox, session 1 (stage-1 cells + RPN head + proposal
//     selection), session 2 (ROI align + box head, with the copies into tfjs tensors), post-processing in
//     TypeScript (decode, per-class NMS); the same stages on the tfjs runner;
//   - proposal selection alone (top-k, decode, clip, size filter, NMS), in TypeScript (FasterRcnn
//     .selectProposals, what runs between the sessions of the previous design) and as the ONNX nodes
//     session 1 runs (appendProposalSelection in a session of its own), on the same RPN outputs;
//   - end to end (decode + letterbox + FasterRcnn.detect), runs interleaved so that all three see the same
//     machine load: "old" = the previous runner (onnxruntime for stage 1 and the stage-2 cells only; RPN
//     head, proposal selection, ROI align and predictor on tfjs / TypeScript), "new" = onnxRunner,
//     "tfjs" = the tfjs runner;
//   - the public API, loadDetector(...).detect, for engines onnx and tfjs.
//
//   npx tsx bench/detector_onnx_stages.ts [--runs N] [--threads T]
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { letterboxWindow, loadDetector, loadFasterRcnn, onnxRunner } from '../src/api/detector.js';
import { defaultDetectorPath } from '../src/api/defaults.js';
import { initEngine } from '../core/engine.js';
import { encodeJpeg, fitRgb } from '../core/image_io.js';
import { renderShapesImage, resolveShapesConfig } from '../data/shapes.js';
import { OnnxSession, exportLayersModel } from '../src/onnx/index.js';
import { appendProposalSelection } from '../src/onnx/detector_export.js';
import { GraphBuilder } from '../src/onnx/graph.js';
import { DataType, encodeModel } from '../src/onnx/proto.js';
import type { DetectionRunner, FasterRcnn } from '../detection/faster_rcnn.js';
import { roiAlign } from '../detection/roi_align.js';
import type { Window } from '../detection/box_ops.js';

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 === 1 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

async function timed<T>(times: number[], run: () => T | Promise<T>): Promise<T> {
  const start = performance.now();
  const out = await run();
  times.push(performance.now() - start);
  return out;
}

/** Decode + letterbox exactly as src/api/detector.ts does. */
async function prepare(image: Uint8Array, size: number): Promise<{ input: tf.Tensor4D; window: Window }> {
  const fitted = await fitRgb(image, { width: size, height: size, mode: 'letterbox', align: 'top-left', padColor: [128, 128, 128], kernel: 'linear' });
  const input = tf.tensor4d(Float32Array.from(fitted.image.data, (v) => v / 127.5 - 1), [1, size, size, 3]);
  return { input, window: letterboxWindow(fitted.meta) };
}

/** RPN outputs on tfjs from onnxruntime features: objectness [1, R], deltas [1, R, 4] (anchor order). */
type RpnHeadOnTfjs = (features: tf.Tensor4D) => [tf.Tensor2D, tf.Tensor3D];

/**
 * The runner this change replaced, rebuilt from public pieces for the comparison: onnxruntime sessions for
 * the stage-1 features and the stage-2 cells; the RPN head, ROI align and the predictors on tfjs; proposal
 * selection in TypeScript (timed into `selection`).
 */
async function oldRunner(model: FasterRcnn, selection: number[]): Promise<DetectionRunner & { rpnHead: RpnHeadOnTfjs; features: OnnxSession; dispose(): Promise<void> }> {
  const { stage1, stage2, channels } = model.split;
  const featuresModel = tfl.model({ inputs: stage1.inputs, outputs: stage1.outputs[2]!, name: 'rpn_features' });
  const features = await OnnxSession.create(exportLayersModel(featuresModel, { inputNames: ['image'], outputNames: ['features'] }));
  const cells = await OnnxSession.create(exportLayersModel(stage2, { inputNames: ['previous', 'hidden'], outputNames: ['cells'] }));
  const w = Object.fromEntries(model.variables().map((v) => [v.name, v.variable]));
  const conv = (x: tf.Tensor4D, name: string): tf.Tensor4D => tf.add(tf.conv2d(x, w[`${name}/kernel`] as tf.Tensor4D, 1, 'same'), w[`${name}/bias`]!);
  const dense = (x: tf.Tensor2D, name: string): tf.Tensor2D => tf.add(tf.matMul(x, w[`${name}/kernel`] as tf.Tensor2D), w[`${name}/bias`]!);
  const rpnHead: RpnHeadOnTfjs = (map) =>
    tf.tidy(() => {
      const hidden = tf.relu(conv(map, 'rpn/conv'));
      return [tf.reshape(conv(hidden, 'rpn/objectness'), [1, -1]) as tf.Tensor2D, tf.reshape(conv(hidden, 'rpn/box'), [1, -1, 4]) as tf.Tensor3D];
    }) as [tf.Tensor2D, tf.Tensor3D];
  const s = model.config.imageSize;
  const frame = { pixelScale: { height: s, width: s }, spatialScale: 1 / model.split.featureStride };
  const roiConfig = { outputSize: [model.config.cropSize, model.config.cropSize] as [number, number], samplingRatio: model.config.roiSamplingRatio, aligned: true };
  const host = async (t: tf.Tensor): Promise<{ data: Float32Array; dims: number[] }> => ({ data: (await t.data()) as Float32Array, dims: t.shape });
  return {
    rpnHead,
    features,
    async rpn(images, windows) {
      const out = (await features.run({ image: await host(images) })).features!;
      const map = tf.tensor4d(out.data, out.dims as [number, number, number, number]);
      const [objectness, deltas] = rpnHead(map);
      const proposals = await timed(selection, () => model.selectProposals(objectness, deltas, windows));
      tf.dispose([objectness, deltas]);
      return {
        proposals,
        async boxHead(boxes, n) {
          const crops = roiAlign(map, boxes, new Int32Array(boxes.length / 4).fill(n), roiConfig, frame);
          const [previous, hidden] = tf.split(crops, [...channels], 3) as [tf.Tensor, tf.Tensor];
          const result = (await cells.run({ previous: await host(previous), hidden: await host(hidden) })).cells!;
          tf.dispose([crops, previous, hidden]);
          const [classLogits, boxDeltas] = tf.tidy(() => {
            const pooled = tf.mean(tf.tensor4d(result.data, result.dims as [number, number, number, number]), [1, 2]) as tf.Tensor2D;
            return [dense(pooled, 'box_predictor/class'), dense(pooled, 'box_predictor/box')];
          });
          return { classLogits: classLogits!, boxDeltas: boxDeltas! };
        },
        dispose: () => map.dispose(),
      };
    },
    async dispose() {
      await features.dispose();
      await cells.dispose();
    },
  };
}

/** Median ms of each stage of `runs` detections with `runner` (run 0 warms up and is not counted). */
async function stageTimes(model: FasterRcnn, runner: DetectionRunner, image: Uint8Array, runs: number): Promise<number[]> {
  const t: number[][] = [[], [], [], []];
  for (let i = 0; i <= runs; i++) {
    const times = i === 0 ? t.map(() => [] as number[]) : t;
    const { input, window } = await timed(times[0]!, () => prepare(image, model.config.imageSize));
    const rpn = await timed(times[1]!, () => runner.rpn(input, [window]));
    const head = await timed(times[2]!, () => rpn.boxHead(rpn.proposals[0]!, 0));
    await timed(times[3]!, () => model.postprocess(head, rpn.proposals[0]!, window));
    tf.dispose([input, head.classLogits, head.boxDeltas]);
    rpn.dispose();
  }
  return t.map(median);
}

/** The proposal-selection nodes of session 1 as a session of their own: objectness, deltas, window -> proposals. */
async function proposalSession(model: FasterRcnn): Promise<OnnxSession> {
  const graph = new GraphBuilder();
  appendProposalSelection(graph, model, { objectness: 'objectness', deltas: 'deltas', window: 'window' });
  const r = model.anchorBoxes.length / 4;
  const info = (name: string, shape: (number | string)[]) => ({ name, elemType: DataType.FLOAT, shape });
  const bytes = encodeModel(
    {
      name: 'proposals',
      nodes: graph.nodes,
      initializers: graph.initializers,
      inputs: [info('objectness', [1, r]), info('deltas', [1, r, 4]), info('window', [1, 4])],
      outputs: [info('proposals', ['p', 4]), info('proposal_images', ['p'])],
    },
    { opset: 17, producer: 'bench', producerVersion: '0' },
  );
  return OnnxSession.create(bytes);
}

/** Median ms of proposal selection in TypeScript and in the ONNX nodes, on the same RPN outputs. */
async function selectionTimes(model: FasterRcnn, old: Awaited<ReturnType<typeof oldRunner>>, image: Uint8Array, runs: number): Promise<[number, number]> {
  const session = await proposalSession(model);
  const { input, window } = await prepare(image, model.config.imageSize);
  const out = (await old.features.run({ image: { data: (await input.data()) as Float32Array, dims: input.shape } })).features!;
  const map = tf.tensor4d(out.data, out.dims as [number, number, number, number]);
  const [objectness, deltas] = old.rpnHead(map);
  const feeds = {
    objectness: { data: (await objectness.data()) as Float32Array, dims: objectness.shape },
    deltas: { data: (await deltas.data()) as Float32Array, dims: deltas.shape },
    window: { data: Float32Array.from(window), dims: [1, 4] },
  };
  const [ts, onnx]: number[][] = [[], []];
  try {
    for (let i = 0; i <= runs; i++) {
      await timed(i === 0 ? [] : ts, () => model.selectProposals(objectness, deltas, [window]));
      await timed(i === 0 ? [] : onnx, () => session.run(feeds));
    }
  } finally {
    tf.dispose([input, map, objectness, deltas]);
    await session.dispose();
  }
  return [median(ts), median(onnx)];
}

export async function main(argv: string[] = process.argv.slice(2)): Promise<void> {
  const { values } = parseArgs({ args: argv, options: { runs: { type: 'string' }, threads: { type: 'string' } } });
  const runs = Number(values.runs ?? 20);
  const threads = values.threads === undefined ? undefined : Number(values.threads);
  await initEngine({ backend: 'wasm' });
  const scene = renderShapesImage(11, resolveShapesConfig({ width: 640, height: 480, maxObjectSize: 200 }));
  const image = await encodeJpeg(scene.image, { quality: 90 });
  const model = await loadFasterRcnn(defaultDetectorPath());
  const oldSelection: number[] = [];
  const runners = { old: await oldRunner(model, oldSelection), new: await onnxRunner(model, { threads }), tfjs: model.tfjsRunner() };
  const out = (line: string): boolean => process.stdout.write(`${line}\n`);
  const ms = (v: number): string => v.toFixed(2).padStart(10);
  try {
    out(`default detector (${model.config.imageSize} x ${model.config.imageSize}), 640x480 JPEG, medians of ${runs} runs (ms)`);
    const [onnxStages, tfjsStages] = [await stageTimes(model, runners.new, image, runs), await stageTimes(model, runners.tfjs, image, runs)];
    out(`${'stage'.padEnd(54)} ${'onnx (new)'.padStart(10)} ${'tfjs'.padStart(10)}`);
    const names = ['decode + letterbox', 'stage 1 + RPN head + proposal selection (session 1)', 'ROI align + box head (session 2)', 'postprocess (TypeScript)'];
    names.forEach((name, i) => out(`${name.padEnd(54)} ${ms(onnxStages[i]!)} ${ms(tfjsStages[i]!)}`));
    const [ts, onnx] = await selectionTimes(model, runners.old, image, runs);
    out(`\nproposal selection alone, same RPN outputs: TypeScript ${ts.toFixed(2)} ms, ONNX nodes ${onnx.toFixed(2)} ms`);

    const e2e: Record<keyof typeof runners, number[]> = { old: [], new: [], tfjs: [] };
    for (let i = 0; i <= runs; i++) {
      for (const name of Object.keys(runners) as (keyof typeof runners)[]) {
        const start = performance.now();
        const { input, window } = await prepare(image, model.config.imageSize);
        await model.detect(input, [window], runners[name]);
        input.dispose();
        if (i > 0) e2e[name].push(performance.now() - start);
      }
    }
    const [oldMs, newMs, tfjsMs] = [median(e2e.old), median(e2e.new), median(e2e.tfjs)];
    out('\nend to end (decode + letterbox + FasterRcnn.detect), interleaved:');
    out(`  old: ORT stage 1 + cells; tfjs RPN head, ROI align, predictor; TS proposals  ${oldMs.toFixed(1)} ms (TS proposal selection ${median(oldSelection).toFixed(2)} ms of it)`);
    out(`  new: ORT stage 1 + RPN head + proposals; ORT ROI align + box head            ${newMs.toFixed(1)} ms  (x${(oldMs / newMs).toFixed(2)} faster than old)`);
    out(`  tfjs                                                                         ${tfjsMs.toFixed(1)} ms`);
  } finally {
    await runners.old.dispose();
    await runners.new.dispose();
    model.dispose();
  }

  out('\npublic API, loadDetector(...).detect:');
  for (const engine of ['onnx', 'tfjs'] as const) {
    const detector = await loadDetector({ weights: defaultDetectorPath(), engine, threads, onnxCache: false });
    try {
      const times: number[] = [];
      for (let i = 0; i <= runs; i++) await timed(i === 0 ? [] : times, () => detector.detect(image));
      out(`  engine ${engine.padEnd(5)} median ${median(times).toFixed(1)} ms  (min ${Math.min(...times).toFixed(1)})`);
    } finally {
      detector.dispose();
    }
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await main();
