// pipeline.config reading: the replica's file (the zoo's sample config with the size and proposal count
// changed), the text-format forms the zoo files use, and errors that name the line and the field.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { packageRoot } from '../../../core/paths.js';
import { NasnetError } from '../../../core/errors.js';
import { parsePbtxt } from '../../../core/pbtxt.js';
import { parsePipelineConfig, readPipelineConfig } from '../../../detection/odapi/pipeline_config.js';

const CONFIG = join(packageRoot(), 'test', 'fixtures', 'odapi-frcnn-nas', 'pipeline.config');

const minimal = (body: string): string => `model { faster_rcnn {
  num_classes: 90
  image_resizer { fixed_shape_resizer { height: 64 width: 48 } }
  feature_extractor { type: 'faster_rcnn_nas' }
  first_stage_anchor_generator { grid_anchor_generator { height_stride: 16 width_stride: 16 } }
  initial_crop_size: 17 maxpool_kernel_size: 1 maxpool_stride: 1
  second_stage_post_processing { batch_non_max_suppression { } score_converter: SOFTMAX }
  ${body}
} }`;

describe('parsePbtxt', () => {
  test('fields, nested messages with and without a colon, lists, repeated fields, comments, strings', () => {
    const m = parsePbtxt(`a: 1.5e-1 # comment\nb { c: 'x' "y" d: TRUE_ENUM }\nb: < c: "z" >\nl: [1, 2.0, -3]; l: 4\n`, 't');
    assert.deepEqual(m.fields.get('a'), [0.15]);
    assert.deepEqual(m.fields.get('l'), [1, 2, -3, 4]);
    const bs = m.fields.get('b')! as { fields: Map<string, unknown> }[];
    assert.equal(bs.length, 2);
    assert.deepEqual(bs[0]!.fields.get('c'), ['xy']);
    assert.deepEqual(bs[0]!.fields.get('d'), [{ ident: 'TRUE_ENUM' }]);
    assert.deepEqual(bs[1]!.fields.get('c'), ['z']);
    assert.equal(m.lines.get('l'), 4);
  });

  test('syntax errors name the file, line and column', () => {
    assert.throws(() => parsePbtxt('a {\n  b: 1\n', 'f.config'), /f\.config:end of file: expected "}" to close the message/);
    assert.throws(() => parsePbtxt('a: 1\nb 2\n', 'f.config'), /f\.config:2:3: expected ":" or "{" after field b/);
    assert.throws(() => parsePbtxt("a: 'open\n", 'f.config'), /f\.config:1:\d+: unterminated string/);
  });
});

describe('parsePipelineConfig', () => {
  test('the replica pipeline.config', async () => {
    const c = await readPipelineConfig(CONFIG);
    assert.equal(c.numClasses, 90);
    assert.deepEqual(c.imageResizer, { height: 320, width: 320 });
    assert.equal(c.featureExtractor.type, 'faster_rcnn_nas');
    assert.equal(c.featureExtractor.firstStageFeaturesStride, 16);
    assert.deepEqual(c.anchors, {
      scales: [0.25, 0.5, 1, 2], aspectRatios: [0.5, 1, 2], baseHeight: 256, baseWidth: 256,
      heightStride: 16, widthStride: 16, heightOffset: 0, widthOffset: 0,
    });
    assert.deepEqual(c.firstStage, { atrousRate: 1, kernelSize: 3, nmsScoreThreshold: 0, nmsIouThreshold: 0.7, maxProposals: 50 });
    assert.equal(c.initialCropSize, 17);
    assert.equal(c.maxpoolKernelSize, 1);
    assert.equal(c.maxpoolStride, 1);
    assert.deepEqual(c.secondStage, {
      batchSize: 64, scoreThreshold: 0, iouThreshold: 0.6, maxDetectionsPerClass: 100, maxTotalDetections: 100,
      scoreConverter: 'SOFTMAX', logitScale: 1,
    });
  });

  test('defaults of the protos apply to absent fields', () => {
    const c = parsePipelineConfig(minimal(''));
    assert.deepEqual(c.anchors.scales, [0.5, 1, 2]);
    assert.equal(c.firstStage.maxProposals, 300);
    assert.equal(c.firstStage.nmsIouThreshold, 0.7);
  });

  test('errors name the line and the field path', () => {
    const bad = (body: string, pattern: RegExp): void =>
      assert.throws(() => parsePipelineConfig(minimal(body), 'p.config'), (e: unknown) => e instanceof NasnetError && e.code === 'INVALID_CONFIG' && pattern.test(e.message));
    bad('first_stage_max_proposals: 0', /p\.config:8: pipeline\.model\.faster_rcnn\.first_stage_max_proposals must be an integer >= 1; received 0/);
    bad("first_stage_nms_iou_threshold: 'x'", /first_stage_nms_iou_threshold must be a number in \[0, 1\]; received "x"/);
    assert.throws(() => parsePipelineConfig(minimal('').replace('faster_rcnn_nas', 'faster_rcnn_resnet101'), 'p.config'), /type must be 'faster_rcnn_nas'.*received 'faster_rcnn_resnet101'/);
    assert.throws(
      () => parsePipelineConfig(minimal('').replace('fixed_shape_resizer { height: 64 width: 48 }', 'keep_aspect_ratio_resizer { }'), 'p.config'),
      /p\.config:3: pipeline\.model\.faster_rcnn\.image_resizer must hold exactly one of fixed_shape_resizer \(supported here\); it holds keep_aspect_ratio_resizer/,
    );
    assert.throws(() => parsePipelineConfig('model { ssd { } }', 'p.config'), /pipeline\.model must hold exactly one of faster_rcnn/);
  });
});
