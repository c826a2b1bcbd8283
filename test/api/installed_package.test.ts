// The README's library snippet from another package: `npm pack` of this repository, unpacked into a
// consumer's node_modules, and a script there calls loadDetector() and loadClassifier() without weights.
// They must find the embedded defaults in the installed package, not in the consumer's cwd. The runtime
// dependencies are linked from our node_modules (installing them from the registry would take minutes).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { packageRoot } from '../../core/paths.js';
import { encodePng } from '../../core/image_io.js';
import { renderShapesImage, shapesConfigForSize, shapesImageSeed, SHAPE_CATEGORIES } from '../../data/shapes.js';
import { generateSyntheticClasses } from '../../data/synthetic_classes.js';
import { iouMatrix } from '../../detection/box_ops.js';
import { tempDir } from '../data/temp.js';

const run = promisify(execFile);

const CONSUMER = `
import { readFileSync } from 'node:fs';
import { initEngine, loadClassifier, loadDetector, defaultDetectorPath, defaultClassifierPath } from 'nasnet-ts';
await initEngine({ backend: 'wasm' });
const detector = await loadDetector();
const classifier = await loadClassifier();
const { detections } = await detector.detect(readFileSync('shapes.png'));
const { predictions } = await classifier.classify(readFileSync('star.png'));
detector.dispose();
classifier.dispose();
console.log(JSON.stringify({ detections, predictions, paths: [defaultDetectorPath(), defaultClassifierPath()] }));
`;

test('an installed tarball: loadDetector() and loadClassifier() load the embedded defaults', { timeout: 120_000 }, async () => {
  const root = packageRoot();
  const work = tempDir('installed');
  const { stdout } = await run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', work], { cwd: root });
  const tarball = join(work, (JSON.parse(stdout) as { filename: string }[])[0]!.filename);
  const consumer = join(work, 'consumer');
  const installed = join(consumer, 'node_modules', 'nasnet-ts');
  mkdirSync(installed, { recursive: true });
  await run('tar', ['-xzf', tarball, '-C', installed, '--strip-components=1']);
  // Only the declared runtime dependencies: a runtime import of a devDependency must fail here.
  const { dependencies } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
  for (const name of Object.keys(dependencies)) {
    mkdirSync(join(consumer, 'node_modules', name, '..'), { recursive: true });
    symlinkSync(join(root, 'node_modules', name), join(consumer, 'node_modules', name), 'dir');
  }
  writeFileSync(join(consumer, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
  writeFileSync(join(consumer, 'check.mjs'), CONSUMER);

  const scene = renderShapesImage(shapesImageSeed(2026, 'val', 0), shapesConfigForSize(256));
  writeFileSync(join(consumer, 'shapes.png'), await encodePng(scene.image));
  await generateSyntheticClasses({ outDir: join(work, 'classes'), trainPerClass: 0, valPerClass: 1, seed: 4242, size: 32 });
  writeFileSync(join(consumer, 'star.png'), readFileSync(join(work, 'classes', 'val', 'star', '00001.png')));

  const result = await run(process.execPath, ['check.mjs'], { cwd: consumer });
  const out = JSON.parse(result.stdout) as {
    detections: { bbox: number[]; categoryId: number; label: string; score: number }[];
    predictions: { label: string }[];
    paths: string[];
  };
  for (const path of out.paths) assert.ok(path.startsWith(join(installed, 'models', 'default')), path);
  assert.equal(out.predictions[0]!.label, 'star');
  const yxyx = ([x, y, w, h]: readonly number[]): Float32Array => Float32Array.from([y!, x!, y! + h!, x! + w!]);
  // The model works: most objects of the scene are found (a detection of their class at IoU >= 0.5).
  const found = scene.annotations.filter((a) => out.detections.some((d) => d.categoryId === a.categoryId && iouMatrix(yxyx(d.bbox), yxyx(a.bbox))[0]! >= 0.5));
  assert.ok(scene.annotations.length >= 4 && found.length >= 0.75 * scene.annotations.length,
    `found ${found.map((a) => SHAPE_CATEGORIES[a.categoryId - 1]!.name)} of ${scene.annotations.length}: ${JSON.stringify(out.detections)}`);
});
