// Faults injected inside saveCheckpoint: every file-system step of a save over an existing checkpoint
// fails (EIO) or never returns (a kill at that point), one at a time; the previous checkpoint must still
// load (or, once the new one is in place, the new one, complete), and the next save must succeed.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { initEngine } from '../../core/engine.js';
import { NasnetError } from '../../core/errors.js';
import { loadCheckpoint, saveCheckpoint } from '../../core/checkpoint.js';
import { injectFsFaults, type FaultMode } from '../helpers/fs_faults.js';

let root: string;
let counter = 0;

before(async () => {
  await initEngine({ backend: 'cpu' });
  root = await mkdtemp(join(tmpdir(), 'nasnet-ckpt-faults-'));
});

after(async () => {
  await rm(root, { recursive: true, force: true });
});

const shortName = (path: unknown): string => relative(root, String(path)).replace(/\.tmp-\d+-[0-9a-f]+/, '.tmp');

/** Saves `version` with weight `w` = [version, version + 1] in two shards (8-byte shards, 4 floats). */
async function save(dir: string, version: number): Promise<void> {
  const w = tf.tensor1d([version, version + 1, version + 2, version + 3]);
  try {
    await saveCheckpoint(dir, { config: { version }, weights: [{ name: 'w', tensor: w }], shardBytes: 8 });
  } finally {
    w.dispose();
  }
}

/** The version that loads from `dir`, after checking that its weights are complete and its own. */
async function loadedVersion(dir: string, label: string): Promise<number> {
  const loaded = await loadCheckpoint(dir).catch((e: unknown) => assert.fail(`${label}: nothing loads: ${(e as Error).message}`));
  const { version } = loaded.config as { version: number };
  const w = loaded.weights.get('w')!;
  assert.deepEqual(Array.from(w.dataSync()), [version, version + 1, version + 2, version + 3], label);
  w.dispose();
  return version;
}

describe('saveCheckpoint with a fault at each file-system step', () => {
  for (const mode of ['fail', 'stop'] as FaultMode[]) {
    test(`${mode}: the previous checkpoint loads until the new one is in place`, async () => {
      // The steps of a save over an existing checkpoint, counted on a clean run.
      const probe = join(root, 'probe');
      await save(probe, 1);
      const counting = injectFsFaults(-1, mode, shortName);
      try {
        await save(probe, 2);
      } finally {
        counting.restore();
      }
      const steps = counting.steps;
      const swap = steps.indexOf('rename probe.tmp -> probe');
      assert.ok(swap > 0, `the swap is not among the steps: ${steps.join('; ')}`);

      for (let at = 0; at < steps.length; at++) {
        const dir = join(root, `ckpt${counter++}`);
        const label = `${mode} at step ${at} (${steps[at]!.replaceAll('probe', 'ckpt')})`;
        await save(dir, 1);
        const faults = injectFsFaults(at, mode, shortName);
        let outcome: unknown;
        try {
          const saving = save(dir, 2).then(() => 'saved', (e: unknown) => e);
          outcome = mode === 'fail' ? await saving : await Promise.race([faults.reached, saving]);
        } finally {
          faults.restore();
        }
        if (mode === 'fail') assert.ok(outcome === 'saved' || outcome instanceof NasnetError, `${label}: ${String(outcome)}`);
        else assert.equal(outcome, undefined, `${label}: the save ended before the fault`);

        const version = await loadedVersion(dir, label);
        if (outcome === 'saved') assert.equal(version, 2, `${label}: the save reported success`);
        else if (at <= swap) assert.equal(version, 1, `${label}: expected the previous checkpoint`);
        // The next save finishes whatever the fault left, and nothing is left beside the checkpoint.
        await save(dir, 3);
        assert.equal(await loadedVersion(dir, `${label}, then saved again`), 3);
        assert.equal(existsSync(`${dir}.old`), false, label);
      }
    });
  }
});
