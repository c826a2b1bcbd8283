// Every route, status code and error of the app, through app.inject() (no socket), serving the
// embedded default models (whatever "default" resolves to: the real ones once registered). The
// inference answers are checked against the same models run in this process: the service must return
// exactly what the model computes, in the documented shape.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import type { Classifier, Detector } from '../../src/api/types.js';
import { initEngine } from '../../core/engine.js';
import { SHAPES_DETECTOR_TRAINED_ON, SYNTHETIC_CLASSIFIER_TRAINED_ON, loadClassifier, loadDetector, resolveModelKind } from '../../src/models/builtin.js';
import { DEMO_HTML } from '../../src/server/demo_page.js';
import { imagePart, jpegCard, multipart, pngCard, readyApp, rotatedJpeg, TEST_ENGINE, type ErrorJson } from './helpers.js';

interface ClassifyJson {
  predictions: { classId: number; wnid: string; label: string; score: number }[];
  model: string;
  image: { width: number; height: number };
  timingMs: number;
}

interface DetectJson {
  detections: { bbox: number[]; categoryId: number; label: string; score: number }[];
  model: string;
  image: { width: number; height: number };
  timingMs: number;
}

describe('nasnet service (app.inject)', () => {
  let app: FastifyInstance;
  let classifier: Classifier;
  let detector: Detector;
  let png: Buffer;
  let jpeg: Buffer;

  before(async () => {
    app = await readyApp({ classifier: { kind: 'default' }, detector: { kind: 'default' } });
    const engine = await initEngine({ backend: TEST_ENGINE });
    const context = { modelsDir: '.', maxPixels: 4_000_000, engine: engine.backend };
    classifier = await loadClassifier({ kind: 'default' }, context);
    detector = await loadDetector({ kind: 'default' }, context);
    png = await pngCard();
    jpeg = await jpegCard(120, 80);
  });

  after(async () => {
    await app.close();
    classifier.dispose();
    detector.dispose();
  });

  const expectError = (response: { statusCode: number; json(): unknown }, status: number, code: string): ErrorJson => {
    assert.equal(response.statusCode, status, JSON.stringify(response.json()));
    const body = response.json() as ErrorJson;
    assert.equal(body.error.code, code);
    assert.equal(typeof body.error.message, 'string');
    assert.ok(body.error.message.length > 0);
    return body;
  };

  test('GET /healthz is 200 and echoes x-request-id', async () => {
    const response = await app.inject({ method: 'GET', url: '/healthz', headers: { 'x-request-id': 'req-42' } });
    assert.equal(response.statusCode, 200);
    assert.deepEqual(response.json(), { status: 'ok' });
    assert.equal(response.headers['x-request-id'], 'req-42');
  });

  test('GET /readyz is 200 once the worker has loaded its models', async () => {
    const response = await app.inject({ method: 'GET', url: '/readyz' });
    assert.equal(response.statusCode, 200);
    assert.deepEqual(response.json(), { status: 'ready' });
  });

  test('GET /models describes both models and the pool', async () => {
    const response = await app.inject({ method: 'GET', url: '/models' });
    assert.equal(response.statusCode, 200);
    const body = response.json() as Record<string, Record<string, unknown>>;
    // The embedded defaults are demo models, and say so (issue #15).
    assert.deepEqual(body.classifier, { kind: resolveModelKind('classification', 'default'), ...classifier.info, demo: true, trainedOn: SYNTHETIC_CLASSIFIER_TRAINED_ON });
    assert.deepEqual(body.detector, { kind: resolveModelKind('detection', 'default'), ...detector.info, demo: true, trainedOn: SHAPES_DETECTOR_TRAINED_ON });
    assert.equal(body.demo as unknown, true);
    assert.equal(body.realWeightsCommand as unknown, 'nasnet weights fetch nasnet-mobile');
    assert.equal(body.classifier?.task, 'classification');
    assert.equal(body.detector?.task, 'detection');
    assert.equal(body.workers, 1);
  });

  test('POST /classify (multipart) returns what the model computes', async () => {
    const response = await app.inject({ method: 'POST', url: '/classify?topK=3', ...multipart([imagePart(png)]) });
    assert.equal(response.statusCode, 200);
    const body = response.json() as ClassifyJson;
    const expected = await classifier.classify(png, { topK: 3 });
    assert.equal(body.predictions.length, 3);
    body.predictions.forEach((p, i) => {
      const e = expected.predictions[i]!;
      assert.equal(p.classId, e.classId);
      assert.equal(p.wnid, e.wnid);
      assert.equal(p.label, e.label);
      assert.ok(Math.abs(p.score - e.score) < 1e-6, `score ${p.score} vs ${e.score}`);
    });
    assert.equal(body.model, classifier.info.name);
    assert.deepEqual(body.image, { width: 96, height: 64 });
    assert.ok(body.timingMs > 0);
  });

  test('POST /classify with a raw image/jpeg body equals the multipart answer; topK defaults to 5', async () => {
    const raw = await app.inject({ method: 'POST', url: '/classify', headers: { 'content-type': 'image/jpeg' }, payload: jpeg });
    const form = await app.inject({ method: 'POST', url: '/classify', ...multipart([imagePart(jpeg, 'image/jpeg')]) });
    assert.equal(raw.statusCode, 200);
    const a = raw.json() as ClassifyJson;
    const b = form.json() as ClassifyJson;
    assert.equal(a.predictions.length, 5);
    assert.deepEqual(a.predictions, b.predictions);
    assert.deepEqual(a.image, { width: 120, height: 80 });
  });

  test('POST /detect returns the model detections, COCO xywh in original pixels', async () => {
    const response = await app.inject({
      method: 'POST',
      url: '/detect?minScore=0.05&maxDetections=7',
      headers: { 'content-type': 'application/octet-stream' },
      payload: jpeg,
    });
    assert.equal(response.statusCode, 200);
    const body = response.json() as DetectJson;
    const expected = await detector.detect(jpeg, { minScore: 0.05, maxDetections: 7 });
    assert.equal(body.detections.length, expected.detections.length);
    body.detections.forEach((d, i) => {
      const e = expected.detections[i]!;
      assert.equal(d.categoryId, e.categoryId);
      assert.equal(d.label, e.label);
      assert.ok(Math.abs(d.score - e.score) < 1e-6);
      d.bbox.forEach((v, j) => assert.ok(Math.abs(v - e.bbox[j]!) < 1e-3, `bbox ${d.bbox} vs ${e.bbox}`));
      const [x, y, w, h] = d.bbox as [number, number, number, number];
      assert.ok(x >= 0 && y >= 0 && w > 0 && h > 0 && x + w <= 120 + 1e-3 && y + h <= 80 + 1e-3, `box inside the image: ${d.bbox}`);
    });
    assert.equal(body.model, detector.info.name);
    assert.deepEqual(body.image, { width: 120, height: 80 });
  });

  test('POST /detect reports the EXIF-oriented size (orientation 6 swaps width and height)', async () => {
    const rotated = await rotatedJpeg(60, 30);
    const response = await app.inject({ method: 'POST', url: '/detect?minScore=0', ...multipart([imagePart(rotated, 'image/jpeg')]) });
    assert.equal(response.statusCode, 200);
    const body = response.json() as DetectJson;
    assert.deepEqual(body.image, { width: 30, height: 60 });
    for (const d of body.detections) {
      assert.ok(d.bbox[0]! + d.bbox[2]! <= 30 + 1e-3 && d.bbox[1]! + d.bbox[3]! <= 60 + 1e-3, `box in the oriented frame: ${d.bbox}`);
    }
  });

  test('POST /v1/vision/detection answers in the DeepStack shape with rounded corners', async () => {
    const response = await app.inject({
      method: 'POST',
      url: '/v1/vision/detection',
      ...multipart([imagePart(jpeg, 'image/jpeg'), { name: 'min_confidence', value: '0.05' }]),
    });
    assert.equal(response.statusCode, 200);
    const body = response.json() as { success: boolean; predictions: Record<string, number | string>[] };
    const expected = await detector.detect(jpeg, { minScore: 0.05, maxDetections: 100 });
    assert.equal(body.success, true);
    assert.equal(body.predictions.length, expected.detections.length);
    body.predictions.forEach((p, i) => {
      const { bbox, label, score } = expected.detections[i]!;
      assert.deepEqual(p, {
        label,
        confidence: p.confidence,
        x_min: Math.round(bbox[0]),
        y_min: Math.round(bbox[1]),
        x_max: Math.round(bbox[0] + bbox[2]),
        y_max: Math.round(bbox[1] + bbox[3]),
      });
      assert.ok(Math.abs((p.confidence as number) - score) < 1e-6);
    });
    expectError(
      await app.inject({ method: 'POST', url: '/v1/vision/detection', ...multipart([imagePart(jpeg), { name: 'min_confidence', value: 'high' }]) }),
      400,
      'INVALID_ARGUMENT',
    );
  });

  test('query values are validated: out of range, wrong type and unknown keys are 400', async () => {
    const cases: [string, RegExp][] = [
      ['/classify?topK=0', /topK/],
      ['/classify?topK=1001', /topK/],
      ['/classify?topK=abc', /topK/],
      ['/classify?topK=2.5', /topK/],
      ['/classify?minScore=0.5', /unknown query parameter "minScore" \(allowed: topK\)/],
      ['/detect?minScore=1.5', /minScore/],
      ['/detect?minScore=-0.1', /minScore/],
      ['/detect?maxDetections=0', /maxDetections/],
      ['/detect?bogus=1', /unknown query parameter "bogus"/],
    ];
    for (const [url, message] of cases) {
      const body = expectError(await app.inject({ method: 'POST', url, headers: { 'content-type': 'image/png' }, payload: png }), 400, 'INVALID_ARGUMENT');
      assert.match(body.error.message, message, url);
    }
  });

  test('too large: body over maxBodyBytes (raw and multipart) and image over maxPixels are 413', async () => {
    const big = Buffer.concat([png, Buffer.alloc((1 << 20) + 1)]);
    expectError(await app.inject({ method: 'POST', url: '/classify', headers: { 'content-type': 'image/png' }, payload: big }), 413, 'PAYLOAD_TOO_LARGE');
    expectError(await app.inject({ method: 'POST', url: '/detect', ...multipart([imagePart(big)]) }), 413, 'PAYLOAD_TOO_LARGE');
    const huge = await pngCard(2100, 2000); // 4.2 MP > 4 MP limit of the test config
    const body = expectError(await app.inject({ method: 'POST', url: '/detect', headers: { 'content-type': 'image/png' }, payload: huge }), 413, 'IMAGE_TOO_LARGE');
    assert.match(body.error.message, /2100x2000/);
  });

  test('unsupported types are 415: SVG (declared or sniffed), JSON, text, BMP', async () => {
    const svg = Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="10" height="10"/></svg>');
    expectError(await app.inject({ method: 'POST', url: '/classify', headers: { 'content-type': 'image/svg+xml' }, payload: svg }), 415, 'UNSUPPORTED_MEDIA_TYPE');
    expectError(await app.inject({ method: 'POST', url: '/detect', ...multipart([imagePart(svg, 'image/png')]) }), 415, 'UNSUPPORTED_MEDIA_TYPE');
    const json = expectError(
      await app.inject({ method: 'POST', url: '/classify', headers: { 'content-type': 'application/json' }, payload: '{"image":"x"}' }),
      415,
      'UNSUPPORTED_MEDIA_TYPE',
    );
    assert.match(json.error.message, /application\/json/);
    expectError(await app.inject({ method: 'POST', url: '/detect', headers: { 'content-type': 'text/plain' }, payload: 'hello' }), 415, 'UNSUPPORTED_MEDIA_TYPE');
    const bmp = Buffer.alloc(70);
    bmp.write('BM', 0, 'latin1');
    bmp.writeUInt32LE(40, 14);
    expectError(await app.inject({ method: 'POST', url: '/classify', headers: { 'content-type': 'image/bmp' }, payload: bmp }), 415, 'UNSUPPORTED_MEDIA_TYPE');
  });

  test('corrupt, truncated, empty or missing images are 400', async () => {
    const garbage = Buffer.from('this is not an image at all, just some words');
    expectError(await app.inject({ method: 'POST', url: '/classify', headers: { 'content-type': 'image/jpeg' }, payload: garbage }), 400, 'NOT_AN_IMAGE');
    const truncated = jpeg.subarray(0, Math.floor(jpeg.length / 2));
    expectError(await app.inject({ method: 'POST', url: '/detect', headers: { 'content-type': 'image/jpeg' }, payload: truncated }), 400, 'NOT_AN_IMAGE');
    expectError(await app.inject({ method: 'POST', url: '/detect', ...multipart([imagePart(png.subarray(0, 40))]) }), 400, 'NOT_AN_IMAGE');
    expectError(await app.inject({ method: 'POST', url: '/classify', headers: { 'content-type': 'image/png' }, payload: Buffer.alloc(0) }), 400, 'NOT_AN_IMAGE');
    expectError(await app.inject({ method: 'POST', url: '/classify' }), 400, 'INVALID_ARGUMENT');
    const noField = expectError(
      await app.inject({ method: 'POST', url: '/classify', ...multipart([{ name: 'photo', value: png, filename: 'a.png', contentType: 'image/png' }]) }),
      400,
      'INVALID_ARGUMENT',
    );
    assert.match(noField.error.message, /"image"/);
    const broken = { 'content-type': 'multipart/form-data; boundary=xyz' };
    const malformed = await app.inject({ method: 'POST', url: '/classify', headers: broken, payload: '--xyz\r\nContent-Disposition: form-data; name="image"; filename="a"\r\n\r\nabc' });
    assert.ok(malformed.statusCode >= 400 && malformed.statusCode < 500, `malformed multipart: ${malformed.statusCode}`);
  });

  test('two files in one multipart body are refused (413 files limit)', async () => {
    const response = await app.inject({ method: 'POST', url: '/classify', ...multipart([imagePart(png), imagePart(png)]) });
    expectError(response, 413, 'PAYLOAD_TOO_LARGE');
  });

  test('unknown routes and methods are JSON 404s', async () => {
    expectError(await app.inject({ method: 'GET', url: '/nope' }), 404, 'NOT_FOUND');
    expectError(await app.inject({ method: 'GET', url: '/classify' }), 404, 'NOT_FOUND');
  });

  test('GET /metrics exposes request counts, latency histograms, queue, in-flight, tensors and RSS', async () => {
    const response = await app.inject({ method: 'GET', url: '/metrics' });
    assert.equal(response.statusCode, 200);
    assert.match(String(response.headers['content-type']), /^text\/plain/);
    const text = response.body;
    assert.match(text, /nasnet_http_requests_total\{route="\/classify",method="POST",status="200"\} [1-9]/);
    assert.match(text, /nasnet_http_requests_total\{route="\/classify",method="POST",status="415"\} [1-9]/);
    assert.match(text, /nasnet_http_request_duration_seconds_bucket\{le="0.005",route="\/detect",method="POST"\}/);
    assert.match(text, /nasnet_inference_duration_seconds_count\{task="classify"\} [1-9]/);
    assert.match(text, /nasnet_rejected_requests_total\{code="UNSUPPORTED_MEDIA_TYPE"\} [1-9]/);
    assert.match(text, /^nasnet_queue_depth 0$/m);
    assert.match(text, /^nasnet_inference_in_flight 0$/m);
    // The gauge is what the worker reports: its models' weights (requests leave nothing, see fuzz.test).
    const { numTensors } = await app.inference.workerStats();
    assert.ok(numTensors > 0);
    assert.match(text, new RegExp(`^nasnet_tensors_held ${numTensors}$`, 'm'));
    assert.match(text, /^nasnet_process_rss_bytes [1-9]\d+$/m);
    assert.match(text, /^nasnet_ready 1$/m);
  });

  test('GET /docs serves the OpenAPI document and the Swagger UI', async () => {
    const spec = await app.inject({ method: 'GET', url: '/docs/json' });
    assert.equal(spec.statusCode, 200);
    const doc = spec.json() as { openapi: string; paths: Record<string, Record<string, { responses: Record<string, unknown> }>> };
    assert.equal(doc.openapi, '3.0.3');
    for (const path of ['/classify', '/detect', '/v1/vision/detection']) {
      assert.deepEqual(Object.keys(doc.paths[path]?.post?.responses ?? {}).sort(), ['200', '400', '413', '415', '503', '504']);
    }
    for (const path of ['/healthz', '/readyz', '/models']) assert.ok(doc.paths[path]?.get, path);
    const ui = await app.inject({ method: 'GET', url: '/docs/' });
    assert.equal(ui.statusCode, 200);
    assert.match(ui.body, /swagger/i);
  });

  test('GET / serves the demo page', async () => {
    const response = await app.inject({ method: 'GET', url: '/' });
    assert.equal(response.statusCode, 200);
    assert.match(String(response.headers['content-type']), /^text\/html/);
    assert.equal(response.body, DEMO_HTML);
    assert.match(response.body, /<canvas id="canvas"/);
  });
});
