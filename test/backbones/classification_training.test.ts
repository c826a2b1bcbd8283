import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { initEngine } from '../../core/engine.js';
import { readCheckpointManifest } from '../../core/checkpoint.js';
import { fitRgb } from '../../core/image_io.js';
import { runTraining, type TrainingState } from '../../core/training/loop.js';
import { generateSyntheticClasses, SYNTHETIC_CLASS_NAMES } from '../../data/synthetic_classes.js';
import { loadClassifier } from '../../src/api/classifier.js';
import { ClassificationTrainingTask, classificationLoss, trainingBackbone } from '../../backbones/classification_training.js';
import { resolveClassificationTraining, type ClassificationTrainingInput } from '../../backbones/classification_training_config.js';
import { tempDir } from '../data/temp.js';

const quiet = new Writable({ write: (_chunk, _encoding, done) => done() });
const here = fileURLToPath(import.meta.url);

// CIFAR stem (cells at 32x32 and 16x16, aux head on the 16x16 map), F = 4, drop path on: every part of a
// real run, at about a second a step on two cores.
const BACKBONE = { preset: 'cifar', numCells: 1, penultimateFilters: 96, stemFilters: 8, inputSize: 32, dropPathKeepProb: 0.7 } as const;
const EPOCHS = 3;
const BATCH = 8;

let data: string;
let root: string;
const options = (out: string, extra: Partial<ClassificationTrainingInput> = {}): ClassificationTrainingInput => ({
  data, out, backbone: BACKBONE, epochs: EPOCHS, batchSize: BATCH, learningRate: 0.1, seed: 7, ...extra,
});

/** Wraps a task's trainStep to record each step's losses (by global step) and the live tensor count after it. */
function record(task: ClassificationTrainingTask) {
  const losses = new Map<number, number>();
  const tensors: number[] = [];
  const inner = task.trainStep.bind(task);
  task.trainStep = async (batch, step) => {
    const out = await inner(batch, step);
    losses.set(step, out.loss!);
    tensors.push(tf.memory().numTensors);
    return out;
  };
  return { losses, tensors };
}

before(async () => {
  await initEngine({ backend: 'wasm' });
  root = tempDir('cls-train');
  data = join(root, 'data');
  // 40 training images: 5 steps of 8 an epoch.
  await generateSyntheticClasses({ outDir: data, trainPerClass: 4, valPerClass: 2, seed: 3, size: 32 });
});

describe('resolveClassificationTraining', () => {
  const base = { data: '/d', out: '/o' };
  test('fills the documented defaults (slim CIFAR recipe)', () => {
    const o = resolveClassificationTraining(base);
    assert.deepEqual([o.optimizer, o.learningRate, o.schedule, o.weightDecay, o.labelSmoothing, o.auxWeight, o.clipGlobalNorm], ['momentum', 0.025, 'cosine', 5e-4, 0.1, 0.4, 5]);
  });
  test('errors name the field, the expected values and what was received', () => {
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ batchSize: 0 }, /batchSize must be an integer in \[1, 4096\]; received 0/],
      [{ optimizer: 'adam' }, /optimizer must be one of momentum, rmsprop; received "adam"/],
      [{ schedule: 'step' }, /schedule must be one of cosine, exponential, constant; received "step"/],
      [{ labelSmoothing: 1.5 }, /labelSmoothing must be a number in \[0, 1\]; received 1.5/],
      [{ learningRate: 0 }, /learningRate must be a number in \(0, Infinity\]; received 0/],
      [{ augment: { pad: -1, flipProbability: 0.5 } }, /augment.pad must be an integer in \[0, 1024\]; received -1/],
      [{ backbone: 'tiny' }, /backbone must be a preset \(mobile, large, cifar\) or a partial NasnetConfig; received "tiny"/],
      [{ lr: 0.1 }, /unknown option "lr"; known: .*learningRate/],
      [{ out: '' }, /out must be a non-empty path; received ""/],
    ];
    for (const [extra, message] of cases) {
      assert.throws(() => resolveClassificationTraining({ ...base, ...extra } as ClassificationTrainingInput), (e: Error & { code?: string }) => {
        assert.equal(e.code, 'INVALID_CONFIG');
        assert.match(e.message, message);
        return true;
      });
    }
  });
  test('the trained backbone takes its classes from the data and outputs logits; BN momentum defaults to 0.9', () => {
    const o = resolveClassificationTraining({ ...base, backbone: BACKBONE });
    const config = trainingBackbone(o, 10);
    assert.deepEqual([config.classes, config.classifierActivation, config.bnMomentum, config.auxHead], [10, 'linear', 0.9, true]);
    assert.throws(() => trainingBackbone({ ...o, backbone: { ...BACKBONE, classes: 5 } }, 10), /backbone.classes is 5 but \/d has 10 classes/);
  });
});

