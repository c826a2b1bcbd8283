// The settings of a TF Object Detection API `pipeline.config` (protos/pipeline.proto, faster_rcnn.proto
// and the protos they import, at the 2018 zoo release) that inference of a `faster_rcnn_nas` model reads.
// Defaults are the protos' own. Fields for training only (losses, samplers, optimizers, input readers)
// are ignored; a setting we cannot honour (another feature extractor or resizer, a score converter other
// than SOFTMAX / SIGMOID / IDENTITY) is an error naming the field and the line.
import { readFile } from 'node:fs/promises';
import { NasnetError } from '../../core/errors.js';
import { parsePbtxt, type PbMessage, type PbValue } from '../../core/pbtxt.js';

export const SCORE_CONVERTERS = ['SOFTMAX', 'SIGMOID', 'IDENTITY'] as const;
export type ScoreConverter = (typeof SCORE_CONVERTERS)[number];

export interface OdapiFasterRcnnConfig {
  readonly numClasses: number;
  /** fixed_shape_resizer: every image is resized (aspect not kept) to height x width, TF1 bilinear. */
  readonly imageResizer: { readonly height: number; readonly width: number };
  readonly featureExtractor: { readonly type: 'faster_rcnn_nas'; readonly firstStageFeaturesStride: number };
  readonly anchors: {
    readonly scales: readonly number[];
    readonly aspectRatios: readonly number[];
    readonly baseHeight: number;
    readonly baseWidth: number;
    readonly heightStride: number;
    readonly widthStride: number;
    readonly heightOffset: number;
    readonly widthOffset: number;
  };
  readonly firstStage: {
    readonly atrousRate: number;
    readonly kernelSize: number;
    readonly nmsScoreThreshold: number;
    readonly nmsIouThreshold: number;
    readonly maxProposals: number;
  };
  readonly initialCropSize: number;
  readonly maxpoolKernelSize: number;
  readonly maxpoolStride: number;
  readonly secondStage: {
    /** Training only (proposals sampled per image); kept for completeness. */
    readonly batchSize: number;
    readonly scoreThreshold: number;
    readonly iouThreshold: number;
    readonly maxDetectionsPerClass: number;
    readonly maxTotalDetections: number;
    readonly scoreConverter: ScoreConverter;
    readonly logitScale: number;
  };
}

/** Walks a parsed message with the path from the root, so errors say which field is wrong and where. */
class Node {
  constructor(
    readonly message: PbMessage,
    readonly path: string,
    private readonly file: string,
  ) {}

  private fail(field: string, expected: string, got?: PbValue): never {
    const line = this.message.lines.get(field);
    const where = line === undefined ? this.file : `${this.file}:${line}`;
    const received = got === undefined ? 'it is absent' : `received ${JSON.stringify(got)}`;
    throw new NasnetError('INVALID_CONFIG', `${where}: ${this.path}.${field} must be ${expected}; ${received}`, { file: this.file, field: `${this.path}.${field}` });
  }

  private values(field: string): PbValue[] {
    return this.message.fields.get(field) ?? [];
  }

  child(field: string, required = true): Node | undefined {
    const values = this.values(field);
    const value = values[values.length - 1];
    if (value === undefined) return required ? this.fail(field, 'a message') : undefined;
    if (typeof value !== 'object' || !('fields' in value)) return this.fail(field, 'a message { ... }', value);
    return new Node(value, `${this.path}.${field}`, this.file);
  }

  /** The single sub-message set in a `oneof` of messages, with its field name. */
  oneof(field: string, allowed: readonly string[]): { name: string; node: Node } {
    const node = this.child(field)!;
    const names = [...node.message.fields.keys()];
    if (names.length !== 1 || !allowed.includes(names[0]!)) {
      const line = this.message.lines.get(field);
      throw new NasnetError(
        'INVALID_CONFIG',
        `${this.file}${line === undefined ? '' : `:${line}`}: ${node.path} must hold exactly one of ${allowed.join(', ')} (supported here); it holds ${names.join(', ') || 'nothing'}`,
        { file: this.file, field: node.path },
      );
    }
    return { name: names[0]!, node: node.child(names[0]!)! };
  }

  number(field: string, fallback?: number, check: (v: number) => boolean = Number.isFinite, expected = 'a finite number'): number {
    const values = this.values(field);
    const value = values[values.length - 1];
    if (value === undefined) return fallback ?? this.fail(field, expected);
    if (typeof value !== 'number' || !check(value)) return this.fail(field, expected, value);
    return value;
  }

