// A TF Object Detection API export directory (the replica: pipeline.config + model.ckpt.*) through the
// library API (both engines), `nasnet detect --weights DIR`, `nasnet export`, and POST /detect of the
// service (`--detector DIR`), each against the replica's reference detections (COCO id = class + 1, boxes
// in original pixels, scores). The image is the exact uint8 array the OD API graph saw, as a PNG.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { initEngine } from '../../core/engine.js';
import { encodePng } from '../../core/image_io.js';
import { NasnetError } from '../../core/errors.js';
import { loadDetector } from '../../src/api/detector.js';
import type { Detection, Detector } from '../../src/api/types.js';
import { main as detectMain } from '../../src/cli/detect.js';
import { main as exportMain } from '../../src/cli/export.js';
import { cocoCategoriesContiguous } from '../../src/models/labels.js';
import { FRCNN_NAS_COCO_KIND, loadDetector as loadRegistered, resolveModelKind } from '../../src/models/builtin.js';
import { tempDir } from '../data/temp.js';
import { runCli } from '../helpers/cli.js';
import { ODAPI_DIR, loadReference } from '../detection/odapi/reference.js';
import { imagePart, multipart, readyApp } from '../server/helpers.js';

const root = tempDir('odapi-detector');
const dir = join(root, 'faster_rcnn_nas_replica');
const pngPath = join(root, 'image.png');
let png: Buffer;
let expected: { bbox: number[]; categoryId: number; score: number }[];

before(async () => {
  await initEngine({ backend: 'wasm' });
  await mkdir(dir, { recursive: true });
  for (const f of ['pipeline.config', 'checkpoint', 'model.ckpt.index', 'model.ckpt.data-00000-of-00001']) await copyFile(join(ODAPI_DIR, f), join(dir, f));
  const ref = await loadReference();
  png = await encodePng({ data: ref.get('image')!.data as Uint8Array, width: 512, height: 600 });
  await writeFile(pngPath, png);
  const boxes = ref.get('det_detection_boxes')!.data as Float32Array;
  const classes = ref.get('det_detection_classes')!.data as Float32Array;
  const scores = ref.get('det_detection_scores')!.data as Float32Array;
  expected = Array.from(scores, (score, i) => {
    const [y1, x1, y2, x2] = boxes.subarray(4 * i, 4 * i + 4) as unknown as number[];
    return { bbox: [x1! * 512, y1! * 600, (x2! - x1!) * 512, (y2! - y1!) * 600], categoryId: classes[i]! + 1, score };
  });
});

const names = new Map(cocoCategoriesContiguous().map((c) => [c.id, c.name]));

function assertReference(detections: readonly Detection[]): void {
  assert.equal(detections.length, expected.length);
  detections.forEach((d, i) => {
    const e = expected[i]!;
    assert.equal(d.categoryId, e.categoryId, `detection ${i}`);
    assert.equal(d.label, names.get(e.categoryId) ?? 'N/A');
    assert.ok(Math.abs(d.score - e.score) <= 1e-4, `score ${d.score} vs ${e.score}`);
    d.bbox.forEach((v, j) => assert.ok(Math.abs(v - e.bbox[j]!) <= 0.5, `bbox ${d.bbox} vs ${e.bbox}`));
  });
}

const ALL = { minScore: 0, maxDetections: 100 };

describe('loadDetector on an OD API export directory', () => {
  let onnx: Detector;
  before(async () => {
    onnx = await loadDetector({ weights: dir });
  });
  after(() => onnx?.dispose());

  test('onnx engine: the reference detections with COCO ids and names; the graphs cached beside the weights', async () => {
    const { detections, image } = await onnx.detect(png, ALL);
    assertReference(detections);
    assert.ok(detections.some((d) => d.label !== 'N/A'));
    assert.deepEqual([image.width, image.height, image.inputWidth, image.inputHeight], [512, 600, 320, 320]);
    assert.equal(onnx.info.numClasses, 90);
    assert.ok((await stat(join(dir, 'onnx-cache'))).isDirectory());
    const few = await onnx.detect(png, { minScore: 0.2, maxDetections: 3 });
    assert.ok(few.detections.length <= 3 && few.detections.every((d) => d.score >= 0.2));
  });

  test('tfjs engine: the same detections', async () => {
    const tfjs = await loadDetector({ weights: dir, engine: 'tfjs' });
    try {
      assertReference((await tfjs.detect(png, ALL)).detections);
    } finally {
      tfjs.dispose();
    }
  });

  test('a corrupted checkpoint is refused with a crc error naming the tensor', async () => {
    const bad = join(root, 'corrupt');
    await mkdir(bad, { recursive: true });
    for (const f of ['pipeline.config', 'checkpoint', 'model.ckpt.index']) await copyFile(join(ODAPI_DIR, f), join(bad, f));
    const data = await readFile(join(ODAPI_DIR, 'model.ckpt.data-00000-of-00001'));
    data[data.length - 5]! ^= 0x10;
    await writeFile(join(bad, 'model.ckpt.data-00000-of-00001'), data);
    await assert.rejects(loadDetector({ weights: bad, onnxCache: false }), (e: unknown) => e instanceof NasnetError && e.code === 'CHECKPOINT_INVALID' && /crc32c mismatch for tensor /.test(e.message));
  });
});

