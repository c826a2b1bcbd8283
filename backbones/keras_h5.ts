// Keras legacy HDF5 weight files (`model.save_weights('x.h5')`, the published NASNet-*.h5), read and
// written with h5wasm. Layout (keras/src/legacy/saving/legacy_h5_format.py, save_weights_to_hdf5_group and
// load_weights_from_hdf5_group; the fixture README "Weight file layout"):
//   /            attrs layer_names (every layer, model.layers order), backend, keras_version
//   /<layer>     attr weight_names ("<layer>/<weight>:0", ...; an empty float64 array when weightless)
//   /<layer>/<weight_name>   float32 dataset in Keras shape (weight_name may hold '/': nested groups)
// A full-model file (`model.save('x.h5')`) holds the same layout under /model_weights.
//
// h5wasm's Node build opens host paths directly (Emscripten NODERAWFS), so bytes pass through a
// private temporary file that is always removed; paths are opened in place.
import { mkdtemp, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import h5wasm, { type Attribute, type File as H5File, type Group } from 'h5wasm/node';
import { NasnetError } from '../core/errors.js';

export interface KerasWeight {
  /** Exactly as listed in the layer's weight_names attr, e.g. `stem_conv1/kernel:0`. */
  readonly name: string;
  readonly shape: number[];
  readonly data: Float32Array;
}

export interface KerasLayerWeights {
  readonly name: string;
  readonly weights: KerasWeight[];
}

export interface KerasWeightFile {
  /** Root attr layer_names: all layers in model.layers order, weightless ones included. */
  readonly layerNames: string[];
  readonly attrs: { readonly backend?: string; readonly kerasVersion?: string };
  /** Weighted layers only, in layerNames order. */
  readonly layers: KerasLayerWeights[];
}

/** HDF5 object headers hold at most 64 KiB; Keras splits larger string attrs into name0, name1, ... */
const HDF5_OBJECT_HEADER_LIMIT = 64512;
const H5T_FLOAT = 1;
const H5T_STRING = 3;
const H5T_STR_SPACEPAD = 2;

let ready: Promise<void> | undefined;

/** Loads the wasm module once and turns HDF5's stderr diagnostics into thrown errors. */
async function h5(): Promise<typeof h5wasm> {
  ready ??= h5wasm.ready.then((module) => {
    module.activate_throwing_error_handler();
  });
  await ready;
  return h5wasm;
}

/** The innermost HDF5 diagnostic ("H5F__super_read: file signature not found") of a thrown error. */
function hdf5Reason(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  const frames = [...text.matchAll(/ in (\w+)\(\): (.*)$/gm)];
  const last = frames.at(-1);
  return last ? `${last[1]}: ${last[2].trim()}` : text.split('\n')[0];
}

function invalid(message: string, details?: Record<string, unknown>): NasnetError {
  return new NasnetError('INVALID_DATA', `readKerasWeights: ${message}`, details);
}

/** A string (list) attr; an empty numeric array (h5py's `[]`) is an empty list. */
function stringList(attr: Attribute, where: string): string[] {
  const value = attr.value;
  const meta = attr.metadata;
  if (meta.type !== H5T_STRING) {
    if (ArrayBuffer.isView(value) && meta.total_size === 0) return [];
    throw invalid(`${where} must hold strings, received HDF5 type class ${meta.type}`);
  }
  const list = Array.isArray(value) ? value : [value];
  return list.map((item) => {
    if (typeof item !== 'string') throw invalid(`${where} must hold strings, received ${typeof item}`);
    return meta.strpad === H5T_STR_SPACEPAD ? item.trimEnd() : item;
  });
}

/** A string-list attr, possibly split by Keras into `name0`, `name1`, ... (undefined when absent). */
function readStringsAttr(group: Group, name: string): string[] | undefined {
  const attrs = group.attrs;
  if (name in attrs) return stringList(attrs[name], `${group.path} attr ${name}`);
  if (!(`${name}0` in attrs)) return undefined;
  const out: string[] = [];
  for (let chunk = 0; `${name}${chunk}` in attrs; chunk++) out.push(...stringList(attrs[`${name}${chunk}`], `${group.path} attr ${name}${chunk}`));
  return out;
}

function readScalarString(group: Group, name: string): string | undefined {
  const list = readStringsAttr(group, name);
  return list?.length === 1 ? list[0] : undefined;
}

/** The group that carries layer_names: the root (save_weights) or /model_weights (model.save). */
function weightRoot(file: Group): Group {
  if (readStringsAttr(file, 'layer_names') !== undefined) return file;
  const nested = file.get('model_weights');
  if (nested instanceof h5wasm.Group && readStringsAttr(nested, 'layer_names') !== undefined) return nested;
  if (file.get('layers') instanceof h5wasm.Group && file.get('vars') instanceof h5wasm.Group) {
    throw invalid("a Keras 3 native weights file (model.save_weights('*.weights.h5'): /layers/<layer>/vars/<i>), not the legacy layout; in Keras 3 write one with model.save('model.h5')");
  }
  throw invalid('not a Keras weight file: no layer_names attribute at / or /model_weights');
}

function readWeight(group: Group, layer: string, weightName: string): KerasWeight {
  const dataset = group.get(weightName);
  if (!(dataset instanceof h5wasm.Dataset)) {
    throw invalid(`layer "${layer}" lists weight "${weightName}" in weight_names but ${group.path}/${weightName} is not a dataset`, { layer, weight: weightName });
  }
  const meta = dataset.metadata;
  if (meta.type !== H5T_FLOAT || (meta.size !== 4 && meta.size !== 8) || !meta.littleEndian) {
    throw invalid(`dataset ${dataset.path} must be little-endian float32 or float64, received dtype ${JSON.stringify(dataset.dtype)}`, { layer, weight: weightName });
  }
  const shape = dataset.shape ?? [];
  const value = dataset.value;
  const count = shape.reduce((a, b) => a * b, 1);
  if (!(value instanceof Float32Array || value instanceof Float64Array) || value.length !== count) {
    throw invalid(`dataset ${dataset.path} of shape [${shape.join(',')}] did not read as ${count} floats`, { layer, weight: weightName });
  }
  return { name: weightName, shape, data: value instanceof Float32Array ? value : Float32Array.from(value) };
}

function readOpenFile(file: Group): KerasWeightFile {
  const root = weightRoot(file);
  const layerNames = readStringsAttr(root, 'layer_names') ?? [];
  const layers: KerasLayerWeights[] = [];
  for (const layer of layerNames) {
    const group = root.get(layer);
    if (!(group instanceof h5wasm.Group)) throw invalid(`layer "${layer}" is listed in layer_names but ${root.path} has no group of that name`, { layer });
    const weightNames = readStringsAttr(group, 'weight_names');
    if (weightNames === undefined) throw invalid(`group ${group.path} has no weight_names attribute`, { layer });
    if (weightNames.length > 0) layers.push({ name: layer, weights: weightNames.map((w) => readWeight(group, layer, w)) });
  }
  const backend = readScalarString(root, 'backend') ?? readScalarString(file, 'backend');
  const kerasVersion = readScalarString(root, 'keras_version') ?? readScalarString(file, 'keras_version');
  return { layerNames, attrs: { ...(backend !== undefined && { backend }), ...(kerasVersion !== undefined && { kerasVersion }) }, layers };
}

/** Opens and reads an HDF5 file; `label` names the input in messages (a path, or "the input bytes"). */
async function readAt(absolute: string, label: string): Promise<KerasWeightFile> {
  const lib = await h5();
  let file: H5File;
  try {
    file = new lib.File(absolute, 'r');
  } catch (error) {
    throw invalid(`${label}: not a readable HDF5 file (${hdf5Reason(error)})`);
  }
  try {
    return readOpenFile(file);
  } catch (error) {
    if (error instanceof NasnetError) throw new NasnetError(error.code, error.message.replace('readKerasWeights: ', `readKerasWeights: ${label}: `), error.details);
    throw invalid(`${label}: corrupt HDF5 data (${hdf5Reason(error)})`);
  } finally {
    file.close();
  }
}

/** Reads a Keras weight file at `path` in place (h5wasm reads the host file; nothing is copied first). */
export async function readKerasWeightsFile(path: string): Promise<KerasWeightFile> {
  const absolute = resolve(path);
  try {
    const info = await stat(absolute);
    if (!info.isFile()) throw new Error('not a regular file');
  } catch (error) {
    throw new NasnetError('IO_ERROR', `readKerasWeights: cannot read ${path}: ${(error as Error).message}`, { path });
  }
  return readAt(absolute, path);
}

/** Runs `fn` with a fresh private directory that is removed afterwards, whatever happens. */
async function withTempDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'nasnet-h5-'));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Reads a Keras weight file from its bytes (through a private temporary file). */
export async function readKerasWeights(bytes: Uint8Array): Promise<KerasWeightFile> {
  return withTempDir(async (dir) => {
    const path = join(dir, 'weights.h5');
    await writeFile(path, bytes);
    return readAt(path, 'the input bytes');
  });
}

