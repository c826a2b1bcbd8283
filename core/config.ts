// Typed configuration: each setting is a field with a parser, a default and a doc line. A config is
// resolved once from layered sources (defaults < file < env < flags); every error names the field,
// where the bad value came from, what was expected and what was received.
import { readFileSync } from 'node:fs';
import { NasnetError } from './errors.js';

/** Parses one raw value (a string from env/flags, or any JSON value from a file). */
export interface FieldSpec<T> {
  readonly default: T;
  readonly doc: string;
  /** Environment variable that sets this field, if any. */
  readonly env?: string;
  readonly parse: (raw: unknown) => T;
  /** Human description of valid values, used in error messages and --help. */
  readonly expected: string;
}

export type ConfigSchema<C> = { readonly [K in keyof C]: FieldSpec<C[K]> };

/** A source of raw values; `name` appears in error messages ("--port", "env PORT", "config.json"). */
export interface ConfigSource {
  readonly name: string;
  readonly values: Readonly<Record<string, unknown>>;
}

/** Thrown by parsers; resolveConfig turns it into a NasnetError naming the field and the source. */
class FieldParseError extends Error {}

/** For custom FieldSpec parsers: reject the raw value (the message is built from the spec's `expected`). */
export function rejectValue(expected: string): never {
  throw new FieldParseError(expected);
}

function describe(raw: unknown): string {
  return typeof raw === 'string' ? JSON.stringify(raw) : String(JSON.stringify(raw) ?? raw);
}

export function intField(def: number, doc: string, opts: { min?: number; max?: number; env?: string } = {}): FieldSpec<number> {
  const min = opts.min ?? Number.MIN_SAFE_INTEGER;
  const max = opts.max ?? Number.MAX_SAFE_INTEGER;
  const expected = `an integer in [${min}, ${max}]`;
  return {
    default: def, doc, env: opts.env, expected,
    parse(raw) {
      const value = typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : raw;
      if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) throw new FieldParseError(expected);
      return value;
    },
  };
}

export function numberField(def: number, doc: string, opts: { min?: number; max?: number; env?: string } = {}): FieldSpec<number> {
  const min = opts.min ?? -Infinity;
  const max = opts.max ?? Infinity;
  const expected = `a number in [${min}, ${max}]`;
  return {
    default: def, doc, env: opts.env, expected,
    parse(raw) {
      const value = typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : raw;
      if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) throw new FieldParseError(expected);
      return value;
    },
  };
}

export function stringField(def: string, doc: string, opts: { env?: string; allowEmpty?: boolean } = {}): FieldSpec<string> {
  const expected = opts.allowEmpty ? 'a string' : 'a non-empty string';
  return {
    default: def, doc, env: opts.env, expected,
    parse(raw) {
      if (typeof raw !== 'string' || (!opts.allowEmpty && raw === '')) throw new FieldParseError(expected);
      return raw;
    },
  };
}

export function optionalStringField(doc: string, opts: { env?: string } = {}): FieldSpec<string | undefined> {
  return {
    default: undefined, doc, env: opts.env, expected: 'a non-empty string',
    parse(raw) {
      if (raw === undefined || raw === null) return undefined;
      if (typeof raw !== 'string' || raw === '') throw new FieldParseError('a non-empty string');
      return raw;
    },
  };
}

/** An integer that may be left unset (undefined: the model's own value applies). */
export function optionalIntField(doc: string, opts: { min?: number; max?: number; env?: string } = {}): FieldSpec<number | undefined> {
  const inner = intField(0, doc, opts);
  return {
    default: undefined, doc, env: opts.env, expected: inner.expected,
    parse: (raw) => (raw === undefined || raw === null ? undefined : inner.parse(raw)),
  };
}

export function enumField<T extends string>(def: T, values: readonly T[], doc: string, opts: { env?: string } = {}): FieldSpec<T> {
  const expected = `one of ${values.map((v) => JSON.stringify(v)).join(', ')}`;
  return {
    default: def, doc, env: opts.env, expected,
    parse(raw) {
      if (typeof raw !== 'string' || !(values as readonly string[]).includes(raw)) throw new FieldParseError(expected);
      return raw as T;
    },
  };
}

