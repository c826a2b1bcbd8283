// Which models the service serves, honestly: a "default" classifier becomes the published ImageNet
// NASNet when its weights are cached (mobile first, then large); a published classifier named in the
// config is resolved in the cache before listening (uncached: WEIGHTS_UNAVAILABLE, exit 6, unless
// NASNET_FETCH=1). Whatever remains a demo model is named as such (GET /models, the log, the page).
import { DEFAULT_MODEL_KIND, PUBLISHED_CLASSIFIER_KINDS, demoTrainedOn, resolveModelKind, type ModelSpec } from '../models/builtin.js';
import { cachedWeightsPath, resolveWeights, type CacheOptions } from '../weights/cache.js';
import type { ServerConfig } from './config.js';

/** The command that replaces the demo classifier, for every surface that says "demo". */
export const REAL_WEIGHTS_COMMAND = 'nasnet weights fetch nasnet-mobile';
export const REAL_WEIGHTS_HINT =
  `${REAL_WEIGHTS_COMMAND}, then restart: the default classifier becomes the published ImageNet NASNet-A Mobile ` +
  '(the paper\'s COCO detector: nasnet weights fetch frcnn-nas-coco, then serve --detector frcnn-nas-coco)';

const isPublished = (kind: string): kind is (typeof PUBLISHED_CLASSIFIER_KINDS)[number] => (PUBLISHED_CLASSIFIER_KINDS as readonly string[]).includes(kind);

async function servedClassifier(spec: ModelSpec, options: CacheOptions): Promise<ModelSpec> {
  if (spec.weights !== undefined) return spec;
  if (spec.kind === DEFAULT_MODEL_KIND) {
    for (const kind of PUBLISHED_CLASSIFIER_KINDS) {
      const path = await cachedWeightsPath(kind, options);
      if (path !== undefined) return { kind, weights: path };
    }
    return spec;
  }
  if (isPublished(spec.kind)) return { kind: spec.kind, weights: (await resolveWeights(spec.kind, options)).path };
  return spec;
}

/** `config` with the classifier the service will really load (see the file comment). */
export async function chooseServedModels(config: ServerConfig, options: CacheOptions = {}): Promise<ServerConfig> {
  const classifier = await servedClassifier(config.classifier, options);
  return classifier === config.classifier ? config : { ...config, classifier };
}

export interface DemoModel {
  readonly task: 'classification' | 'detection';
  readonly kind: string;
  readonly trainedOn: string;
}

/** The configured models that are demo models. */
export function demoModels(config: Pick<ServerConfig, 'classifier' | 'detector'>): DemoModel[] {
  const found: DemoModel[] = [];
  for (const [task, spec] of [['classification', config.classifier], ['detection', config.detector]] as const) {
    const trainedOn = demoTrainedOn(task, spec.kind);
    if (trainedOn !== undefined) found.push({ task, kind: resolveModelKind(task, spec.kind), trainedOn });
  }
  return found;
}
