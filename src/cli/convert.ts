// nasnet convert: weights between Keras .h5 files and nasnet-ts checkpoints, both ways.
const USAGE = `Usage: nasnet convert IN OUT [--config FILE.json | --backbone mobile|large|cifar] [--no-strict]

  IN.h5 -> OUT (a checkpoint directory); IN may be a published name (nasnet-mobile, ...: nasnet weights)
      Reads a Keras weight file (Keras 2 legacy layout: model.save_weights('x.h5') or model.save('x.h5'),
      e.g. the published NASNet-mobile.h5 / NASNet-large.h5 / *-no-top.h5) and writes a classifier
      checkpoint (ImageNet labels, Keras preprocessing) that classify, export, serve --classifier and
      train --backbone-weights read. The backbone is --config (a JSON object: resolveNasnetConfig fields
      and an optional "preset"), --backbone (a preset), or without either the preset the file's weights
      fit (Mobile, Large or CIFAR). includeTop and classes, unless the config sets them, follow the file:
      on when it has a 'predictions' layer (a no-top checkpoint serves as backbone weights only).
  IN (a checkpoint directory, with model.json) -> OUT.h5
      Writes the Keras 2 legacy layout that Keras 2 and 3 load with model.load_weights(OUT.h5). The config
      comes from the checkpoint; the Keras layer order from the .h5 it was converted from, else the model.

  A round trip (.h5 -> checkpoint -> .h5) gives the same weights bit for bit, the same layer_names and attrs.

Options:
  --config FILE.json   backbone config (.h5 -> checkpoint only)
  --backbone NAME      backbone preset: mobile, large or cifar (.h5 -> checkpoint only; default: inferred)
  --no-strict          allow weights missing from IN or not used by the model (they are left out and
                       listed); shapes must always match
  --help, -h           this text

Exit codes: 0 ok, 2 bad command line, 3 unreadable or unwritable file, 4 invalid weights or checkpoint,
5 invalid config, 1 internal error.
`;

import { readFile, stat } from 'node:fs/promises';
import { basename, extname, join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { resolveNasnetConfig, type NasnetConfig, type NasnetPresetName, NASNET_PRESETS } from '../../backbones/config.js';
import { classifierArtifactConfig, kerasLabels, parseArtifactConfig } from '../../backbones/classifier_artifact.js';
import { DEFAULT_KERAS_ATTRS, inferKerasModel, kerasFileToNamedWeights, matchNamedWeights, namedWeightsToKerasFile, type NamedWeight, type WeightSpec } from '../../backbones/keras_convert.js';
import { readKerasWeightsFile, writeKerasWeightsFile, type KerasWeightFile } from '../../backbones/keras_h5.js';
import { kerasLayerOrder } from '../../backbones/keras_order.js';
import { modelWeightSpecs } from '../../backbones/keras_weights.js';
import { buildNasnet } from '../../backbones/nasnet.js';
import { loadCheckpoint, readCheckpointManifest, saveCheckpoint } from '../../core/checkpoint.js';
import { initEngine } from '../../core/engine.js';
import { EXIT, NasnetError } from '../../core/errors.js';
import { parseFlags, cliMain, type CliStreams } from './run.js';
import { resolveWeights } from '../weights/cache.js';

const H5_EXTENSIONS = ['.h5', '.hdf5'];
type BackboneConfigInput = Partial<NasnetConfig> & { readonly preset?: NasnetPresetName };

/** What the checkpoint keeps of the source file so that the way back writes the same file. */
interface KerasProvenance {
  readonly source: string;
  readonly layerNames: string[];
  readonly backend?: string;
  readonly kerasVersion?: string;
}

const isH5 = (path: string): boolean => H5_EXTENSIONS.includes(extname(path).toLowerCase());

function usageError(message: string): NasnetError {
  return new NasnetError('INVALID_ARGUMENT', `nasnet convert: ${message} (nasnet convert --help)`);
}

async function readConfigFile(path: string): Promise<BackboneConfigInput> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new NasnetError('IO_ERROR', `nasnet convert: cannot read --config ${path}: ${(error as Error).message}`, { path });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new NasnetError('INVALID_CONFIG', `nasnet convert: --config ${path} is not valid JSON: ${(error as Error).message}`, { path });
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new NasnetError('INVALID_CONFIG', `nasnet convert: --config ${path} must hold a JSON object of backbone settings`, { path });
  }
  return json as BackboneConfigInput;
}

