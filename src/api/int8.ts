// The int8 engine ('onnx-int8'): our float ONNX export, calibrated on the user's images and rewritten in
// QDQ form by src/onnx/quantize.ts (per-channel symmetric int8 weights, per-tensor uint8 activations,
// min/max calibration). This file finds the calibration images and runs the calibration pass; the
// classifier (src/api/classifier.ts) feeds them through its own preprocessing.
import { readdir } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { NasnetError } from '../../core/errors.js';
import type { GraphBuilder } from '../onnx/graph.js';
import { encodeModel, type OnnxValueInfo } from '../onnx/proto.js';
import { MinMaxCalibrator, calibrationModel, planQuantization, quantizeGraph } from '../onnx/quantize.js';
import { OnnxSession } from '../onnx/session.js';

/** Calibration images used when the caller does not say (a few hundred, as onnxruntime's examples use). */
export const DEFAULT_CALIBRATION_IMAGES = 300;
const IMAGE_EXTENSIONS = new Set(['.jpg', '.jpeg', '.png', '.webp', '.avif', '.tif', '.tiff', '.gif']);

/** What loading an 'onnx-int8' engine needs: where the calibration images are, and how many to use. */
export interface Int8Options {
  /** A directory of images (searched recursively: an image folder or a `nasnet data` split). */
  readonly calibrate?: string;
  /** At most this many, spread evenly over the sorted list (default DEFAULT_CALIBRATION_IMAGES). */
  readonly calibrationImages?: number;
  /**
   * Where the calibrated graph is cached (src/api/int8_cache.ts; default `<NASNET_HOME>/int8`), so that the
   * next load with the same model and images skips the calibration; false calibrates at every load.
   */
  readonly int8Cache?: string | false;
}

/** Image files under `dir` (recursive, sorted by path), at most `limit` taken at an even stride. */
export async function listCalibrationImages(dir: string, limit = DEFAULT_CALIBRATION_IMAGES): Promise<string[]> {
  if (!Number.isInteger(limit) || limit < 1) {
    throw new NasnetError('INVALID_ARGUMENT', `listCalibrationImages: calibrationImages must be a positive integer; received ${JSON.stringify(limit)}`, { field: 'calibrationImages' });
  }
  let entries;
  try {
    entries = await readdir(dir, { recursive: true, withFileTypes: true });
  } catch (error) {
    throw new NasnetError('IO_ERROR', `listCalibrationImages: cannot read the calibration directory ${dir}: ${(error as Error).message}`, { path: dir });
  }
  const files = entries
    .filter((e) => e.isFile() && IMAGE_EXTENSIONS.has(extname(e.name).toLowerCase()))
    .map((e) => join(e.parentPath, e.name))
    .sort();
  if (files.length === 0) throw new NasnetError('INVALID_ARGUMENT', `listCalibrationImages: no image files under ${dir}`, { field: 'calibrate' });
  if (files.length <= limit) return files;
  return Array.from({ length: limit }, (_, i) => files[Math.floor((i * files.length) / limit)]!);
}

export type Feeds = Readonly<Record<string, { data: Float32Array; dims: readonly number[] }>>;

/**
 * Calibrates `exported` (a float graph, not yet serialised) on `feeds` and returns the serialised QDQ
 * int8 model. The graph is rewritten in place.
 */
export async function quantizeExported(
  exported: { graph: GraphBuilder; inputs: readonly OnnxValueInfo[]; outputs: readonly OnnxValueInfo[]; name: string; opset: number },
  feeds: AsyncIterable<Feeds>,
  options: { threads?: number } = {},
): Promise<Uint8Array> {
  const { graph, inputs, outputs, name, opset } = exported;
  const plan = planQuantization(graph, outputs.map((o) => o.name));
  const session = await OnnxSession.create(calibrationModel(graph, { name, inputs, outputs, opset }, plan), { threads: options.threads });
  const calibrator = new MinMaxCalibrator(plan.values);
  try {
    for await (const feed of feeds) calibrator.observe(await session.run(feed));
  } finally {
    await session.dispose();
  }
  quantizeGraph(graph, plan, calibrator.result());
  return encodeModel({ name, nodes: graph.nodes, initializers: graph.initializers, inputs, outputs }, { opset, producer: 'nasnet-ts', producerVersion: '0.1.0' });
}
