import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import sharp from 'sharp';
import * as tfl from '@tensorflow/tfjs-layers';
import { exportClassifier, loadClassifier, CLASSIFIER_ONNX_INPUT, CLASSIFIER_ONNX_OUTPUT, type ClassifierExport } from '../../src/api/classifier.js';
import { defaultClassifierPath } from '../../src/api/defaults.js';
import { initEngine } from '../../core/engine.js';
import { NasnetError } from '../../core/errors.js';
import { fitRgb } from '../../core/image_io.js';
import { packageRoot } from '../../core/paths.js';
import { exportLayersModel } from '../../src/onnx/index.js';
import { readOnnxSignature, tritonConfig, writeTritonModel, type OnnxSignature } from '../../src/onnx/triton.js';

// ---- a protobuf text-format reader, just enough for config.pbtxt: every field maps to its list of values
type PbScalar = string | number;
interface PbMessage {
  [field: string]: (PbScalar | PbMessage)[];
}

function tokenize(text: string): string[] {
  const tokens: string[] = [];
  const pattern = /\s+|#[^\n]*|("(?:[^"\\]|\\.)*")|([{}[\]:,])|([A-Za-z_][A-Za-z0-9_.]*|-?[0-9][0-9.eE+-]*)/y;
  while (pattern.lastIndex < text.length) {
    const at = pattern.lastIndex;
    const match = pattern.exec(text);
    if (match === null) throw new Error(`pbtxt: unexpected character at ${at}: ${JSON.stringify(text.slice(at, at + 10))}`);
    const token = match[1] ?? match[2] ?? match[3];
    if (token !== undefined) tokens.push(token);
  }
  return tokens;
}

function parsePbtxt(text: string): PbMessage {
  const tokens = tokenize(text);
  let i = 0;
  const expect = (token: string) => assert.equal(tokens[i++], token, `pbtxt: expected ${token} at token ${i}`);
  const scalar = (): PbScalar => {
    const token = tokens[i++] as string;
    if (token.startsWith('"')) return JSON.parse(token) as string;
    if (/^-?[0-9]/.test(token)) return Number(token);
    assert.match(token, /^[A-Z_][A-Z0-9_]*$/, `pbtxt: bad value ${token}`); // enum
    return token;
  };
  const value = (): PbScalar | PbMessage => {
    if (tokens[i] !== '{') return scalar();
    expect('{');
    const inner = message('}');
    expect('}');
    return inner;
  };
  const message = (end: string | undefined): PbMessage => {
    const out: PbMessage = {};
    while (i < tokens.length && tokens[i] !== end) {
      const name = tokens[i++] as string;
      assert.match(name, /^[a-z_][a-z0-9_]*$/, `pbtxt: bad field name ${name}`);
      if (tokens[i] === ':') i++;
      const values = (out[name] ??= []);
      if (tokens[i] === '[') {
        i++;
        while (tokens[i] !== ']') {
          values.push(value());
          if (tokens[i] === ',') i++;
        }
        expect(']');
      } else {
        values.push(value());
      }
    }
    return out;
  };
  const parsed = message(undefined);
  assert.equal(i, tokens.length);
  return parsed;
}

const one = (message: PbMessage, field: string): PbScalar | PbMessage => {
  assert.equal(message[field]?.length, 1, `${field} must occur once`);
  return message[field]![0]!;
};

let root: string;
let exported: ClassifierExport;

before(async () => {
  await initEngine({ backend: 'cpu' });
  root = mkdtempSync(join(tmpdir(), 'triton-'));
  exported = await exportClassifier({ weights: defaultClassifierPath() });
});

after(() => rmSync(root, { recursive: true, force: true }));

test('readOnnxSignature decodes an export\'s input/output names, types, dims and opset', () => {
  const input = tfl.input({ shape: [2] });
  const layer = tfl.layers.dense({ units: 3 });
  const model = tfl.model({ inputs: input, outputs: layer.apply(input) as tfl.SymbolicTensor });
  const bytes = exportLayersModel(model, { inputNames: ['x'], outputNames: ['y'] });
  model.dispose();
  assert.deepEqual(readOnnxSignature(bytes), {
    inputs: [{ name: 'x', elemType: 1, dims: ['batch', 2] }],
    outputs: [{ name: 'y', elemType: 1, dims: ['batch', 3] }],
    opset: 17,
  });
  assert.throws(() => readOnnxSignature(Uint8Array.from([8, 8])), (e: unknown) => e instanceof NasnetError && e.code === 'INVALID_DATA');
});

test('config.pbtxt of a graph without a shared batch dim: max_batch_size 0, full dims, exact text', () => {
  const signature: OnnxSignature = {
    inputs: [{ name: 'features', elemType: 1, dims: [1, 'h', 'w', 8] }, { name: 'rois', elemType: 1, dims: ['r', 4] }],
    outputs: [{ name: 'class_logits', elemType: 1, dims: ['r', 3] }, { name: 'box_deltas', elemType: 1, dims: ['r', 12] }],
    opset: 17,
  };
  const text = tritonConfig(signature, { name: 'head', instances: 2, labels: { output: 'class_logits', names: ['background', 'a', 'b'] } });
  assert.equal(text, `name: "head"
platform: "onnxruntime_onnx"
max_batch_size: 0
input [
  {
    name: "features"
    data_type: TYPE_FP32
    dims: [ 1, -1, -1, 8 ]
  },
  {
    name: "rois"
    data_type: TYPE_FP32
    dims: [ -1, 4 ]
  }
]
output [
  {
    name: "class_logits"
    data_type: TYPE_FP32
    dims: [ -1, 3 ]
    label_filename: "labels.txt"
  },
  {
    name: "box_deltas"
    data_type: TYPE_FP32
    dims: [ -1, 12 ]
  }
]
instance_group [
  {
    count: 2
    kind: KIND_CPU
  }
]
`);
  const parsed = parsePbtxt(text);
  assert.deepEqual(parsed.input!.map((i) => (i as PbMessage).dims), [[1, -1, -1, 8], [-1, 4]]);
  const bad = (options: Parameters<typeof tritonConfig>[1], pattern: RegExp) =>
    assert.throws(() => tritonConfig(signature, options), (e: unknown) => e instanceof NasnetError && e.code === 'INVALID_ARGUMENT' && pattern.test(e.message));
  bad({ name: 'head', labels: { output: 'class_logits', names: ['a'] } }, /labels must name each column of output "class_logits" \(3\); received 1/);
  bad({ name: 'a/b' }, /name must match/);
  bad({ name: 'head', instances: 0 }, /instances must be a positive integer/);
});

