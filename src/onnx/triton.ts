// Triton Inference Server (and KServe's Triton runtime) model repositories for our ONNX exports.
//
//   <repository>/<model>/config.pbtxt     ModelConfig in protobuf text format (platform "onnxruntime_onnx")
//   <repository>/<model>/labels.txt       one label per output column, when the model classifies
//   <repository>/<model>/1/model.onnx     version 1; Triton's default file name for onnxruntime models
//
// The config is derived from the ONNX graph itself (readOnnxSignature decodes its inputs and outputs), so
// names, data types and dims cannot drift from the model. Field names follow Triton's model_config.proto
// (triton-inference-server/common protobuf/model_config.proto: ModelInput, ModelOutput.label_filename,
// ModelDynamicBatching, ModelInstanceGroup.Kind). Batching: when every input and output starts with the
// same named dynamic dimension, that is Triton's batch dimension: max_batch_size > 0, dims omit it and
// requests are batched dynamically. Otherwise the model is not batchable: max_batch_size 0, full dims.
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../../core/atomic_file.js';
import { NasnetError } from '../../core/errors.js';

export interface OnnxTensorSignature {
  readonly name: string;
  /** ONNX TensorProto.DataType (1 float, 7 int64, ...). */
  readonly elemType: number;
  /** A number for a fixed size, a string for a named dynamic dimension, null for an unnamed one. */
  readonly dims: readonly (number | string | null)[];
}

export interface OnnxSignature {
  readonly inputs: readonly OnnxTensorSignature[];
  readonly outputs: readonly OnnxTensorSignature[];
  /** The default-domain opset. */
  readonly opset: number | undefined;
}

/** A read cursor over protobuf wire format: just enough to walk ModelProto down to the value infos. */
class Reader {
  pos = 0;
  constructor(private readonly bytes: Uint8Array, private readonly end = bytes.length) {}

  get done(): boolean {
    return this.pos >= this.end;
  }

  varint(): number {
    let value = 0;
    let scale = 1;
    for (;;) {
      if (this.pos >= this.end) throw new NasnetError('INVALID_DATA', 'readOnnxSignature: truncated varint');
      const byte = this.bytes[this.pos++] as number;
      value += (byte & 0x7f) * scale;
      if (byte < 0x80) return value;
      scale *= 128;
    }
  }

  /** The next field's number and a reader of its payload (length-delimited) or undefined (skipped scalar). */
  field(): { number: number; sub?: Reader; value?: number } {
    const tag = this.varint();
    const wire = tag % 8;
    const number = Math.floor(tag / 8);
    if (wire === 0) return { number, value: this.varint() };
    if (wire === 2) {
      const length = this.varint();
      const start = this.pos;
      this.pos += length;
      if (this.pos > this.end) throw new NasnetError('INVALID_DATA', 'readOnnxSignature: a field runs past the end of the bytes');
      const sub = new Reader(this.bytes, this.pos);
      sub.pos = start;
      return { number, sub };
    }
    if (wire === 1 || wire === 5) {
      this.pos += wire === 1 ? 8 : 4;
      return { number };
    }
    throw new NasnetError('INVALID_DATA', `readOnnxSignature: unsupported wire type ${wire}`);
  }

  string(): string {
    return new TextDecoder().decode(this.bytes.subarray(this.pos, this.end));
  }
}

/** Visits each field of a message. */
function fields(reader: Reader, visit: (number: number, field: { sub?: Reader; value?: number }) => void): void {
  while (!reader.done) {
    const { number, ...field } = reader.field();
    visit(number, field);
  }
}

function readValueInfo(reader: Reader): OnnxTensorSignature {
  let name = '';
  let elemType = 0;
  const dims: (number | string | null)[] = [];
  fields(reader, (n, f) => {
    if (n === 1 && f.sub) name = f.sub.string();
    if (n !== 2 || !f.sub) return;
    fields(f.sub, (t, typeField) => {
      if (t !== 1 || !typeField.sub) return; // TypeProto.tensor_type
      fields(typeField.sub, (k, tensorField) => {
        if (k === 1) elemType = tensorField.value ?? 0;
        if (k !== 2 || !tensorField.sub) return; // TensorShapeProto
        fields(tensorField.sub, (d, dimField) => {
          if (d !== 1 || !dimField.sub) return;
          let dim: number | string | null = null;
          fields(dimField.sub, (v, valueField) => {
            if (v === 1) dim = valueField.value ?? null;
            if (v === 2 && valueField.sub) dim = valueField.sub.string();
          });
          dims.push(dim);
        });
      });
    });
  });
  return { name, elemType, dims };
}

