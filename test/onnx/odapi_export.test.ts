// The OD API faster_rcnn_nas detector on onnxruntime (src/onnx/odapi_export.ts) against the replica's
// reference tensors: RPN outputs from the reference's preprocessed image, stage 2 on the reference's own
// proposals, and the whole detector from the uint8 image. Also the crop_and_resize emulation's mask.
import { before, after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { CheckpointWeights } from '../../detection/odapi/checkpoint_weights.js';
import { OdapiFasterRcnnNas } from '../../detection/odapi/faster_rcnn_nas.js';
import { readPipelineConfig } from '../../detection/odapi/pipeline_config.js';
import { OnnxOdapiNetwork } from '../../src/api/odapi_detector.js';
import { roiAlignBoxes, samePads } from '../../src/onnx/odapi_export.js';
import { ODAPI_DIR, assertDetectionsMatch, loadReference, relativeError, type RefArray } from '../detection/odapi/reference.js';

describe('TF SAME padding and the crop_and_resize emulation', () => {
  test('samePads: the odd extra pixel goes at the end; stride 2 on even and odd sizes', () => {
    assert.deepEqual(samePads(8, 8, 3, 1), [1, 1, 1, 1]);
    assert.deepEqual(samePads(8, 8, 5, 2), [1, 1, 2, 2]); // total 3
    assert.deepEqual(samePads(9, 9, 5, 2), [2, 2, 2, 2]); // total 4
    assert.deepEqual(samePads(8, 8, 1, 2), [0, 0, 0, 0]);
    assert.deepEqual(samePads(8, 7, 2, 2), [0, 0, 0, 1]);
  });

  test('roiAlignBoxes: RoiAlign bins centred on TF sample points; samples past the map masked', () => {
    // Box [0.25, 0, 0.75, 1] on a 5 x 9 map, crop 3: TF samples rows 1, 2, 3 and columns 0, 4, 8.
    const { rois, mask } = roiAlignBoxes(new Float32Array([0.25, 0, 0.75, 1]), 5, 9, 3);
    // half_pixel sample k = start - 0.5 + (k + 0.5) * bin: rows 1 + k, columns 4 k.
    const [xs, ys, xe, ye] = Array.from(rois);
    for (let k = 0; k < 3; k++) {
      assert.ok(Math.abs(ys! - 0.5 + ((k + 0.5) * (ye! - ys!)) / 3 - (1 + k)) < 1e-6);
      assert.ok(Math.abs(xs! - 0.5 + ((k + 0.5) * (xe! - xs!)) / 3 - 4 * k) < 1e-6);
    }
    assert.ok(mask.every((v) => v === 1));
    // A box reaching past the bottom: TF extrapolates (0) the rows beyond h - 1.
    const out = roiAlignBoxes(new Float32Array([0.5, 0, 1.5, 1]), 5, 9, 3);
    assert.deepEqual(Array.from(out.mask), [1, 1, 1, 1, 1, 1, 0, 0, 0]); // rows 2, 4, 6: row 6 is past h - 1 = 4
  });
});

describe('OD API faster_rcnn_nas on onnxruntime vs the replica', () => {
  let ref: Map<string, RefArray>;
  let network: OnnxOdapiNetwork;
  let model: OdapiFasterRcnnNas;

  before(async () => {
    ref = await loadReference();
    const config = await readPipelineConfig(join(ODAPI_DIR, 'pipeline.config'));
    network = await OnnxOdapiNetwork.create(config, () => CheckpointWeights.read(join(ODAPI_DIR, 'model.ckpt')), { headBatch: 32 });
    model = new OdapiFasterRcnnNas(config, network);
  });
  after(() => model?.dispose());

  test('RPN outputs and stage 2 on the reference proposals within 1e-4 relative', async () => {
    const errors: Record<string, number> = {};
    const first = await network.firstStage(ref.get('preprocessed')!.data as Float32Array);
    errors.pred_rpn_box_encodings = relativeError(first.boxEncodings, ref.get('pred_rpn_box_encodings')!.data);
    errors.pred_rpn_objectness = relativeError(first.objectness, ref.get('pred_rpn_objectness_predictions_with_background')!.data);
    errors.pred_proposal_boxes = relativeError(model.proposals(first).boxes, ref.get('pred_proposal_boxes')!.data);
    const second = await network.secondStage(ref.get('pred_proposal_boxes_normalized')!.data as Float32Array); // 50 in two head runs
    errors.pred_refined_box_encodings = relativeError(second.refinedBoxEncodings, ref.get('pred_refined_box_encodings')!.data);
    errors.pred_class_predictions_with_background = relativeError(second.classLogits, ref.get('pred_class_predictions_with_background')!.data);
    console.log(JSON.stringify(errors));
    for (const [name, e] of Object.entries(errors)) assert.ok(e <= 1e-4, `${name}: ${e}`);
  });

  test('end to end from the uint8 image', async () => {
    assertDetectionsMatch(await model.detect({ data: ref.get('image')!.data as Uint8Array, height: 600, width: 512 }), ref);
  });
});
