// Fault injection into node:fs/promises for code that imports it by name (`import { rename } from
// 'node:fs/promises'`): the CommonJS object is patched and `syncBuiltinESMExports` updates the ES module
// bindings, so the code under test needs no seam. Every call (and every FileHandle write or sync) is one
// step; the chosen step fails with EIO or never returns (what a kill at that point leaves on disk).
import fsp from 'node:fs/promises';
import { syncBuiltinESMExports } from 'node:module';

export type FaultMode = 'fail' | 'stop';

const CALLS = ['open', 'readFile', 'readdir', 'rename', 'rm', 'mkdir', 'stat'] as const;
const HANDLE_CALLS = new Set<PropertyKey>(['writeFile', 'sync']);

export interface FsFaults {
  /** The steps seen so far, e.g. "rename ckpt3 -> ckpt3.old". */
  readonly steps: string[];
  /** Resolves when the faulty step is reached (it never resolves when there are fewer steps). */
  readonly reached: Promise<void>;
  /** Puts the real functions back. */
  restore(): void;
}

type AnyFn = (...args: unknown[]) => Promise<unknown>;

/**
 * Instruments node:fs/promises until restore(); `at` is the 0-based step to fault (-1: none, just count).
 * `name` shortens the paths in step labels.
 */
export function injectFsFaults(at: number, mode: FaultMode, name: (path: unknown) => string): FsFaults {
  const steps: string[] = [];
  let onReached!: () => void;
  const reached = new Promise<void>((resolve) => { onReached = resolve; });
  const step = async (label: string): Promise<void> => {
    steps.push(label);
    if (steps.length - 1 !== at) return;
    onReached();
    if (mode === 'fail') throw Object.assign(new Error(`injected EIO at ${label}`), { code: 'EIO' });
    await new Promise<never>(() => {}); // a kill: nothing after this step happens
  };
  const wrapHandle = (handle: object, path: string): object => new Proxy(handle, {
    get(target, prop) {
      const value = Reflect.get(target, prop, target) as unknown;
      if (typeof value !== 'function') return value;
      if (!HANDLE_CALLS.has(prop)) return value.bind(target);
      return async (...args: unknown[]) => {
        await step(`${String(prop)} ${path}`);
        return (value as AnyFn).apply(target, args);
      };
    },
  });
  const table = fsp as unknown as Record<string, AnyFn>;
  const originals = new Map(CALLS.map((call) => [call, table[call]!]));
  for (const call of CALLS) {
    const original = originals.get(call)!;
    table[call] = async (...args: unknown[]) => {
      const label = call === 'rename' ? `${name(args[0])} -> ${name(args[1])}` : name(args[0]);
      await step(`${call} ${label}`);
      const result = await original(...args);
      return call === 'open' ? wrapHandle(result as object, name(args[0])) : result;
    };
  }
  syncBuiltinESMExports();
  return {
    steps,
    reached,
    restore() {
      for (const [call, original] of originals) table[call] = original;
      syncBuiltinESMExports();
    },
  };
}