/** The graph inputs (initializers excluded) and outputs of a serialised ONNX model. */
export function readOnnxSignature(bytes: Uint8Array): OnnxSignature {
  const inputs: OnnxTensorSignature[] = [];
  const outputs: OnnxTensorSignature[] = [];
  const initializers = new Set<string>();
  let opset: number | undefined;
  let sawGraph = false;
  fields(new Reader(bytes), (n, f) => {
    if (n === 7 && f.sub) {
      sawGraph = true;
      fields(f.sub, (g, gf) => {
        if (g === 5 && gf.sub) fields(gf.sub, (t, tf) => t === 8 && tf.sub && initializers.add(tf.sub.string()));
        if (g === 11 && gf.sub) inputs.push(readValueInfo(gf.sub));
        if (g === 12 && gf.sub) outputs.push(readValueInfo(gf.sub));
      });
    }
    if (n === 8 && f.sub) {
      let domain = '';
      let version: number | undefined;
      fields(f.sub, (o, of) => {
        if (o === 1 && of.sub) domain = of.sub.string();
        if (o === 2) version = of.value;
      });
      if (domain === '' || domain === 'ai.onnx') opset = version;
    }
  });
  if (!sawGraph) throw new NasnetError('INVALID_DATA', 'readOnnxSignature: the bytes hold no ONNX graph (ModelProto.graph)');
  return { inputs: inputs.filter((i) => !initializers.has(i.name)), outputs, opset };
}

/** ONNX TensorProto.DataType -> Triton DataType (model_config.proto). */
const TRITON_TYPES: Readonly<Record<number, string>> = {
  1: 'TYPE_FP32', 2: 'TYPE_UINT8', 3: 'TYPE_INT8', 4: 'TYPE_UINT16', 5: 'TYPE_INT16', 6: 'TYPE_INT32', 7: 'TYPE_INT64',
  8: 'TYPE_STRING', 9: 'TYPE_BOOL', 10: 'TYPE_FP16', 11: 'TYPE_FP64', 12: 'TYPE_UINT32', 13: 'TYPE_UINT64', 16: 'TYPE_BF16',
};

export interface TritonModelOptions {
  /** The model's name: its directory in the repository; [A-Za-z0-9_.-]. */
  readonly name: string;
  /** Largest batch Triton forms (batchable models; default 8). */
  readonly maxBatchSize?: number;
  /** Batch sizes the dynamic batcher runs at once when it can form them (default [maxBatchSize / 2, maxBatchSize]). */
  readonly preferredBatchSizes?: readonly number[];
  /** How long a request may wait for others to batch with (default 2000 us: small next to a CPU forward). */
  readonly maxQueueDelayMicroseconds?: number;
  /** CPU model instances (default 1; each runs onnxruntime with its own threads). */
  readonly instances?: number;
  /** Inputs that are NHWC images (written with format: FORMAT_NHWC). */
  readonly imageInputs?: readonly string[];
  /** A classification output and its labels, one per column: written to labels.txt, named by label_filename. */
  readonly labels?: { readonly output: string; readonly names: readonly string[] };
}

export const TRITON_LABEL_FILE = 'labels.txt';
export const DEFAULT_MAX_BATCH_SIZE = 8;
export const DEFAULT_MAX_QUEUE_DELAY_US = 2000;

/** The batch dimension's name when every input and output starts with the same named dynamic dim. */
function batchDimension(signature: OnnxSignature): string | undefined {
  const first = [...signature.inputs, ...signature.outputs].map((t) => t.dims[0]);
  const name = first[0];
  return typeof name === 'string' && first.every((d) => d === name) ? name : undefined;
}

function positiveInt(field: string, value: number): number {
  if (!Number.isInteger(value) || value < 1) throw new NasnetError('INVALID_ARGUMENT', `tritonConfig: ${field} must be a positive integer; received ${JSON.stringify(value)}`, { field });
  return value;
}

