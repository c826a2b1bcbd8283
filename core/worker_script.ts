// Where a worker thread's script is and which Node flags it needs, for every pool of worker threads
// (the service's inference pool, data-parallel training replicas).
import { fileURLToPath } from 'node:url';

/** Flags a worker needs from the main process: module loaders and source maps. */
const LOADER_FLAGS = ['--require', '-r', '--import', '--loader', '--experimental-loader', '--conditions', '-C'];

/**
 * The loader-related part of process.execArgv. A worker must not inherit the rest: flags about the
 * main script (`--input-type`, `-e`) break it, and process-wide flags (`--expose-gc`) are refused.
 */
function loaderExecArgv(): string[] {
  const argv: string[] = [];
  for (let i = 0; i < process.execArgv.length; i++) {
    const arg = process.execArgv[i] as string;
    const name = arg.split('=')[0] as string;
    if (arg === '--enable-source-maps') argv.push(arg);
    else if (LOADER_FLAGS.includes(name)) argv.push(...(arg.includes('=') ? [arg] : [arg, process.execArgv[++i] as string]));
  }
  return argv;
}

/**
 * The worker script `name` beside the module at `moduleUrl`, with that module's extension: `.js` from
 * dist/, `.ts` under tsx. tsx registers its loader on the main thread only, so a `.ts` worker also needs
 * it registered.
 */
export function workerScript(moduleUrl: string, name: string): { filename: string; execArgv: string[] } {
  const extension = moduleUrl.endsWith('.ts') ? '.ts' : '.js';
  const filename = fileURLToPath(new URL(`./${name}${extension}`, moduleUrl));
  if (extension === '.js') return { filename, execArgv: loaderExecArgv() };
  const api = import.meta.resolve('tsx/esm/api');
  const boot = `data:text/javascript,import{register}from${encodeURIComponent(JSON.stringify(api))};register();`;
  return { filename, execArgv: [...loaderExecArgv(), '--import', boot] };
}
