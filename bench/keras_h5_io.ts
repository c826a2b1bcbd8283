// Read and write times of backbones/keras_h5.ts on the Keras NASNetMobile weight file (23 MB, 1126 tensors).
// Usage: npx tsx bench/keras_h5_io.ts [FILE.h5] [--runs N] [--out PATH]
//   FILE.h5  default test/fixtures/keras-nasnet/mobile_seed1.h5, else ../shared/fixtures/keras-nasnet/mobile_seed1.h5
//   --out    keep one written file there (input of bench/keras_h5_crosscheck.py)
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readKerasWeights, readKerasWeightsFile, writeKerasWeights, writeKerasWeightsFile } from '../backbones/keras_h5.js';
import { packageRoot } from '../core/paths.js';

function defaultFile(): string {
  const local = join(packageRoot(), 'test', 'fixtures', 'keras-nasnet', 'mobile_seed1.h5');
  return existsSync(local) ? local : resolve(packageRoot(), '..', 'shared', 'fixtures', 'keras-nasnet', 'mobile_seed1.h5');
}

async function timeMs(fn: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  await fn();
  return performance.now() - start;
}

async function median(runs: number, fn: () => Promise<unknown>): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) times.push(await timeMs(fn));
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)]!;
}

export async function main(argv = process.argv.slice(2)): Promise<void> {
  const flag = (name: string): string | undefined => {
    const i = argv.indexOf(name);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const runs = Number(flag('--runs') ?? 5);
  const input = argv.find((a, i) => !a.startsWith('--') && !(argv[i - 1] ?? '').startsWith('--')) ?? defaultFile();
  const size = (await stat(input)).size;
  const scratch = await mkdtemp(join(tmpdir(), 'keras_h5_io-'));
  try {
    const cold = await timeMs(() => readKerasWeightsFile(input)); // includes loading the wasm module
    const file = await readKerasWeightsFile(input);
    const bytes = await readFile(input);
    const tensors = file.layers.reduce((n, l) => n + l.weights.length, 0);
    const rows: [string, number][] = [
      ['read path, first call (wasm init)', cold],
      ['read path', await median(runs, () => readKerasWeightsFile(input))],
      ['read bytes (via temp file)', await median(runs, () => readKerasWeights(bytes))],
      ['write path', await median(runs, () => writeKerasWeightsFile(file, join(scratch, 'out.h5')))],
      ['write bytes (via temp file)', await median(runs, () => writeKerasWeights(file))],
    ];
    console.log(`${input}: ${(size / 1e6).toFixed(1)} MB, ${file.layerNames.length} layers, ${tensors} tensors; median of ${runs} runs`);
    for (const [what, ms] of rows) console.log(`  ${what.padEnd(36)} ${ms.toFixed(0).padStart(6)} ms  ${((size / 1e6) / (ms / 1000)).toFixed(0).padStart(5)} MB/s`);
    const out = flag('--out');
    if (out !== undefined) {
      await writeKerasWeightsFile(file, out);
      console.log(`wrote ${out}`);
    }
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await main();
