// The published weights nasnet-ts knows by name: where each comes from and how its bytes are checked.
// Keras' ImageNet NASNets carry the MD5 that keras/src/applications/nasnet.py checks; the TF Object
// Detection API tarballs have no published hash, so the SHA-256 of the first download is recorded in the
// cache and every later fetch, add or verify is held to it (trust on first use, said in `weights list`).
import type { NasnetPresetName } from '../../backbones/index.js';

export type WeightsFormat = 'keras-h5' | 'od-api-tarball';

export interface WeightsEntry {
  readonly name: string;
  readonly format: WeightsFormat;
  /** The file name the download is stored under (and the URL's last segment). */
  readonly file: string;
  readonly url: string;
  /** Published MD5 (hex), when there is one. */
  readonly md5?: string;
  /** SHA-256 (hex) that must match; tests pin one, published entries have none (recorded on first fetch). */
  readonly sha256?: string;
  /** Approximate size in bytes as documented upstream, for `list` before a fetch; never checked. */
  readonly approxBytes?: number;
  /** The NASNet preset the weights fit. */
  readonly backbone: NasnetPresetName;
  /** True for a classifier with its 1000-class ImageNet head. */
  readonly includeTop: boolean;
  readonly description: string;
  /** Extra checks `verify` runs on the cached copy by name (see checks.ts), e.g. the TF checkpoint's crc32c. */
  readonly checks?: readonly string[];
}

const KERAS_BASE = 'https://storage.googleapis.com/tensorflow/keras-applications/nasnet/';
const OD_API_BASE = 'http://download.tensorflow.org/models/object_detection/';
const MB = 1024 * 1024;

function keras(name: string, file: string, md5: string, backbone: NasnetPresetName, includeTop: boolean, description: string, approxBytes?: number): WeightsEntry {
  return { name, format: 'keras-h5', file, url: KERAS_BASE + file, md5, backbone, includeTop, description, ...(approxBytes === undefined ? {} : { approxBytes }) };
}

function odApi(name: string, model: string, description: string): WeightsEntry {
  return {
    name,
    format: 'od-api-tarball',
    file: `${model}.tar.gz`,
    url: `${OD_API_BASE}${model}.tar.gz`,
    backbone: 'large',
    includeTop: false,
    description,
    checks: ['tf-checkpoint-crc32c'],
  };
}

/** The six published names (issue #15). Sizes: the Keras applications table (23 MB / 343 MB with top). */
export const PUBLISHED_WEIGHTS: readonly WeightsEntry[] = [
  keras('nasnet-mobile', 'NASNet-mobile.h5', '020fb642bf7360b370c678b08e0adf61', 'mobile', true, 'NASNet-A Mobile 4@1056, ImageNet classifier (Keras), 74.0% top-1 (paper)', 23 * MB),
  keras('nasnet-mobile-no-top', 'NASNet-mobile-no-top.h5', '1ed92395b5b598bdda52abe5c0dbfd63', 'mobile', false, 'NASNet-A Mobile 4@1056 ImageNet backbone without the head (Keras)'),
  keras('nasnet-large', 'NASNet-large.h5', '11577c9a518f0070763c2b964a382f17', 'large', true, 'NASNet-A Large 6@4032, ImageNet classifier (Keras), 82.7% top-1 (paper)', 343 * MB),
  keras('nasnet-large-no-top', 'NASNet-large-no-top.h5', 'd81d89dc07e6e56530c4e77faddd61b5', 'large', false, 'NASNet-A Large 6@4032 ImageNet backbone without the head (Keras)'),
  odApi('frcnn-nas-coco', 'faster_rcnn_nas_coco_2018_01_28', 'Faster R-CNN NASNet-A Large, COCO (TF Object Detection API model zoo; TF1 checkpoint)'),
  odApi('frcnn-nas-lowproposals-coco', 'faster_rcnn_nas_lowproposals_coco_2018_01_28', 'Faster R-CNN NASNet-A Large, 50 proposals, COCO (TF Object Detection API model zoo)'),
];

/** A set of entries by name: the published one by default, a test's own through the options. */
export type WeightsRegistry = ReadonlyMap<string, WeightsEntry>;

export function weightsRegistry(entries: readonly WeightsEntry[] = PUBLISHED_WEIGHTS): WeightsRegistry {
  return new Map(entries.map((e) => [e.name, e]));
}

export const DEFAULT_WEIGHTS_REGISTRY: WeightsRegistry = weightsRegistry();

/** True when `value` is a name of `registry` (paths never are: names have no "/" or "."). */
export function isWeightsName(value: string, registry: WeightsRegistry = DEFAULT_WEIGHTS_REGISTRY): boolean {
  return registry.has(value);
}