/** config.pbtxt for an ONNX model with `signature` (Triton's protobuf text format). */
export function tritonConfig(signature: OnnxSignature, options: TritonModelOptions): string {
  if (!/^[A-Za-z0-9_.-]+$/.test(options.name)) {
    throw new NasnetError('INVALID_ARGUMENT', `tritonConfig: name must match [A-Za-z0-9_.-]+ (a directory name); received ${JSON.stringify(options.name)}`, { field: 'name' });
  }
  const batchable = batchDimension(signature) !== undefined;
  const maxBatch = positiveInt('maxBatchSize', options.maxBatchSize ?? DEFAULT_MAX_BATCH_SIZE);
  const labels = options.labels;
  if (labels !== undefined) {
    const output = signature.outputs.find((o) => o.name === labels.output);
    const columns = output?.dims[output.dims.length - 1];
    if (columns !== labels.names.length) {
      throw new NasnetError('INVALID_ARGUMENT', `tritonConfig: labels must name each column of output ${JSON.stringify(labels.output)} (${String(columns)}); received ${labels.names.length} labels`);
    }
  }
  /** One ModelInput / ModelOutput entry; `fields` are the entry's extra `key: value` lines. */
  const tensor = (t: OnnxTensorSignature, fields: Record<string, string | undefined>): string => {
    const type = TRITON_TYPES[t.elemType];
    if (type === undefined) throw new NasnetError('INVALID_ARGUMENT', `tritonConfig: ${t.name} has ONNX data type ${t.elemType}, which Triton does not take`);
    const dims = (batchable ? t.dims.slice(1) : t.dims).map((d) => (typeof d === 'number' ? d : -1));
    const extra = Object.entries(fields).filter(([, v]) => v !== undefined).map(([k, v]) => `    ${k}: ${v}`);
    return ['  {', `    name: ${JSON.stringify(t.name)}`, `    data_type: ${type}`, `    dims: [ ${dims.join(', ')} ]`, ...extra, '  }'].join('\n');
  };
  // FORMAT_NHWC wants exactly 3 dims in the config: only a batchable rank-4 input qualifies
  const isImage = (t: OnnxTensorSignature): boolean => batchable && options.imageInputs?.includes(t.name) === true && t.dims.length === 4;
  const inputs = signature.inputs.map((t) => tensor(t, { format: isImage(t) ? 'FORMAT_NHWC' : undefined }));
  const outputs = signature.outputs.map((t) => tensor(t, { label_filename: t.name === labels?.output ? JSON.stringify(TRITON_LABEL_FILE) : undefined }));
  const lines = [
    `name: ${JSON.stringify(options.name)}`,
    'platform: "onnxruntime_onnx"',
    `max_batch_size: ${batchable ? maxBatch : 0}`,
    `input [\n${inputs.join(',\n')}\n]`,
    `output [\n${outputs.join(',\n')}\n]`,
  ];
  if (batchable) {
    const preferred = (options.preferredBatchSizes ?? [...new Set([Math.max(1, Math.floor(maxBatch / 2)), maxBatch])]).map((b) => positiveInt('preferredBatchSizes', b));
    if (preferred.some((b) => b > maxBatch)) throw new NasnetError('INVALID_ARGUMENT', `tritonConfig: preferredBatchSizes must not exceed maxBatchSize ${maxBatch}; received ${preferred.join(', ')}`);
    const delay = options.maxQueueDelayMicroseconds ?? DEFAULT_MAX_QUEUE_DELAY_US;
    if (!Number.isInteger(delay) || delay < 0) throw new NasnetError('INVALID_ARGUMENT', `tritonConfig: maxQueueDelayMicroseconds must be a non-negative integer; received ${delay}`);
    lines.push(`dynamic_batching {\n  preferred_batch_size: [ ${preferred.join(', ')} ]\n  max_queue_delay_microseconds: ${delay}\n}`);
  }
  lines.push(`instance_group [\n  {\n    count: ${positiveInt('instances', options.instances ?? 1)}\n    kind: KIND_CPU\n  }\n]`);
  return `${lines.join('\n')}\n`;
}

/** Writes one model into a Triton repository (creating it); returns the files written. */
export async function writeTritonModel(repository: string, onnx: Uint8Array, options: TritonModelOptions): Promise<string[]> {
  const config = tritonConfig(readOnnxSignature(onnx), options);
  const dir = join(repository, options.name);
  const files = [join(dir, '1', 'model.onnx'), join(dir, 'config.pbtxt')];
  try {
    await mkdir(join(dir, '1'), { recursive: true });
    await writeFileAtomic(files[0]!, onnx);
    if (options.labels !== undefined) {
      files.push(join(dir, TRITON_LABEL_FILE));
      await writeFileAtomic(files[2]!, `${options.labels.names.map((n) => n.replace(/[\r\n]+/g, ' ')).join('\n')}\n`);
    }
    await writeFileAtomic(files[1]!, config);
  } catch (error) {
    throw new NasnetError('IO_ERROR', `writeTritonModel: cannot write ${dir}: ${(error as Error).message}`, { path: dir });
  }
  return files;
}