describe('CLI and service on an OD API export directory', () => {
  test('nasnet detect IMAGE --weights DIR prints the reference detections', async () => {
    const result = await runCli(detectMain, pngPath, '--weights', dir, '--min-score', '0');
    assert.equal(result.code, 0, result.stderr);
    const [entry] = JSON.parse(result.stdout) as { image: string; detections: Detection[] }[];
    assert.equal(entry!.image, pngPath);
    assertReference(entry!.detections);
  });

  test('nasnet export --weights DIR writes the two graphs', async () => {
    const out = join(root, 'exported');
    const result = await runCli(exportMain, '--weights', dir, '--out', out);
    assert.equal(result.code, 0, result.stderr);
    for (const graph of ['rpn', 'head']) assert.ok((await stat(join(out, `${graph}.onnx`))).size > 100_000);
  });

  test('the registry: a path is the "directory" kind; frcnn-nas-coco alone is the cached name (uncached: the fetch command)', async () => {
    assert.equal(resolveModelKind('detection', dir), 'directory');
    assert.equal(resolveModelKind('detection', './models/x'), 'directory');
    const context = { modelsDir: root, maxPixels: 4_000_000, engine: 'wasm' };
    const savedHome = process.env.NASNET_HOME;
    process.env.NASNET_HOME = join(root, 'empty-cache');
    try {
      await assert.rejects(loadRegistered({ kind: FRCNN_NAS_COCO_KIND }, context), /WEIGHTS_UNAVAILABLE|nasnet weights fetch frcnn-nas-coco/);
    } finally {
      if (savedHome === undefined) delete process.env.NASNET_HOME;
      else process.env.NASNET_HOME = savedHome;
    }
    const named = await loadRegistered({ kind: FRCNN_NAS_COCO_KIND, weights: 'faster_rcnn_nas_replica' }, context); // relative to modelsDir
    try {
      assert.equal(named.info.name, FRCNN_NAS_COCO_KIND);
      assertReference((await named.detect(png, ALL)).detections);
    } finally {
      named.dispose();
    }
  });

  test('POST /detect with --detector DIR answers the reference detections', async () => {
    const app = await readyApp({ detector: { kind: dir } });
    try {
      const response = await app.inject({ method: 'POST', url: '/detect?minScore=0&maxDetections=100', ...multipart([imagePart(png)]) });
      assert.equal(response.statusCode, 200, response.body);
      const body = response.json() as { detections: Detection[]; image: { width: number; height: number } };
      assertReference(body.detections);
      assert.deepEqual(body.image, { width: 512, height: 600 });
      // The DeepStack route: COCO names and rounded corners of the same detections.
      const deepstack = await app.inject({ method: 'POST', url: '/v1/vision/detection', ...multipart([imagePart(png), { name: 'min_confidence', value: '0.3' }]) });
      assert.equal(deepstack.statusCode, 200, deepstack.body);
      const predictions = (deepstack.json() as { predictions: { label: string; x_min: number; y_max: number; confidence: number }[] }).predictions;
      const strong = expected.filter((e) => e.score >= 0.3);
      assert.equal(predictions.length, strong.length);
      predictions.forEach((p, i) => {
        assert.equal(p.label, names.get(strong[i]!.categoryId) ?? 'N/A');
        assert.equal(p.x_min, Math.round(strong[i]!.bbox[0]!));
      });
    } finally {
      await app.close();
    }
  });
});
