// Speed of the synthetic dataset generators and of the detection batcher that reads their output:
// `nasnet data shapes` (320x320, PNG and JPEG), `nasnet data classes` (32x32 PNG), then one epoch of
// detection batches (decode + jitter + flip + pad) over the PNG set. Output goes to a temp dir, removed after.
// Usage: npm run build && node dist/bench/data_generation.js [--shapes 1000] [--per-class 500] [--batch 8]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import { initEngine } from '../core/engine.js';
import { generateShapesDataset, resolveShapesConfig } from '../data/shapes.js';
import { generateSyntheticClasses } from '../data/synthetic_classes.js';
import { loadCocoSplit } from '../data/coco_dataset.js';
import { detectionBatches } from '../data/detection_batcher.js';
import { DEFAULT_DETECTION_AUGMENT } from '../data/augment.js';

export async function main(argv: string[] = process.argv.slice(2)): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: { shapes: { type: 'string', default: '1000' }, 'per-class': { type: 'string', default: '500' }, batch: { type: 'string', default: '8' } },
  });
  const shapes = Number(values.shapes);
  const perClass = Number(values['per-class']);
  const dir = mkdtempSync(join(tmpdir(), 'nasnet-bench-data-'));
  try {
    const config = resolveShapesConfig();
    for (const format of ['png', 'jpeg'] as const) {
      const s = await generateShapesDataset({ outDir: join(dir, `shapes-${format}`), train: shapes, val: 0, seed: 0, config, file: { format, quality: 92 } });
      console.log(`shapes ${format}: ${shapes} images 320x320 (${s.annotations.train} objects) in ${s.seconds.toFixed(1)} s = ${(shapes / s.seconds).toFixed(0)} images/s`);
    }
    const c = await generateSyntheticClasses({ outDir: join(dir, 'classes'), trainPerClass: perClass, valPerClass: 0, seed: 0 });
    console.log(`classes png: ${c.images.train} images 32x32 in ${c.seconds.toFixed(1)} s = ${(c.images.train / c.seconds).toFixed(0)} images/s`);

    await initEngine({ backend: 'wasm' });
    const dataset = await loadCocoSplit(join(dir, 'shapes-png'), 'train');
    const options = { batchSize: Number(values.batch), seed: 0, shuffle: true, shortSide: 320, maxSide: 320, augment: DEFAULT_DETECTION_AUGMENT };
    const started = performance.now();
    for await (const batch of detectionBatches(dataset, options, 0)) batch.dispose();
    const seconds = (performance.now() - started) / 1000;
    console.log(`detection batches: ${dataset.records.length} images (batch ${options.batchSize}, jitter 0.8-1.2, flip) in ${seconds.toFixed(1)} s = ${(dataset.records.length / seconds).toFixed(0)} images/s`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return 0;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  process.exitCode = await main();
}