/** Names and shapes of the model's weights, and its layers in Keras order; the model itself is dropped. */
function modelInventory(config: NasnetConfig): { specs: WeightSpec[]; layerNames: string[] } {
  const { model } = buildNasnet(config);
  try {
    return { specs: modelWeightSpecs(model), layerNames: kerasLayerOrder(model).map((layer) => layer.name) };
  } finally {
    model.dispose();
  }
}

function describeDropped(kept: number, total: number, missing: number): string {
  return `kept ${kept} of ${total} tensors (${total - kept} not used by the model, ${missing} missing: --no-strict)`;
}

async function kerasToCheckpoint(input: string, output: string, given: BackboneConfigInput | undefined, strict: boolean): Promise<string> {
  const file = await readKerasWeightsFile(input);
  const hasTop = file.layers.some((layer) => layer.name === 'predictions');
  const inferred = given === undefined ? inferKerasModel(file, input) : undefined;
  const partial = given ?? { preset: inferred!.preset, ...(inferred!.classes !== undefined ? { classes: inferred!.classes } : {}) };
  const config = resolveNasnetConfig({ includeTop: hasTop, ...partial });
  const { specs } = modelInventory(config);
  const named = kerasFileToNamedWeights(file);
  const weights = matchNamedWeights(specs, named, { strict, source: input });
  const provenance: KerasProvenance = { source: basename(input), layerNames: file.layerNames, ...file.attrs };
  const tensors = weights.map((w) => ({ name: w.name, tensor: tf.tensor(w.data, w.shape, 'float32') }));
  try {
    // Keras' load_img resizes with PIL NEAREST: the preprocessing the published weights were scored with.
    const artifact = classifierArtifactConfig(config, kerasLabels(config.classes), 'pil-nearest');
    await saveCheckpoint(output, { config: artifact, weights: tensors, extra: { keras: provenance } });
  } finally {
    tensors.forEach(({ tensor }) => tensor.dispose());
  }
  const summary = weights.length === named.length && weights.length === specs.length ? `${weights.length} tensors` : describeDropped(weights.length, named.length, specs.length - weights.length);
  const backbone = inferred !== undefined ? `, backbone ${inferred.preset} (inferred)` : '';
  return `wrote checkpoint ${output} from ${input}: ${summary}, includeTop ${config.includeTop}${backbone}`;
}

/** extra.keras of a checkpoint made by this verb, if it is one. */
function provenanceOf(extra: unknown): KerasProvenance | undefined {
  const keras = (extra as { keras?: Partial<KerasProvenance> } | undefined)?.keras;
  if (keras === undefined || !Array.isArray(keras.layerNames) || !keras.layerNames.every((n) => typeof n === 'string')) return undefined;
  return keras as KerasProvenance;
}

