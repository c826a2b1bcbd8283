// onnxruntime-node sessions for exported models: the inference engine of the service and CLIs.
import * as ort from 'onnxruntime-node';
import { NasnetError } from '../core/errors.js';

export interface OnnxSessionOptions {
  /** Intra-op threads (0 = onnxruntime's default, one per core). */
  readonly threads?: number;
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
    try {
      const session = await ort.InferenceSession.create(model, {
        graphOptimizationLevel: 'all',
        intraOpNumThreads: options.threads ?? 0,
        interOpNumThreads: 1,
        executionMode: 'sequential',
      });
      return new OnnxSession(session, session.inputNames, session.outputNames);
    } catch (error) {
      throw new NasnetError('ENGINE_UNAVAILABLE', `onnxruntime could not load the exported model: ${(error as Error).message}`);
    }
  }

  /** Runs with float32 inputs by name; returns every output by name. */
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
