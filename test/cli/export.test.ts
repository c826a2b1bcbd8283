import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { defaultClassifierPath, defaultDetectorPath } from '../../src/api/defaults.js';
import { main } from '../../src/cli/export.js';
import { EXIT } from '../../core/errors.js';
import { readOnnxSignature } from '../../src/onnx/triton.js';
import { runCli } from '../helpers/cli.js';

let dir: string;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'export-cli-'));
});

after(() => rmSync(dir, { recursive: true, force: true }));

/** Input and output names as onnxruntime reads them from `path`. */
async function ioNames(path: string): Promise<{ inputs: readonly string[]; outputs: readonly string[] }> {
  const session = await ort.InferenceSession.create(path);
  try {
    return { inputs: session.inputNames, outputs: session.outputNames };
  } finally {
    await session.release();
  }
}

test('--format onnx writes the default classifier: opset 17, image [batch,32,32,3] -> probs [batch,10]', async () => {
  const out = join(dir, 'classifier.onnx');
  const result = await runCli(main, '--format', 'onnx', '--out', out);
  assert.equal(result.code, EXIT.OK, result.stderr);
  assert.equal(result.stdout, `wrote ${out}\n`);
  assert.deepEqual(readOnnxSignature(readFileSync(out)), {
    inputs: [{ name: 'image', elemType: 1, dims: ['batch', 32, 32, 3] }],
    outputs: [{ name: 'probs', elemType: 1, dims: ['batch', 10] }],
    opset: 17,
  });
  assert.deepEqual(await ioNames(out), { inputs: ['image'], outputs: ['probs'] });
});