export function boolField(def: boolean, doc: string, opts: { env?: string } = {}): FieldSpec<boolean> {
  const expected = 'true or false (also 1/0, yes/no)';
  return {
    default: def, doc, env: opts.env, expected,
    parse(raw) {
      if (typeof raw === 'boolean') return raw;
      if (typeof raw === 'string') {
        const lower = raw.toLowerCase();
        if (['true', '1', 'yes', 'on'].includes(lower)) return true;
        if (['false', '0', 'no', 'off'].includes(lower)) return false;
      }
      throw new FieldParseError(expected);
    },
  };
}

/** Values of the schema's env variables present in `env`, keyed by field. */
export function envSource<C>(schema: ConfigSchema<C>, env: Readonly<Record<string, string | undefined>>): ConfigSource {
  const values: Record<string, unknown> = {};
  for (const key of Object.keys(schema) as (keyof C & string)[]) {
    const variable = schema[key].env;
    const raw = variable === undefined ? undefined : env[variable];
    if (raw !== undefined && raw !== '') values[key] = raw;
  }
  return { name: 'environment', values };
}

/** Reads a JSON config file; errors name the file. */
export function fileSource(path: string): ConfigSource {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new NasnetError('IO_ERROR', `cannot read config file ${path}: ${(error as Error).message}`, { path });
  }
  let values: unknown;
  try {
    values = JSON.parse(text);
  } catch (error) {
    throw new NasnetError('INVALID_CONFIG', `config file ${path} is not valid JSON: ${(error as Error).message}`, { path });
  }
  if (typeof values !== 'object' || values === null || Array.isArray(values)) {
    throw new NasnetError('INVALID_CONFIG', `config file ${path} must hold a JSON object, received ${describe(values)}`, { path });
  }
  return { name: `config file ${path}`, values: values as Record<string, unknown> };
}

/**
 * Resolves a config: defaults, then each source in order (later wins). Unknown keys and invalid values
 * throw INVALID_CONFIG naming the field, the source, the expected values and what was received.
 */
export function resolveConfig<C>(schema: ConfigSchema<C>, sources: readonly ConfigSource[]): C {
  const result = {} as C;
  for (const key of Object.keys(schema) as (keyof C & string)[]) result[key] = schema[key].default;
  for (const source of sources) {
    for (const [key, raw] of Object.entries(source.values)) {
      if (raw === undefined) continue;
      if (!Object.hasOwn(schema, key)) {
        const known = Object.keys(schema).join(', ');
        throw new NasnetError('INVALID_CONFIG', `${source.name}: unknown setting "${key}" (known: ${known})`, { field: key });
      }
      const spec = schema[key as keyof C & string];
      try {
        result[key as keyof C] = spec.parse(raw);
      } catch (error) {
        if (!(error instanceof FieldParseError)) throw error;
        const where = spec.env !== undefined && source.name === 'environment' ? `${source.name} (${spec.env})` : source.name;
        throw new NasnetError('INVALID_CONFIG', `${where}: setting "${key}" must be ${spec.expected}, received ${describe(raw)}`, {
          field: key,
          source: source.name,
        });
      }
    }
  }
  return result;
}

/** One line a field for --help texts: name (as `label` shows it), default, env variable and doc. */
export function describeSchema<C>(schema: ConfigSchema<C>, label: (key: string) => string = (key) => key): string {
  const keys = Object.keys(schema) as (keyof C & string)[];
  const width = Math.max(...keys.map((key) => label(key).length));
  return keys
    .map((key) => {
      const spec = schema[key];
      const env = spec.env ? ` [env ${spec.env}]` : '';
      return `  ${label(key).padEnd(width)}  ${spec.doc} (default ${JSON.stringify(spec.default) ?? 'unset'})${env}`;
    })
    .join('\n');
}
