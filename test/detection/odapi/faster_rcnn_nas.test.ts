// The OD API faster_rcnn_nas detector on TensorFlow.js against the replica's reference tensors (the OD API's
// own graph, test/fixtures/odapi-frcnn-nas/README.md), stage by stage: stage 2 runs on the reference's own
// proposals (several RPN scores tie within 1e-6), then the whole detector end to end.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { initEngine } from '../../../core/engine.js';
import { CheckpointWeights } from '../../../detection/odapi/checkpoint_weights.js';
import { OdapiFasterRcnnNas } from '../../../detection/odapi/faster_rcnn_nas.js';
import { readPipelineConfig } from '../../../detection/odapi/pipeline_config.js';
import { TfjsOdapiNetwork } from '../../../detection/odapi/tfjs_network.js';
import { ODAPI_DIR, assertDetectionsMatch, loadReference, relativeError, type RefArray } from './reference.js';

const TOL = 1e-4;

describe('OD API faster_rcnn_nas on TensorFlow.js vs the replica', () => {
  let ref: Map<string, RefArray>;
  let model: OdapiFasterRcnnNas;
  let network: TfjsOdapiNetwork;
  let weights: CheckpointWeights;
  const image = () => ({ data: ref.get('image')!.data as Uint8Array, height: 600, width: 512 });

  before(async () => {
    await initEngine({ backend: 'cpu' });
    ref = await loadReference();
    const config = await readPipelineConfig(join(ODAPI_DIR, 'pipeline.config'));
    weights = await CheckpointWeights.read(join(ODAPI_DIR, 'model.ckpt'));
    network = new TfjsOdapiNetwork(config, weights, true);
    model = new OdapiFasterRcnnNas(config, network);
  });
  after(() => model?.dispose());

  test('stage by stage within 1e-4 relative; every checkpoint variable used', async () => {
    const errors: Record<string, number> = {};
    const pre = model.preprocess(image());
    errors.preprocessed = relativeError(pre, ref.get('preprocessed')!.data);
    const first = await network.firstStage(ref.get('preprocessed')!.data as Float32Array);
    errors.pred_rpn_features_to_crop = relativeError(network.captured.get('pred_rpn_features_to_crop')!, ref.get('pred_rpn_features_to_crop')!.data);
    errors.pred_rpn_box_predictor_features = relativeError(network.captured.get('pred_rpn_box_predictor_features')!, ref.get('pred_rpn_box_predictor_features')!.data);
    errors.pred_rpn_box_encodings = relativeError(first.boxEncodings, ref.get('pred_rpn_box_encodings')!.data);
    errors.pred_rpn_objectness = relativeError(first.objectness, ref.get('pred_rpn_objectness_predictions_with_background')!.data);
    errors.pred_anchors = relativeError(model.anchors(first.featureSize), ref.get('pred_anchors')!.data);
    const proposals = model.proposals(first);
    errors.pred_proposal_boxes = relativeError(proposals.boxes, ref.get('pred_proposal_boxes')!.data);
    const refProposals = ref.get('pred_proposal_boxes_normalized')!.data as Float32Array;
    errors.pred_proposal_boxes_normalized = relativeError(model.normalize(proposals.boxes), refProposals);
    const second = await network.secondStage(refProposals);
    errors.pred_box_classifier_features = relativeError(network.captured.get('pred_box_classifier_features')!, ref.get('pred_box_classifier_features')!.data);
    errors.pred_refined_box_encodings = relativeError(second.refinedBoxEncodings, ref.get('pred_refined_box_encodings')!.data);
    errors.pred_class_predictions_with_background = relativeError(second.classLogits, ref.get('pred_class_predictions_with_background')!.data);
    console.log(JSON.stringify(errors, null, 1));
    for (const [name, e] of Object.entries(errors)) assert.ok(e <= TOL, `${name}: ${e}`);
    assert.deepEqual(weights.unused(), []);
  });

  test('post-processing of the reference predictions gives the reference detections', () => {
    const proposals = ref.get('pred_proposal_boxes')!.data as Float32Array;
    const second = {
      refinedBoxEncodings: ref.get('pred_refined_box_encodings')!.data as Float32Array,
      classLogits: ref.get('pred_class_predictions_with_background')!.data as Float32Array,
    };
    assertDetectionsMatch(model.postprocess(proposals, second), ref);
  });

  test('end to end from the uint8 image: same classes, boxes within 0.5 px of the original, scores within 1e-4; no tensor leaks', async () => {
    const detections = await model.detect(image());
    assertDetectionsMatch(detections, ref);
    const before = tf.memory().numTensors;
    await model.detect(image());
    assert.equal(tf.memory().numTensors, before);
  });
});