/** Writes a string-list attr as fixed-length ASCII, split like Keras' save_attributes_to_hdf5_group. */
function writeStringsAttr(group: Group, name: string, values: readonly string[]): void {
  if (values.length === 0) {
    group.create_attribute(name, new Float64Array(0), [0], '<d');
    return;
  }
  const width = Math.max(1, ...values.map((v) => Buffer.byteLength(v)));
  if (width > HDF5_OBJECT_HEADER_LIMIT) throw new NasnetError('INVALID_ARGUMENT', `writeKerasWeights: a ${name} entry is longer than ${HDF5_OBJECT_HEADER_LIMIT} bytes`);
  let chunks = 1;
  while (Math.ceil(values.length / chunks) * width > HDF5_OBJECT_HEADER_LIMIT) chunks++;
  if (chunks === 1) {
    group.create_attribute(name, [...values], [values.length], `A${width}`);
    return;
  }
  // numpy.array_split: the first (length % chunks) pieces get one extra item
  const base = Math.floor(values.length / chunks);
  const extra = values.length % chunks;
  for (let chunk = 0, start = 0; chunk < chunks; chunk++) {
    const size = base + (chunk < extra ? 1 : 0);
    group.create_attribute(`${name}${chunk}`, values.slice(start, start + size), [size], `A${width}`);
    start += size;
  }
}