test('--format triton honours --name, --max-batch-size, --max-queue-delay-us and --instances', async () => {
  const repo = join(dir, 'repo-classifier');
  const result = await runCli(main, '--format', 'triton', '--out', repo, '--weights', defaultClassifierPath(), '--name', 'shapes',
    '--max-batch-size', '4', '--max-queue-delay-us', '500', '--instances', '2');
  assert.equal(result.code, EXIT.OK, result.stderr);
  assert.deepEqual(readdirSync(join(repo, 'shapes')).sort(), ['1', 'config.pbtxt', 'labels.txt']);
  const config = readFileSync(join(repo, 'shapes', 'config.pbtxt'), 'utf8');
  assert.match(config, /^name: "shapes"\nplatform: "onnxruntime_onnx"\nmax_batch_size: 4\n/);
  assert.match(config, /dynamic_batching \{\n {2}preferred_batch_size: \[ 2, 4 \]\n {2}max_queue_delay_microseconds: 500\n\}/);
  assert.match(config, /instance_group \[\n {2}\{\n {4}count: 2\n {4}kind: KIND_CPU\n/);
});

test('detection: --format onnx writes rpn.onnx and head.onnx; --format triton two models (task read from the checkpoint)', async () => {
  const out = join(dir, 'detector-onnx');
  const onnx = await runCli(main, '--task', 'detection', '--out', out);
  assert.equal(onnx.code, EXIT.OK, onnx.stderr);
  assert.deepEqual(readdirSync(out).sort(), ['head.onnx', 'rpn.onnx']);
  const rpn = await ioNames(join(out, 'rpn.onnx'));
  const head = await ioNames(join(out, 'head.onnx'));
  assert.equal(rpn.inputs[0], 'image');
  assert.ok(rpn.outputs.includes('features') && head.inputs.includes('features'), 'the head reads the features the rpn writes');
  assert.deepEqual(head.outputs, ['class_logits', 'box_deltas']);

  const repo = join(dir, 'repo-detector');
  const triton = await runCli(main, '--format', 'triton', '--out', repo, '--weights', defaultDetectorPath());
  assert.equal(triton.code, EXIT.OK, triton.stderr);
  assert.deepEqual(readdirSync(repo).sort(), ['nasnet_detector_head', 'nasnet_detector_rpn']);
  for (const [model, names] of [['nasnet_detector_rpn', rpn], ['nasnet_detector_head', head]] as const) {
    const config = readFileSync(join(repo, model, 'config.pbtxt'), 'utf8');
    const section = (kind: string) => [...config.split(`${kind} [`)[1]!.split('\n]')[0]!.matchAll(/^ {4}name: "([^"]+)"/gm)].map((m) => m[1]);
    assert.deepEqual(section('input'), [...names.inputs], model);
    assert.deepEqual(section('output'), [...names.outputs], model);
    assert.ok(existsSync(join(repo, model, '1', 'model.onnx')));
  }
  // class_logits columns: background, then the checkpoint's class names
  const modelJson = JSON.parse(readFileSync(join(defaultDetectorPath(), 'model.json'), 'utf8')) as { config: { model: { classNames: string[] } } };
  assert.deepEqual(readFileSync(join(repo, 'nasnet_detector_head', 'labels.txt'), 'utf8').trimEnd().split('\n'), ['background', ...modelJson.config.model.classNames]);
  assert.match(readFileSync(join(repo, 'nasnet_detector_head', 'config.pbtxt'), 'utf8'), /name: "class_logits"\n.*\n.*\n {4}label_filename: "labels.txt"/);
});

test('bad command lines exit 2, unreadable weights 3; --help documents the graphs', async () => {
  const cases: [string[], number, RegExp][] = [
    [['--format', 'onnx'], EXIT.USAGE, /--out is required/],
    [['--format', 'savedmodel', '--out', 'x'], EXIT.USAGE, /--format must be one of onnx, triton; received "savedmodel"/],
    [['--out', join(dir, 'model.txt')], EXIT.USAGE, /--out must be a \.onnx file/],
    [['--out', join(dir, 'x.onnx'), '--task', 'detection', '--weights', defaultClassifierPath()], EXIT.USAGE, /--task detection but .* holds a classification model/],
    [['--out', join(dir, 'x.onnx'), '--max-batch-size', '0'], EXIT.USAGE, /--max-batch-size must be an integer >= 1; received "0"/],
    [['--out', join(dir, 'x.onnx'), 'extra'], EXIT.USAGE, /Unexpected argument/],
    [['--out', join(dir, 'x.onnx'), '--weights', join(dir, 'missing.h5')], EXIT.IO, /cannot read --weights .*missing\.h5/],
  ];
  for (const [argv, code, pattern] of cases) {
    const result = await runCli(main, ...argv);
    assert.equal(result.code, code, `${argv.join(' ')}: ${result.stderr}`);
    assert.match(result.stderr, pattern);
  }
  const help = await runCli(main, '--help');
  assert.equal(help.code, EXIT.OK);
  assert.match(help.stdout, /output "probs" float32 \[N, K\] softmax probabilities/);
});

test('--quantize int8 --calibrate DIR writes a QDQ graph with the same signature; without --calibrate or for a detector: exit 2', async () => {
  const images = join(dir, 'calibration');
  const { generateSyntheticClasses } = await import('../../data/synthetic_classes.js');
  await generateSyntheticClasses({ outDir: images, trainPerClass: 3, valPerClass: 0, seed: 9, size: 32 });
  const float = join(dir, 'classifier.onnx');
  if (!existsSync(float)) assert.equal((await runCli(main, '--out', float)).code, EXIT.OK);
  const out = join(dir, 'classifier_int8.onnx');
  const result = await runCli(main, '--out', out, '--quantize', 'int8', '--calibrate', images, '--calibration-images', '20');
  assert.equal(result.code, EXIT.OK, result.stderr);
  const bytes = readFileSync(out);
  assert.deepEqual(readOnnxSignature(bytes), readOnnxSignature(readFileSync(float)));
  assert.ok(bytes.includes(Buffer.from('QuantizeLinear')) && bytes.includes(Buffer.from('DequantizeLinear')));
  assert.ok(bytes.length < readFileSync(float).length / 2, 'int8 weights: under half the float graph');
  for (const args of [['--out', out, '--quantize', 'int8'], ['--out', out, '--quantize', 'int4', '--calibrate', images], ['--out', join(dir, 'det'), '--task', 'detection', '--quantize', 'int8', '--calibrate', images]]) {
    const bad = await runCli(main, ...args);
    assert.equal(bad.code, EXIT.USAGE, `${args.join(' ')}: ${bad.stderr}`);
  }
});
