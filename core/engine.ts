// Engine selection: the only module that calls tf.setBackend. The accelerated engines
// (@tensorflow/tfjs-node-gpu, @tensorflow/tfjs-node) are optional: their install downloads libtensorflow,
// so they are never dependencies and are loaded by dynamic import only when a user installed them.
// The default falls back to the WebAssembly backend, which ships its binaries in npm.
import * as tf from '@tensorflow/tfjs-core';
import { NasnetError } from './errors.js';
import { silentLogger, type Logger } from './logger.js';
import { registerWasmTrainingKernels } from './wasm_training_kernels.js';

export const ENGINE_NAMES = ['tensorflow', 'wasm', 'cpu'] as const;
export type EngineName = (typeof ENGINE_NAMES)[number];
export type EngineRequest = EngineName | 'auto';

export interface EngineInfo {
  /** The tfjs backend that runs (`tensorflow` is tfjs-node or tfjs-node-gpu). */
  readonly backend: EngineName;
  /** The npm package that provides it. */
  readonly package: string;
  /** Why this engine was chosen (shown in logs and GET /models). */
  readonly reason: string;
}

export interface InitEngineOptions {
  readonly backend?: EngineRequest;
  readonly logger?: Logger;
}

/** The accelerated packages, in the order `auto` tries them. */
const NATIVE_PACKAGES = ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node'] as const;

let current: EngineInfo | undefined;

/** Parses `--backend` / `NASNET_BACKEND` (flag wins); undefined or empty means auto. */
export function parseEngineRequest(flag: string | undefined, env: Readonly<Record<string, string | undefined>> = {}): EngineRequest {
  const raw = flag ?? env.NASNET_BACKEND;
  if (raw === undefined || raw === '' || raw === 'auto') return 'auto';
  if ((ENGINE_NAMES as readonly string[]).includes(raw)) return raw as EngineName;
  const source = flag !== undefined ? '--backend' : 'NASNET_BACKEND';
  throw new NasnetError('INVALID_CONFIG', `${source} must be one of auto, ${ENGINE_NAMES.join(', ')}; received ${JSON.stringify(raw)}`, {
    field: 'backend',
  });
}

/** Dynamic import by a computed name, so TypeScript and bundlers do not require the package to exist. */
async function importOptional(name: string): Promise<{ ok: true } | { ok: false; why: string }> {
  try {
    await import(name);
    return { ok: true };
  } catch (error) {
    const message = (error as Error).message.split('\n')[0] ?? String(error);
    return { ok: false, why: message };
  }
}

async function activate(backend: EngineName): Promise<void> {
  // tfjs' PROD flag only silences its console warnings (e.g. the "install tfjs-node" banner); this module
  // logs the engine choice and its reason instead.
  tf.env().set('PROD', true);
  if (backend === 'wasm') await import('@tensorflow/tfjs-backend-wasm');
  if (backend === 'cpu') await import('@tensorflow/tfjs-backend-cpu');
  if (!(await tf.setBackend(backend))) {
    throw new NasnetError('ENGINE_UNAVAILABLE', `the ${backend} backend failed to initialise`, { backend });
  }
  await tf.ready();
  // Also on cpu/tensorflow: besides the wasm kernels it replaces gradients tfjs-core gets wrong on every
  // backend (avg-pool 'same' borders, dilations, comparisons). Idempotent.
  registerWasmTrainingKernels();
}

async function tryNative(): Promise<{ info?: EngineInfo; failures: string[] }> {
  const failures: string[] = [];
  for (const name of NATIVE_PACKAGES) {
    const loaded = await importOptional(name);
    if (!loaded.ok) {
      failures.push(`${name}: ${loaded.why}`);
      continue;
    }
    if (tf.findBackend('tensorflow') === null) {
      failures.push(`${name}: loaded but registered no 'tensorflow' backend (a second copy of tfjs-core?)`);
      continue;
    }
    return { info: { backend: 'tensorflow', package: name, reason: `${name} is installed` }, failures };
  }
  return { failures };
}

/**
 * Selects and initialises the engine. `auto` tries tfjs-node-gpu, then tfjs-node, then wasm; an explicit
 * request fails with ENGINE_UNAVAILABLE when it cannot be met. Calling again with the same request is free;
 * a different request switches the backend.
 */
export async function initEngine(options: InitEngineOptions = {}): Promise<EngineInfo> {
  const request = options.backend ?? 'auto';
  const logger = options.logger ?? silentLogger;
  if (current !== undefined && (request === 'auto' || request === current.backend) && tf.getBackend() === current.backend) {
    return current;
  }

  let info: EngineInfo;
  if (request === 'auto' || request === 'tensorflow') {
    const native = await tryNative();
    if (native.info !== undefined) {
      info = native.info;
    } else if (request === 'tensorflow') {
      throw new NasnetError(
        'ENGINE_UNAVAILABLE',
        `backend "tensorflow" needs @tensorflow/tfjs-node or @tensorflow/tfjs-node-gpu installed (npm install @tensorflow/tfjs-node); ${native.failures.join('; ')}`,
        { backend: 'tensorflow' },
      );
    } else {
      info = { backend: 'wasm', package: '@tensorflow/tfjs-backend-wasm', reason: 'default: no tfjs-node package is installed' };
      logger.debug({ failures: native.failures }, 'optional native engines not available');
    }
  } else {
    const pkg = request === 'wasm' ? '@tensorflow/tfjs-backend-wasm' : '@tensorflow/tfjs-backend-cpu';
    info = { backend: request, package: pkg, reason: 'requested' };
  }

  await activate(info.backend);
  current = info;
  logger.info({ engine: info.backend, package: info.package, reason: info.reason }, `engine: ${info.backend}`);
  return info;
}

/** The engine initialised last, if any. */
export function currentEngine(): EngineInfo | undefined {
  return current;
}