function checkWriteInput(file: KerasWeightFile): void {
  const listed = new Set<string>();
  for (const name of file.layerNames) {
    if (name === '' || name.includes('/') || name === '.') throw new NasnetError('INVALID_ARGUMENT', `writeKerasWeights: layer name ${JSON.stringify(name)} cannot name an HDF5 group`);
    if (listed.has(name)) throw new NasnetError('INVALID_ARGUMENT', `writeKerasWeights: layer "${name}" appears twice in layerNames`);
    listed.add(name);
  }
  const written = new Set<string>();
  for (const layer of file.layers) {
    if (!listed.has(layer.name)) throw new NasnetError('INVALID_ARGUMENT', `writeKerasWeights: layer "${layer.name}" has weights but is not in layerNames`);
    if (written.has(layer.name)) throw new NasnetError('INVALID_ARGUMENT', `writeKerasWeights: layer "${layer.name}" appears twice in layers`);
    written.add(layer.name);
    for (const w of layer.weights) {
      const count = w.shape.reduce((a, b) => a * b, 1);
      if (w.data.length !== count) {
        throw new NasnetError('INVALID_ARGUMENT', `writeKerasWeights: weight "${w.name}" of layer "${layer.name}" has shape [${w.shape.join(',')}] (${count} values) but ${w.data.length} values`);
      }
    }
  }
}

/** Creates the groups along a '/'-separated weight name (h5py does this implicitly) and returns the parent. */
function parentGroup(group: Group, weightName: string): { parent: Group; leaf: string } {
  const parts = weightName.split('/');
  const leaf = parts.pop() as string;
  let parent = group;
  for (const part of parts) {
    const child = parent.get(part);
    parent = child instanceof h5wasm.Group ? child : parent.create_group(part);
  }
  return { parent, leaf };
}

/** Writes `file` to `path` atomically (a temporary sibling renamed into place). */
export async function writeKerasWeightsFile(file: KerasWeightFile, path: string): Promise<void> {
  checkWriteInput(file);
  const lib = await h5();
  const target = resolve(path);
  const temporary = join(dirname(target), `.${Date.now()}-${process.pid}-${Math.random().toString(36).slice(2)}.h5.tmp`);
  try {
    let out: H5File;
    try {
      out = new lib.File(temporary, 'w');
    } catch (error) {
      throw new NasnetError('IO_ERROR', `writeKerasWeights: cannot create ${path} (${hdf5Reason(error)})`, { path });
    }
    try {
      writeStringsAttr(out, 'layer_names', file.layerNames);
      if (file.attrs.backend !== undefined) out.create_attribute('backend', file.attrs.backend, [], `A${Math.max(1, file.attrs.backend.length)}`);
      const version = file.attrs.kerasVersion;
      if (version !== undefined) out.create_attribute('keras_version', version, [], `A${Math.max(1, version.length)}`);
      const byName = new Map(file.layers.map((layer) => [layer.name, layer.weights]));
      for (const name of file.layerNames) {
        const group = out.create_group(name);
        const weights = byName.get(name) ?? [];
        writeStringsAttr(group, 'weight_names', weights.map((w) => w.name));
        for (const w of weights) {
          const { parent, leaf } = parentGroup(group, w.name);
          parent.create_dataset({ name: leaf, data: w.data, shape: w.shape, dtype: '<f' });
        }
      }
    } catch (error) {
      if (error instanceof NasnetError) throw error;
      throw new NasnetError('IO_ERROR', `writeKerasWeights: writing ${path} failed (${hdf5Reason(error)})`, { path });
    } finally {
      out.close();
    }
    await rename(temporary, target);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
}

/** Writes `file` in the Keras 2 legacy layout and returns the bytes. */
export async function writeKerasWeights(file: KerasWeightFile): Promise<Uint8Array> {
  return withTempDir(async (dir) => {
    const path = join(dir, 'weights.h5');
    await writeKerasWeightsFile(file, path);
    return new Uint8Array(await readFile(path));
  });
}
