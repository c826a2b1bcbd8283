// The built-in model kinds. Import this module (not registry.ts) to load models: it registers every
// kind the package ships. The kind "default" points at the embedded default of each task: the NASNet
// models in models/default/. `placeholder-tiny` stays available as a fast stand-in for tests.
import { loadPlaceholderClassifier, loadPlaceholderDetector, PLACEHOLDER_KIND } from './placeholder_tiny.js';
import { DIRECTORY_KIND, registerClassifier, registerDetector, type ModelLoadOptions } from './registry.js';
import { NasnetError, isNasnetError } from '../../core/errors.js';
import { loadDetector as loadFasterRcnnDetector } from '../api/detector.js';
import { defaultClassifierPath, defaultDetectorPath } from '../api/defaults.js';
import { loadClassifier as loadNasnetClassifier } from '../api/classifier.js';

/** The loaders' option names of the service's tuning settings (src/server/config.ts), for its errors. */
const SETTING_OF_OPTION: Readonly<Record<string, string>> = {
  engine: 'classifierEngine',
  calibrate: 'calibrate',
  calibrationImages: 'calibrationImages',
  proposals: 'detectorProposals',
  roiSamplingRatio: 'detectorRoiSamplingRatio',
};

/**
 * The tuning settings as loadClassifier / loadDetector options. A value they refuse (an empty calibration
 * folder, proposals for a model without them) is the configuration's fault: INVALID_CONFIG naming the setting.
 */
async function tuned<T>(options: ModelLoadOptions, load: (tuning: LoaderTuning) => Promise<T>): Promise<T> {
  try {
    return await load(tuning(options));
  } catch (error) {
    const field = isNasnetError(error) ? error.details?.field : undefined;
    if (!isNasnetError(error) || error.code !== 'INVALID_ARGUMENT' || typeof field !== 'string' || SETTING_OF_OPTION[field] === undefined) throw error;
    const setting = SETTING_OF_OPTION[field];
    throw new NasnetError('INVALID_CONFIG', `setting "${setting}": ${error.message}`, { ...error.details, field: setting }, { cause: error });
  }
}

interface LoaderTuning {
  readonly engine: ModelLoadOptions['classifierEngine'];
  readonly calibrate: string | undefined;
  readonly calibrationImages: number | undefined;
  readonly proposals: number | undefined;
  readonly roiSamplingRatio: number | undefined;
}

function tuning(options: ModelLoadOptions): LoaderTuning {
  return {
    engine: options.classifierEngine,
    calibrate: options.calibrate,
    calibrationImages: options.calibrationImages,
    proposals: options.proposals,
    roiSamplingRatio: options.roiSamplingRatio,
  };
}

const PLACEHOLDER_DEMO = 'nothing: seeded random weights (a fast stand-in for tests)';
registerClassifier(PLACEHOLDER_KIND, loadPlaceholderClassifier, { demoTrainedOn: PLACEHOLDER_DEMO });
registerDetector(PLACEHOLDER_KIND, loadPlaceholderDetector, { demoTrainedOn: PLACEHOLDER_DEMO });

export const SHAPES_DETECTOR_TRAINED_ON = '6 synthetic shapes (circle, square, triangle, star, cross, ring) on textured backgrounds, not COCO: boxes on real photos mean nothing';
export const SYNTHETIC_CLASSIFIER_TRAINED_ON = '10 synthetic classes (6 shapes and 4 textures: checker, dots, grid, stripes), not ImageNet: labels of real photos mean nothing';

/** The embedded NASNet Faster R-CNN trained on the synthetic shapes set (models/default/detector, its README). */
export const SHAPES_DETECTOR_KIND = 'nasnet-frcnn-shapes';
registerDetector(
  SHAPES_DETECTOR_KIND,
  (options) =>
    tuned(options, ({ proposals, roiSamplingRatio }) =>
      loadFasterRcnnDetector({
        weights: options.weights ?? defaultDetectorPath(),
        maxPixels: options.maxPixels,
        threads: options.threads,
        name: SHAPES_DETECTOR_KIND,
        proposals,
        roiSamplingRatio,
      })),
  { isDefault: true, demoTrainedOn: SHAPES_DETECTOR_TRAINED_ON },
);

/** A detector directory: one of our checkpoints, or a TF OD API export (pipeline.config + model.ckpt.*). */
registerDetector(DIRECTORY_KIND, (options) => {
  if (options.weights === undefined) throw new NasnetError('INVALID_CONFIG', 'detection model "directory" needs a path: --detector ./DIR or directory:DIR', { field: 'detector' });
  const weights = options.weights;
  return tuned(options, ({ proposals, roiSamplingRatio }) =>
    loadFasterRcnnDetector({ weights, maxPixels: options.maxPixels, threads: options.threads, proposals, roiSamplingRatio }));
});

/**
 * The paper's COCO detectors from the TF OD API zoo (NASNet-A Large Faster R-CNN), by their weights names
 * (src/weights): loaded from the cache (`nasnet weights fetch frcnn-nas-coco`), or from the kind's explicit
 * directory (`frcnn-nas-coco:DIR`, the unpacked tarball: pipeline.config + model.ckpt.*).
 */
export const PUBLISHED_DETECTOR_KINDS = ['frcnn-nas-coco', 'frcnn-nas-lowproposals-coco'] as const;
export const FRCNN_NAS_COCO_KIND = PUBLISHED_DETECTOR_KINDS[0];
for (const kind of PUBLISHED_DETECTOR_KINDS) {
  registerDetector(kind, (options) =>
    tuned(options, ({ proposals, roiSamplingRatio }) =>
      loadFasterRcnnDetector({ weights: options.weights ?? kind, maxPixels: options.maxPixels, threads: options.threads, name: kind, proposals, roiSamplingRatio })));
}

/** The embedded NASNet-A 1@384 classifier of the 10 synthetic classes (models/default/classifier, its README). */
export const SYNTHETIC_CLASSIFIER_KIND = 'nasnet-synthetic-classes';
registerClassifier(
  SYNTHETIC_CLASSIFIER_KIND,
  (options) =>
    tuned(options, ({ engine, calibrate, calibrationImages }) =>
      loadNasnetClassifier({
        weights: options.weights ?? defaultClassifierPath(),
        maxPixels: options.maxPixels,
        threads: options.threads,
        name: SYNTHETIC_CLASSIFIER_KIND,
        engine,
        calibrate,
        calibrationImages,
      })),
  { isDefault: true, demoTrainedOn: SYNTHETIC_CLASSIFIER_TRAINED_ON },
);

/**
 * The published Keras ImageNet classifiers by their weights names (src/weights): loaded from the cache
 * (`nasnet weights fetch nasnet-mobile`), or from the kind's explicit weights ("nasnet-large:file.h5").
 */
export const PUBLISHED_CLASSIFIER_KINDS = ['nasnet-mobile', 'nasnet-large'] as const;
for (const kind of PUBLISHED_CLASSIFIER_KINDS) {
  registerClassifier(kind, (options) =>
    tuned(options, ({ engine, calibrate, calibrationImages }) =>
      loadNasnetClassifier({
        weights: options.weights ?? kind,
        backbone: kind === 'nasnet-large' ? 'large' : 'mobile',
        maxPixels: options.maxPixels,
        threads: options.threads,
        name: kind,
        engine,
        calibrate,
        calibrationImages,
      })),
  );
}

export { DEFAULT_MODEL_KIND, demoTrainedOn, loadClassifier, loadDetector, modelKinds, resolveModelKind } from './registry.js';
export type { ModelSpec } from './registry.js';