  int(field: string, fallback?: number, min = 1): number {
    return this.number(field, fallback, (v) => Number.isInteger(v) && v >= min, `an integer >= ${min}`);
  }

  numbers(field: string, fallback: readonly number[]): number[] {
    const values = this.values(field);
    if (values.length === 0) return [...fallback];
    return values.map((v) => (typeof v === 'number' && v > 0 ? v : this.fail(field, 'a list of positive numbers', v)));
  }

  text(field: string, fallback?: string): string {
    const values = this.values(field);
    const value = values[values.length - 1];
    if (value === undefined) return fallback ?? this.fail(field, 'a string or enum value');
    if (typeof value === 'string') return value;
    if (typeof value === 'object' && 'ident' in value) return value.ident;
    return this.fail(field, 'a string or enum value', value);
  }
}

const probability = (v: number): boolean => v >= 0 && v <= 1;

/** Reads the Faster R-CNN inference settings from parsed `pipeline.config` text. */
export function parsePipelineConfig(text: string, file = 'pipeline.config'): OdapiFasterRcnnConfig {
  const root = new Node(parsePbtxt(text, file), 'pipeline', file);
  const frcnn = root.oneof('model', ['faster_rcnn']).node;
  const resizer = frcnn.oneof('image_resizer', ['fixed_shape_resizer']).node;
  const extractor = frcnn.child('feature_extractor')!;
  const type = extractor.text('type');
  if (type !== 'faster_rcnn_nas') {
    throw new NasnetError('INVALID_CONFIG', `${file}: ${extractor.path}.type must be 'faster_rcnn_nas' (the only OD API feature extractor supported); received '${type}'`, { file });
  }
  const grid = frcnn.oneof('first_stage_anchor_generator', ['grid_anchor_generator']).node;
  const post = frcnn.child('second_stage_post_processing')!;
  const nms = post.child('batch_non_max_suppression')!;
  const converter = post.text('score_converter', 'IDENTITY');
  if (!(SCORE_CONVERTERS as readonly string[]).includes(converter)) {
    throw new NasnetError('INVALID_CONFIG', `${file}: ${post.path}.score_converter must be one of ${SCORE_CONVERTERS.join(', ')}; received ${converter}`, { file });
  }
  return {
    numClasses: frcnn.int('num_classes'),
    imageResizer: { height: resizer.int('height'), width: resizer.int('width') },
    featureExtractor: { type, firstStageFeaturesStride: extractor.int('first_stage_features_stride', 16) },
    anchors: {
      scales: grid.numbers('scales', [0.5, 1.0, 2.0]),
      aspectRatios: grid.numbers('aspect_ratios', [0.5, 1.0, 2.0]),
      baseHeight: grid.number('height', 256),
      baseWidth: grid.number('width', 256),
      heightStride: grid.int('height_stride', 16),
      widthStride: grid.int('width_stride', 16),
      heightOffset: grid.number('height_offset', 0),
      widthOffset: grid.number('width_offset', 0),
    },
    firstStage: {
      atrousRate: frcnn.int('first_stage_atrous_rate', 1),
      kernelSize: frcnn.int('first_stage_box_predictor_kernel_size', 3),
      nmsScoreThreshold: frcnn.number('first_stage_nms_score_threshold', 0),
      nmsIouThreshold: frcnn.number('first_stage_nms_iou_threshold', 0.7, probability, 'a number in [0, 1]'),
      maxProposals: frcnn.int('first_stage_max_proposals', 300),
    },
    initialCropSize: frcnn.int('initial_crop_size'),
    maxpoolKernelSize: frcnn.int('maxpool_kernel_size'),
    maxpoolStride: frcnn.int('maxpool_stride'),
    secondStage: {
      batchSize: frcnn.int('second_stage_batch_size', 64),
      scoreThreshold: nms.number('score_threshold', 0),
      iouThreshold: nms.number('iou_threshold', 0.6, probability, 'a number in [0, 1]'),
      maxDetectionsPerClass: nms.int('max_detections_per_class', 100),
      maxTotalDetections: nms.int('max_total_detections', 100),
      scoreConverter: converter as ScoreConverter,
      logitScale: post.number('logit_scale', 1, (v) => v > 0, 'a positive number'),
    },
  };
}

/** Reads and parses `pipeline.config` at `path`. */
export async function readPipelineConfig(path: string): Promise<OdapiFasterRcnnConfig> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new NasnetError('IO_ERROR', `readPipelineConfig: cannot read ${path}: ${(error as Error).message}`, { file: path }, { cause: error });
  }
  return parsePipelineConfig(text, path);
}
