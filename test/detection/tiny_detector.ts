// A Faster R-CNN small enough for unit tests: NASNet-A 1 cell per stack @ 96 (F = 4) on 64 x 64 inputs
// (64 -> 31 -> 16 -> 8 -> 4: a 4 x 4 RPN map at stride 16), two anchors per cell (8 and 16 px squares).
import type { FasterRcnnConfig } from '../../detection/faster_rcnn_config.js';

export const TINY_DETECTOR: Partial<FasterRcnnConfig> = {
  backbone: { preset: 'mobile', numCells: 1, penultimateFilters: 96, stemFilters: 8 },
  imageSize: 64,
  numClasses: 2,
  classNames: ['circle', 'square'],
  categoryIds: [1, 2],
  anchors: { scales: [0.5, 1], aspectRatios: [1], baseSize: 16 },
  rpnChannels: 16,
  rpnSampler: { batchSizePerImage: 32, positiveFraction: 0.5 },
  proposals: { train: { preNmsTopN: 100, postNmsTopN: 20 }, test: { preNmsTopN: 100, postNmsTopN: 10 } },
  cropSize: 4,
  roiSampler: { batchSizePerImage: 16, positiveFraction: 0.25 },
  batchNormMomentum: 0.9,
  seed: 3,
};