async function checkpointToKeras(input: string, output: string, strict: boolean): Promise<string> {
  const manifest = await readCheckpointManifest(input);
  if (typeof manifest.config !== 'object' || manifest.config === null || Array.isArray(manifest.config)) {
    throw new NasnetError('CHECKPOINT_INVALID', `nasnet convert: the config in ${input}/model.json is not a backbone config object`);
  }
  // A classifier artifact (what this verb and classification training write), or a bare backbone config.
  const isArtifact = (manifest.config as { format?: unknown }).format !== undefined;
  const config = isArtifact ? parseArtifactConfig(input, manifest.config).config : resolveNasnetConfig(manifest.config as BackboneConfigInput);
  const inventory = modelInventory(config);
  const expected = inventory.specs.map((spec) => ({ ...spec, dtype: 'float32' as const }));
  const loaded = await loadCheckpoint(input, { expected, strict });
  const named: NamedWeight[] = [];
  try {
    for (const spec of inventory.specs) {
      const tensor = loaded.weights.get(spec.name);
      if (tensor !== undefined) named.push({ name: spec.name, shape: [...spec.shape], data: (await tensor.data()) as Float32Array });
    }
  } finally {
    loaded.weights.forEach((tensor) => tensor.dispose());
  }
  const provenance = provenanceOf(manifest.extra);
  const stored = new Set(provenance?.layerNames);
  const weighted = new Set(named.map((w) => w.name.slice(0, w.name.lastIndexOf('/'))));
  // the source .h5's layer list is kept (a lossless round trip) if it names every weighted layer
  const layerNames = provenance !== undefined && [...weighted].every((layer) => stored.has(layer)) ? provenance.layerNames : inventory.layerNames;
  const attrs: KerasWeightFile['attrs'] = provenance?.backend !== undefined || provenance?.kerasVersion !== undefined
    ? { ...(provenance.backend !== undefined && { backend: provenance.backend }), ...(provenance.kerasVersion !== undefined && { kerasVersion: provenance.kerasVersion }) }
    : { ...DEFAULT_KERAS_ATTRS };
  await writeKerasWeightsFile(namedWeightsToKerasFile(named, { layerNames, attrs }), output);
  const dropped = loaded.missing.length + loaded.unexpected.length > 0 ? ` (--no-strict: ${loaded.missing.length} missing, ${loaded.unexpected.length} not used)` : '';
  return `wrote ${output} from checkpoint ${input}: ${named.length} tensors in ${layerNames.length} layers${dropped}`;
}

async function isCheckpointDir(path: string): Promise<boolean> {
  const info = await stat(path).catch(() => undefined);
  if (info === undefined) throw new NasnetError('IO_ERROR', `nasnet convert: ${path} does not exist`, { path });
  return info.isDirectory() && (await stat(join(path, 'model.json')).then(() => true, () => false));
}

/** Where the verb prints (the process's streams; tests pass their own). */
async function run(argv: string[], io: CliStreams): Promise<number> {
  const { values, positionals } = parseFlags(argv, {
    config: { type: 'string' },
    backbone: { type: 'string' },
    'no-strict': { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) {
    io.stdout.write(USAGE);
    return EXIT.OK;
  }
  if (positionals.length !== 2) throw usageError(`expected IN and OUT, received ${positionals.length} argument(s)`);
  // IN may be a published name (nasnet-mobile, ...): its cached .h5, whose preset is the default backbone.
  const resolved = await resolveWeights(positionals[0] as string);
  const input = resolved.path;
  const output = positionals[1] as string;
  const strict = values['no-strict'] !== true;
  if (values.config !== undefined && values.backbone !== undefined) throw usageError('give --config or --backbone, not both');

  let message: string;
  if (await isCheckpointDir(input)) {
    if (!isH5(output)) throw usageError(`IN is a checkpoint, so OUT must be a ${H5_EXTENSIONS.join(' or ')} file; received ${output}`);
    if (values.config !== undefined || values.backbone !== undefined) throw usageError('--config and --backbone apply to .h5 -> checkpoint; a checkpoint carries its config');
    await initEngine({ backend: 'cpu' });
    message = await checkpointToKeras(input, output, strict);
  } else if (isH5(input)) {
    if (isH5(output)) throw usageError(`IN is a .h5 file, so OUT must be a checkpoint directory; received ${output}`);
    let partial: BackboneConfigInput | undefined; // undefined: inferred from the file
    if (values.config !== undefined) partial = await readConfigFile(values.config);
    else if (values.backbone !== undefined) {
      if (!(values.backbone in NASNET_PRESETS)) throw usageError(`--backbone must be one of ${Object.keys(NASNET_PRESETS).join(', ')}; received ${JSON.stringify(values.backbone)}`);
      partial = { preset: values.backbone as NasnetPresetName };
    } else if (resolved.entry !== undefined) partial = { preset: resolved.entry.backbone };
    await initEngine({ backend: 'cpu' });
    message = await kerasToCheckpoint(input, output, partial, strict);
  } else {
    throw usageError(`cannot tell the direction: IN must be a ${H5_EXTENSIONS.join('/')} file or a checkpoint directory holding model.json; received ${input}`);
  }
  io.stdout.write(`${message}\n`);
  return EXIT.OK;
}

/** `nasnet convert ...` (argv without the verb); returns the exit code, reporting errors on stderr. */
export const main = cliMain(run);