test('the classifier repository: config.pbtxt parses and matches model.onnx; it runs like the tfjs engine (1e-4)', async (t) => {
  const files = await writeTritonModel(root, exported.onnx, {
    name: 'nasnet_classifier', imageInputs: [CLASSIFIER_ONNX_INPUT], labels: { output: CLASSIFIER_ONNX_OUTPUT, names: exported.labels.map((l) => l.label) },
  });
  const dir = join(root, 'nasnet_classifier');
  assert.deepEqual(files.sort(), [join(dir, '1', 'model.onnx'), join(dir, 'config.pbtxt'), join(dir, 'labels.txt')].sort());
  const config = parsePbtxt(readFileSync(join(dir, 'config.pbtxt'), 'utf8'));
  assert.equal(one(config, 'name'), 'nasnet_classifier');
  assert.equal(one(config, 'platform'), 'onnxruntime_onnx');
  assert.equal(one(config, 'max_batch_size'), 8);
  const batching = one(config, 'dynamic_batching') as PbMessage;
  assert.deepEqual(batching.preferred_batch_size, [4, 8]);
  assert.deepEqual(batching.max_queue_delay_microseconds, [2000]);
  assert.deepEqual(config.instance_group, [{ count: [1], kind: ['KIND_CPU'] }]);

  // names, types and dims (batch dim dropped) against what onnxruntime reads from the same file
  const session = await ort.InferenceSession.create(join(dir, '1', 'model.onnx'));
  try {
    const check = (entries: (PbScalar | PbMessage)[], metadata: readonly ort.InferenceSession.ValueMetadata[]) => {
      assert.equal(entries.length, metadata.length);
      entries.forEach((entry, k) => {
        const meta = metadata[k] as ort.InferenceSession.TensorValueMetadata;
        const e = entry as PbMessage;
        assert.equal(one(e, 'name'), meta.name);
        assert.equal(one(e, 'data_type'), meta.type === 'float32' ? 'TYPE_FP32' : `unexpected ${meta.type}`);
        assert.equal(meta.shape[0], 'batch');
        assert.deepEqual(e.dims, meta.shape.slice(1));
      });
    };
    check(config.input!, session.inputMetadata);
    check(config.output!, session.outputMetadata);
    assert.deepEqual(config.input!.map((i) => one(i as PbMessage, 'format')), ['FORMAT_NHWC']);
    assert.deepEqual(config.input!.map((i) => (i as PbMessage).dims), [[32, 32, 3]]);
    const labelFile = one(config.output![0] as PbMessage, 'label_filename') as string;
    assert.deepEqual(readFileSync(join(dir, labelFile), 'utf8').trimEnd().split('\n'), ['checker', 'circle', 'cross', 'dots', 'grid', 'ring', 'square', 'star', 'stripes', 'triangle']);

    // two real images in one batch: the photo and a crop of it
    const photo = readFileSync(join(packageRoot(), 'test', 'fixtures', 'image_io', 'photo_grace_hopper.jpg'));
    const crop = await sharp(photo).extract({ left: 100, top: 40, width: 240, height: 300 }).png().toBuffer();
    const size = exported.config.inputSize;
    const batch = new Float32Array(2 * size * size * 3);
    for (const [n, image] of [photo, crop].entries()) {
      const fitted = await fitRgb(image, { width: size, height: size, mode: 'stretch', kernel: exported.resizeKernel });
      fitted.image.data.forEach((v, i) => (batch[n * size * size * 3 + i] = v / 127.5 - 1));
    }
    const out = await session.run({ image: new ort.Tensor('float32', batch, [2, size, size, 3]) });
    const probs = out.probs!.data as Float32Array;
    assert.deepEqual(out.probs!.dims, [2, 10]);

    const reference = await loadClassifier({ weights: defaultClassifierPath(), engine: 'tfjs' });
    let maxErr = 0;
    try {
      for (const [n, image] of [photo, crop].entries()) {
        const { predictions } = await reference.classify(image, { topK: 10 });
        for (const p of predictions) maxErr = Math.max(maxErr, Math.abs((probs[n * 10 + p.classId] as number) - p.score));
      }
    } finally {
      reference.dispose();
    }
    assert.ok(maxErr < 1e-4, `max abs error ${maxErr}`);
    t.diagnostic(`max abs error onnx vs tfjs: ${maxErr.toExponential(2)}`);
    // the two images are told apart (a batch of copies would pass the comparison trivially)
    assert.ok(Math.max(...Array.from({ length: 10 }, (_, k) => Math.abs((probs[k] as number) - (probs[10 + k] as number)))) > 1e-3);
  } finally {
    await session.release();
  }
});
