// The checkpoint's model.json: its types, strict parsing (a hand-edited or foreign file fails with the
// field that is wrong), and the comparison of stored weights against what a model expects.
import { NasnetError } from './errors.js';

export const CHECKPOINT_FORMAT = 'nasnet-ts-checkpoint';
export const CHECKPOINT_VERSION = 1;
export const MODEL_JSON = 'model.json';

export const WEIGHT_DTYPES = ['float32', 'int32', 'bool'] as const;
export type WeightDtype = (typeof WEIGHT_DTYPES)[number];

/** One tensor in tfjs's WeightsManifestEntry form. */
export interface WeightEntry {
  readonly name: string;
  readonly shape: readonly number[];
  readonly dtype: WeightDtype;
}

export interface WeightsGroup {
  readonly paths: readonly string[];
  readonly weights: readonly WeightEntry[];
}

export interface ShardIntegrity {
  readonly path: string;
  readonly byteLength: number;
  readonly sha256: string;
}

export interface CheckpointManifest {
  readonly format: typeof CHECKPOINT_FORMAT;
  readonly formatVersion: number;
  readonly config: unknown;
  readonly extra?: unknown;
  readonly weightsManifest: readonly WeightsGroup[];
  /** Absent in plain tfjs manifests; then only the total size is checked. */
  readonly shards?: readonly ShardIntegrity[];
}

const BYTES_PER_ELEMENT: Record<WeightDtype, number> = { float32: 4, int32: 4, bool: 1 };

export function bytesOf(w: { readonly shape: readonly number[]; readonly dtype: WeightDtype }): number {
  return w.shape.reduce((a, b) => a * b, 1) * BYTES_PER_ELEMENT[w.dtype];
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isShape = (v: unknown): v is number[] => Array.isArray(v) && v.every((d) => Number.isInteger(d) && d >= 0);
// Shard paths are bare file names: a crafted model.json must not read outside its directory.
const isFileName = (v: unknown): v is string => typeof v === 'string' && /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/.test(v);

/** Parses model.json text; every defect is CHECKPOINT_INVALID naming the file and the field. */
export function parseManifest(fn: string, file: string, text: string): CheckpointManifest {
  const fail = (what: string): never => {
    throw new NasnetError('CHECKPOINT_INVALID', `${fn}: ${file}: ${what}`, { file });
  };
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    fail(`not valid JSON (${(error as Error).message})`);
  }
  if (!isRecord(json)) return fail('expected a JSON object');
  if (json.format !== CHECKPOINT_FORMAT) fail(`format must be "${CHECKPOINT_FORMAT}"; received ${JSON.stringify(json.format)}`);
  if (json.formatVersion !== CHECKPOINT_VERSION) {
    fail(`formatVersion ${JSON.stringify(json.formatVersion)} is not supported; this build reads version ${CHECKPOINT_VERSION}`);
  }
  if (!Array.isArray(json.weightsManifest)) return fail('weightsManifest must be an array');
  const names = new Set<string>();
  json.weightsManifest.forEach((group: unknown, g) => {
    const at = `weightsManifest[${g}]`;
    if (!isRecord(group) || !Array.isArray(group.paths) || !group.paths.every(isFileName)) fail(`${at}.paths must be an array of file names`);
    if (!isRecord(group) || !Array.isArray(group.weights)) return fail(`${at}.weights must be an array`);
    group.weights.forEach((w: unknown, i) => {
      const wat = `${at}.weights[${i}]`;
      if (!isRecord(w) || typeof w.name !== 'string' || w.name === '') return fail(`${wat}.name must be a non-empty string`);
      if (!isShape(w.shape)) fail(`${wat}.shape must be an array of non-negative integers (weight ${w.name})`);
      if (!(WEIGHT_DTYPES as readonly unknown[]).includes(w.dtype)) {
        fail(`${wat}.dtype must be one of ${WEIGHT_DTYPES.join(', ')}; received ${JSON.stringify(w.dtype)} (weight ${w.name})`);
      }
      if (names.has(w.name)) fail(`weight ${JSON.stringify(w.name)} is listed twice`);
      names.add(w.name);
    });
  });
  if (json.shards !== undefined) {
    const ok = Array.isArray(json.shards) && json.shards.every((s: unknown) =>
      isRecord(s) && isFileName(s.path) && Number.isInteger(s.byteLength) && typeof s.sha256 === 'string');
    if (!ok) fail('shards must be an array of {path, byteLength, sha256}');
  }
  return json as unknown as CheckpointManifest;
}

export interface ShapeMismatch {
  readonly name: string;
  readonly expected: string;
  readonly received: string;
}

export interface WeightComparison {
  /** Expected by the model, absent from the checkpoint. */
  readonly missing: string[];
  /** In the checkpoint, not expected by the model. */
  readonly unexpected: string[];
  /** Present in both with a different shape (or dtype, when the expectation names one). */
  readonly mismatched: ShapeMismatch[];
}

const describeWeight = (w: { shape: readonly number[]; dtype?: WeightDtype }): string =>
  `[${w.shape.join(',')}]${w.dtype !== undefined ? ` ${w.dtype}` : ''}`;

/** Compares what a model expects with what is stored, by name (tfjs-layers `loadWeights` semantics). */
export function compareWeights(
  expected: readonly { readonly name: string; readonly shape: readonly number[]; readonly dtype?: WeightDtype }[],
  stored: readonly WeightEntry[],
): WeightComparison {
  const byName = new Map(stored.map((w) => [w.name, w]));
  const expectedNames = new Set(expected.map((w) => w.name));
  const missing: string[] = [];
  const mismatched: ShapeMismatch[] = [];
  for (const want of expected) {
    const have = byName.get(want.name);
    if (have === undefined) {
      missing.push(want.name);
      continue;
    }
    const shapeDiffers = have.shape.length !== want.shape.length || have.shape.some((d, i) => d !== want.shape[i]);
    if (shapeDiffers || (want.dtype !== undefined && want.dtype !== have.dtype)) {
      mismatched.push({ name: want.name, expected: describeWeight(want), received: describeWeight(want.dtype !== undefined ? have : { shape: have.shape }) });
    }
  }
  const unexpected = stored.filter((w) => !expectedNames.has(w.name)).map((w) => w.name);
  return { missing, unexpected, mismatched };
}

const LISTED = 10;
function listNames(names: readonly string[]): string {
  const shown = names.slice(0, LISTED).join(', ');
  return names.length > LISTED ? `${shown}, ... (${names.length - LISTED} more)` : shown;
}

/** One error listing every problem; `details` carries the complete lists. */
export function mismatchError(fn: string, source: string, c: WeightComparison, strict: boolean): NasnetError {
  const parts: string[] = [];
  if (strict && c.missing.length > 0) parts.push(`${c.missing.length} missing (${listNames(c.missing)})`);
  if (strict && c.unexpected.length > 0) parts.push(`${c.unexpected.length} unexpected (${listNames(c.unexpected)})`);
  if (c.mismatched.length > 0) {
    const shown = c.mismatched.map((m) => `${m.name}: expected ${m.expected}, received ${m.received}`);
    parts.push(`${c.mismatched.length} shape mismatch${c.mismatched.length > 1 ? 'es' : ''} (${listNames(shown)})`);
  }
  return new NasnetError('WEIGHTS_MISMATCH', `${fn}: the weights in ${source} do not match the model: ${parts.join('; ')}`, {
    dir: source,
    missing: strict ? c.missing : [],
    unexpected: strict ? c.unexpected : [],
    mismatched: c.mismatched,
  });
}
