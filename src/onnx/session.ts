// onnxruntime-node sessions for exported models: the inference engine of the service and CLIs.
import * as ort from 'onnxruntime-node';
import { NasnetError } from '../core/errors.js';

export interface OnnxSessionOptions {
  /** Intra-op threads (0 = onnxruntime's default, one per core). */
  readonly threads?: number;
  /**
   * Let idle pool threads busy-wait for the next op (onnxruntime's default; here default false). Spinning
   * saves a thread wake-up per op on an idle machine, but on a shared one (load above the core count) the
   * spinning threads steal the cores the working thread needs: measured on NASNet-A Mobile it doubled
   * the latency and added 70% CPU time (bench/nasnet_forward.ts, report of this change).
   */
  readonly spinning?: boolean;
}

export interface NamedOutput {
  readonly data: Float32Array;
  readonly dims: readonly number[];
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
    const spin = options.spinning === true ? '1' : '0';
    try {
      const session = await ort.InferenceSession.create(model, {
        // 'all' includes the NCHWc layout transformer, onnxruntime's fast x86 conv path (2x 'extended' here).
        graphOptimizationLevel: 'all',
        intraOpNumThreads: threads,
        interOpNumThreads: 1,
        executionMode: 'sequential',
        extra: { session: { intra_op: { allow_spinning: spin }, inter_op: { allow_spinning: spin } } },
      });
      return new OnnxSession(session, session.inputNames, session.outputNames);
    } catch (error) {
      throw new NasnetError('ENGINE_UNAVAILABLE', `onnxruntime could not load the exported model: ${(error as Error).message}`);
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
