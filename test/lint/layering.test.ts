// The layering lint rule (eslint.config.js) fails on an import against the direction of the floors and
// passes the directions STYLE.md allows. Each case is linted as if it were a file at that path.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { ESLint } from 'eslint';
import { packageRoot } from '../../core/paths.js';

const eslint = new ESLint({ cwd: packageRoot() });

async function layeringErrors(file: string, source: string): Promise<string[]> {
  const [result] = await eslint.lintText(`${source}\nexport const probe = x;\n`, { filePath: join(packageRoot(), file) });
  return result.messages.filter((m) => m.ruleId === 'no-restricted-imports').map((m) => m.message);
}

describe('layering lint rule', () => {
  const refused: [string, string][] = [
    ['core/probe.ts', "import { x } from '../src/index.js';"],
    ['core/training/probe.ts', "import { x } from '../../data/batcher.js';"],
    ['data/probe.ts', "import { x } from '../cells/index.js';"],
    ['cells/probe.ts', "import { x } from '../backbones/index.js';"],
    ['backbones/probe.ts', "import { x } from '../src/api/classifier.js';"],
    ['detection/probe.ts', "import { x } from '../search/run.js';"],
    ['search/probe.ts', "import { x } from '../src/cli/run.js';"],
    ['src/api/probe.ts', "import { x } from '../server/app.js';"],
    ['data/probe.ts', "import { x } from '../eval/types.js';"],
    ['eval/probe.ts', "import { x } from '../core/errors.js';"],
    ['eval/probe.ts', "import { x } from '@tensorflow/tfjs-core';"],
    ['eval/test/probe.ts', "import { x } from '../../core/paths.js';"],
  ];
  for (const [file, source] of refused) {
    test(`refuses ${file}: ${source}`, async () => {
      assert.equal((await layeringErrors(file, source)).length, 1);
    });
  }

  const allowed: [string, string][] = [
    ['src/api/probe.ts', "import { x } from '../../detection/index.js';"],
    ['detection/probe.ts', "import { x } from '../backbones/index.js';"],
    ['data/probe.ts', "import { x } from 'pycocotools-js';"],
    ['core/training/probe.ts', "import { x } from '../errors.js';"],
    ['eval/test/probe.ts', "import { x } from '../coco.js';"],
    ['src/cli/probe.ts', "import { x } from '../server/app.js';"],
  ];
  for (const [file, source] of allowed) {
    test(`allows ${file}: ${source}`, async () => {
      assert.deepEqual(await layeringErrors(file, source), []);
    });
  }
});
