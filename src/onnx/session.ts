// onnxruntime-node sessions for exported models: the inference engine of the service and CLIs.
// Execution providers: 'cpu' (bundled) by default; 'cuda' / 'tensorrt' need onnxruntime-node's CUDA build
// (ONNXRUNTIME_NODE_INSTALL=cuda12 at npm install time; docs/onnx.md). The env variable NASNET_ORT_PROVIDERS
// is read here, the one place every session is created (classifier, detector, service workers), so that
// a deployment switches providers without plumbing an option through the model registry.
import * as ort from 'onnxruntime-node';
import { NasnetError, type ErrorCode } from '../../core/errors.js';

export interface OnnxSessionOptions {
  /** Intra-op threads (0 = onnxruntime's default, one per core). */
  readonly threads?: number;
  /**
   * Let idle pool threads busy-wait for the next op (onnxruntime's default, and ours: NASNET_ORT_SPINNING=0
   * turns it off). With two or more threads it saves a futex wake-up per parallel op: NASNet-A Mobile at
   * batch 1 on 2 idle cores takes 10.7 ms spinning against 14.4 ms without (bench/nasnet_forward.ts, BENCHMARKS.md).
   * On an oversubscribed machine the spinning threads steal the cores the working thread needs (2x the
   * latency under load 12), so the service turns it off when its workers' threads exceed the cores.
   * With one thread there is no pool and the setting does nothing.
   */
  readonly spinning?: boolean;
  /**
   * onnxruntime execution providers in priority order (names from ort.listSupportedBackends(): cpu, cuda,
   * tensorrt, webgpu, ...). Default: NASNET_ORT_PROVIDERS (comma-separated), else ['cpu'].
   */
  readonly executionProviders?: readonly string[];
}

export const DEFAULT_EXECUTION_PROVIDERS: readonly string[] = ['cpu'];
export const PROVIDERS_ENV = 'NASNET_ORT_PROVIDERS';
export const SPINNING_ENV = 'NASNET_ORT_SPINNING';

/** NASNET_ORT_SPINNING: '1' / '0', unset or blank = true (onnxruntime's default); anything else is refused. */
export function spinningFromEnv(env: NodeJS.ProcessEnv): boolean {
  const raw = env[SPINNING_ENV]?.trim() ?? '';
  if (raw === '' || raw === '1') return true;
  if (raw === '0') return false;
  throw new NasnetError('INVALID_CONFIG', `${SPINNING_ENV} must be 1 (pool threads spin, the default) or 0; received ${JSON.stringify(raw)}`, { field: SPINNING_ENV });
}

/** Checks provider names against what this onnxruntime-node build knows; throws `code` naming `field`. */
export function checkExecutionProviders(providers: readonly string[], field: string, code: ErrorCode = 'INVALID_ARGUMENT'): readonly string[] {
  const known = ort.listSupportedBackends().map((backend) => backend.name);
  const unknown = providers.filter((name) => !known.includes(name));
  if (providers.length === 0 || unknown.length > 0) {
    const received = providers.length === 0 ? 'an empty list' : `unknown provider(s) ${unknown.map((n) => JSON.stringify(n)).join(', ')}`;
    throw new NasnetError(code, `${field} must list onnxruntime execution providers among ${known.join(', ')}; received ${received}`, { field });
  }
  return providers;
}

/** The providers NASNET_ORT_PROVIDERS names ("cuda,cpu"), or undefined when it is unset or blank. */
export function executionProvidersFromEnv(env: NodeJS.ProcessEnv): readonly string[] | undefined {
  const raw = env[PROVIDERS_ENV]?.trim();
  if (raw === undefined || raw === '') return undefined;
  return checkExecutionProviders(raw.split(',').map((name) => name.trim().toLowerCase()), PROVIDERS_ENV, 'INVALID_CONFIG');
}

export interface NamedOutput {
  readonly data: Float32Array;
  readonly dims: readonly number[];
}

/** `option` checked (errors name `field`), else NASNET_ORT_PROVIDERS, else ['cpu']. */
export function resolveExecutionProviders(option: readonly string[] | undefined, field: string): readonly string[] {
  if (option !== undefined) return checkExecutionProviders(option, field);
  return executionProvidersFromEnv(process.env) ?? DEFAULT_EXECUTION_PROVIDERS;
}

export class OnnxSession {
  private constructor(
    private readonly session: ort.InferenceSession,
    readonly inputNames: readonly string[],
    readonly outputNames: readonly string[],
  ) {}

  static async create(model: Uint8Array, options: OnnxSessionOptions = {}): Promise<OnnxSession> {
    const threads = options.threads ?? 0;
    if (!Number.isInteger(threads) || threads < 0) {
      throw new NasnetError('INVALID_ARGUMENT', `OnnxSession.create: threads must be a non-negative integer; received ${JSON.stringify(options.threads)}`);
    }
    const providers = resolveExecutionProviders(options.executionProviders, 'OnnxSession.create: executionProviders');
    const spin = (options.spinning ?? spinningFromEnv(process.env)) ? '1' : '0';
    try {
      const session = await ort.InferenceSession.create(model, {
        executionProviders: [...providers],
        // 'all' includes the NCHWc layout transformer, onnxruntime's fast x86 conv path (2x 'extended' here).
        graphOptimizationLevel: 'all',
        intraOpNumThreads: threads,
        interOpNumThreads: 1,
        executionMode: 'sequential',
        extra: { session: { intra_op: { allow_spinning: spin }, inter_op: { allow_spinning: spin } } },
      });
      return new OnnxSession(session, session.inputNames, session.outputNames);
    } catch (error) {
      const hint = providers.some((name) => name === 'cuda' || name === 'tensorrt')
        ? ` (providers ${providers.join(', ')}: the CUDA providers need onnxruntime-node installed with ONNXRUNTIME_NODE_INSTALL=cuda12, CUDA 12 and cuDNN 9; see docs/onnx.md)`
        : '';
      throw new NasnetError('ENGINE_UNAVAILABLE', `onnxruntime could not load the exported model: ${(error as Error).message}${hint}`, { providers: [...providers] });
    }
  }

  /**
   * Runs with float32 inputs by name; returns every output by name. onnxruntime-node computes on the
   * calling (main) thread: the event loop is blocked for the whole run, and concurrent runs serialise.
   */
  async run(inputs: Readonly<Record<string, { data: Float32Array; dims: readonly number[] }>>): Promise<Record<string, NamedOutput>> {
    const feeds: Record<string, ort.Tensor> = {};
    for (const [name, value] of Object.entries(inputs)) feeds[name] = new ort.Tensor('float32', value.data, value.dims);
    const results = await this.session.run(feeds);
    const out: Record<string, NamedOutput> = {};
    for (const name of this.outputNames) {
      const tensor = results[name] as ort.Tensor;
      out[name] = { data: tensor.data as Float32Array, dims: tensor.dims };
    }
    return out;
  }

  async dispose(): Promise<void> {
    await this.session.release();
  }
}