test('classificationLoss: label-smoothed softmax cross-entropy (hand-computed)', () => {
  // logits [0, ln 3] -> p = [1/4, 3/4]; label 1 smoothed by 0.2 over 2 classes -> target [0.1, 0.9].
  const loss = classificationLoss(tf.tensor2d([[0, Math.log(3)]]), tf.tensor1d([1], 'int32'), 0.2);
  const expected = -(0.1 * Math.log(0.25) + 0.9 * Math.log(0.75));
  assert.ok(Math.abs(loss.dataSync()[0]! - expected) < 1e-6);
  loss.dispose();
});

describe('training', () => {
  let dirA: string;
  const reference = { losses: new Map<number, number>(), final: undefined as TrainingState | undefined, probs: undefined as Float32Array | undefined };
  const image = (): string => join(data, 'val', 'star', '00001.png');

  test('a short run lowers the loss, validates each epoch and leaks no tensors', async () => {
    dirA = join(root, 'a');
    const task = await ClassificationTrainingTask.create(options(dirA));
    try {
      assert.equal(task.stepsPerEpoch, 5);
      const { losses, tensors } = record(task);
      reference.final = await runTraining(task, { stream: quiet });
      reference.losses = losses;
      assert.equal(reference.final.globalStep, EPOCHS * 5);
      const history = reference.final.history;
      assert.equal(history.length, EPOCHS);
      assert.ok(history[2]!.train.loss! < 0.85 * history[0]!.train.loss!, `epoch losses ${history.map((h) => h.train.loss!.toFixed(3)).join(' -> ')}`);
      for (const h of history) assert.ok(h.validation.val_accuracy! >= 0 && h.validation.val_accuracy! <= 1 && h.validation.val_loss! > 0);
      // Step 1 creates the optimizer's slots; afterwards every step leaves the same number of tensors.
      assert.deepEqual(new Set(tensors.slice(1)).size, 1, `tensors after each step: ${tensors.join(' ')}`);
      // The network's own inference-mode probabilities for one image, for the classifier test below.
      const bytes = await readFile(image());
      const fitted = await fitRgb(bytes, { width: 32, height: 32, mode: 'stretch', kernel: 'linear' });
      reference.probs = tf.tidy(() => {
        const x = tf.sub(tf.div(tf.tensor4d(Float32Array.from(fitted.image.data), [1, 32, 32, 3]), 127.5), 1);
        const out = task.network.model.apply(x, { training: false }) as tf.Tensor[];
        return tf.softmax(out[0]!).dataSync() as Float32Array;
      });
    } finally {
      task.dispose();
    }
  });

  test('the checkpoint is a classifier artifact: training state under training/, loadClassifier reproduces the network', async () => {
    const manifest = await readCheckpointManifest(dirA);
    const names = manifest.weightsManifest.flatMap((g) => g.weights.map((w) => w.name));
    assert.ok(names.some((n) => n.startsWith('training/aux_')), 'aux head weights stored as training state');
    assert.ok(names.some((n) => n.startsWith('training/optimizer/stem_conv1/kernel/momentum')));
    assert.equal((manifest.config as { format: string }).format, 'nasnet-ts/classifier@1');
    const classifier = await loadClassifier({ weights: dirA, engine: 'tfjs' });
    try {
      const { predictions } = await classifier.classify(await readFile(image()), { topK: 10 });
      assert.deepEqual(predictions.map((p) => p.label).sort(), [...SYNTHETIC_CLASS_NAMES].sort());
      for (const p of predictions) assert.ok(Math.abs(p.score - reference.probs![p.classId]!) < 1e-5, `${p.label}: ${p.score} vs ${reference.probs![p.classId]}`);
    } finally {
      classifier.dispose();
    }
  });

  test('a run SIGKILLed mid-epoch resumes from its last checkpoint and repeats the uninterrupted run step for step', async () => {
    const dirB = join(root, 'b');
    const child = join(here, '..', `classification_training_child${extname(here)}`);
    const execArgv = process.execArgv.filter((a) => !a.startsWith('--test'));
    const env = { ...process.env, NASNET_CLS_CHILD_OPTIONS: JSON.stringify(options(dirB, { checkpointEverySteps: 2 })) };
    const proc = spawn(process.execPath, [...execArgv, child], { env, stdio: 'ignore' });
    const exited = new Promise((resolve) => proc.on('exit', resolve));
    let saved: TrainingState | undefined;
    try {
      // Kill once a mid-epoch checkpoint of epoch 2 exists (global step 7 = epoch 2, step 2).
      for (let waited = 0; waited < 120_000 && (saved === undefined || saved.globalStep < 7); waited += 100) {
        await new Promise((r) => setTimeout(r, 100));
        saved = await readCheckpointManifest(dirB).then((m) => (m.extra as { state: TrainingState }).state, () => undefined);
      }
    } finally {
      proc.kill('SIGKILL');
      await exited;
    }
    assert.ok(saved !== undefined && saved.globalStep >= 7, 'the child checkpointed mid-epoch');
    const state = ((await readCheckpointManifest(dirB)).extra as { state: TrainingState }).state;
    assert.ok(state.globalStep < EPOCHS * 5, `killed before the end (at step ${state.globalStep})`);

    const task = await ClassificationTrainingTask.create(options(dirB, { checkpointEverySteps: 2 }));
    try {
      const { losses } = record(task);
      const final = await runTraining(task, { stream: quiet, checkpointEverySteps: 2 });
      assert.deepEqual([...losses.keys()], Array.from({ length: EPOCHS * 5 - state.globalStep }, (_, i) => state.globalStep + i), 'no step lost or repeated');
      // Bit-identical: same weights, optimizer slots, batches, augmentation and drop-path masks (unseeded masks differ from step 7 on).
      for (const [step, loss] of losses) assert.equal(loss, reference.losses.get(step), `step ${step}`);
      assert.equal(final.history.length, EPOCHS);
      assert.equal(final.history[2]!.validation.val_loss, reference.final!.history[2]!.validation.val_loss);
    } finally {
      task.dispose();
    }
  });

  test('ImageNet recipe: exponential decay x0.97 every 2.4 epochs (staircase) and an RMSProp step', async () => {
    const task = await ClassificationTrainingTask.create(options(join(root, 'rms'), { schedule: 'exponential', optimizer: 'rmsprop', learningRate: 0.01 }));
    try {
      // 2.4 epochs of 5 steps = 12 steps a period.
      assert.deepEqual([0, 11, 12, 24].map((s) => task.learningRate(s)), [0.01, 0.01, 0.01 * 0.97, 0.01 * 0.97 ** 2]);
      await task.restore();
      for await (const batch of task.batches(0, 0)) {
        const losses = await task.trainStep(batch, 0);
        batch.dispose();
        assert.ok(Number.isFinite(losses.loss) && losses.loss! > 0 && Number.isFinite(losses.aux_loss));
        break;
      }
    } finally {
      task.dispose();
    }
  });

  test('resuming with a different network is refused, naming what differs', async () => {
    const task = await ClassificationTrainingTask.create(options(dirA, { backbone: { ...BACKBONE, dropPathKeepProb: 0.8 } }));
    try {
      await assert.rejects(task.restore(), /different backbone.dropPathKeepProb; use another --out or the same settings/);
    } finally {
      task.dispose();
    }
  });
});
