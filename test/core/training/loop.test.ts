import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { runTraining, type TrainingState, type TrainingTask } from '../../../core/training/loop.js';

const quiet = new Writable({ write: (_chunk, _enc, done) => done() });

/** A task whose "model" is a running list of the batches it trained on; checkpoints are in-memory copies. */
function fakeTask(store: { saved?: { state: TrainingState; seen: string[] } }, crashAt?: number) {
  const seen: string[] = store.saved ? [...store.saved.seen] : [];
  let steps = 0;
  const task: TrainingTask<{ id: string; dispose(): void }> = {
    epochs: 3,
    stepsPerEpoch: 4,
    async *batches(epoch, skip) {
      for (let i = skip; i < 4; i++) yield { id: `e${epoch}b${i}`, dispose() {} };
    },
    async trainStep(batch, globalStep) {
      if (crashAt !== undefined && steps === crashAt) throw new Error('killed');
      steps += 1;
      seen.push(`${batch.id}@${globalStep}`);
      return { loss: 1 / (globalStep + 1) };
    },
    async validate(epoch) {
      return { accuracy: epoch / 10 };
    },
    async save(state) {
      store.saved = { state, seen: [...seen] };
    },
    async restore() {
      return store.saved?.state;
    },
  };
  return { task, seen };
}

test('an interrupted run resumes from its last checkpoint and trains on exactly the same batches', async () => {
  const reference = fakeTask({});
  const finalRef = await runTraining(reference.task, { stream: quiet });
  assert.equal(finalRef.globalStep, 12);
  assert.equal(finalRef.history.length, 3);
  assert.deepEqual(finalRef.history.map((h) => h.validation.accuracy), [0, 0.1, 0.2]);

  const store: { saved?: { state: TrainingState; seen: string[] } } = {};
  // Checkpoint every 2 steps, die at step 7 (inside epoch 2): steps after the last checkpoint are redone.
  await assert.rejects(runTraining(fakeTask(store, 7).task, { stream: quiet, checkpointEverySteps: 2 }), /killed/);
  assert.deepEqual(store.saved?.state.globalStep, 6);
  const resumed = fakeTask(store);
  const final = await runTraining(resumed.task, { stream: quiet, checkpointEverySteps: 2 });
  assert.deepEqual(resumed.seen, reference.seen);
  assert.equal(final.globalStep, 12);
  assert.equal(final.history.length, 3);
});

test('a non-finite loss stops training with a message naming the loss and the step', async () => {
  const store = {};
  const { task } = fakeTask(store);
  task.trainStep = async () => ({ loss: Number.NaN });
  await assert.rejects(runTraining(task, { stream: quiet }), /loss = NaN at epoch 1, step 1/);
});

test('an abort signal checkpoints the current step and returns', async () => {
  const store: { saved?: { state: TrainingState; seen: string[] } } = {};
  const controller = new AbortController();
  const { task } = fakeTask(store);
  const inner = task.trainStep;
  task.trainStep = async (batch, step) => {
    if (step === 5) controller.abort();
    return inner(batch, step);
  };
  const state = await runTraining(task, { stream: quiet, signal: controller.signal });
  assert.equal(state.globalStep, 6);
  assert.equal(store.saved?.state.stepInEpoch, 2);
});

test('an epoch interrupted and resumed records the mean loss of all its steps, as an uninterrupted run does', async () => {
  const reference = await runTraining(fakeTask({}).task, { stream: quiet });
  // Epoch 2's loss is 1 / (globalStep + 1) over steps 4..7: a mean over its last two steps alone differs.
  assert.equal(reference.history[1]!.train.loss, (1 / 5 + 1 / 6 + 1 / 7 + 1 / 8) / 4);
  const store: { saved?: { state: TrainingState; seen: string[] } } = {};
  await assert.rejects(runTraining(fakeTask(store, 6).task, { stream: quiet, checkpointEverySteps: 2 }), /killed/);
  assert.equal(store.saved?.state.stepInEpoch, 2);
  // What a checkpoint keeps goes through JSON.
  store.saved = { ...store.saved!, state: JSON.parse(JSON.stringify(store.saved!.state)) as TrainingState };
  const resumed = await runTraining(fakeTask(store).task, { stream: quiet, checkpointEverySteps: 2 });
  assert.deepEqual(resumed.history.map((h) => h.train), reference.history.map((h) => h.train));
});

test('off a terminal the first step prints at once, and a resumed run says where it resumed', async () => {
  let text = '';
  const log = new Writable({ write: (chunk, _enc, done) => { text += String(chunk); done(); } });
  const store: { saved?: { state: TrainingState; seen: string[] } } = {};
  await assert.rejects(runTraining(fakeTask(store, 6).task, { stream: log, checkpointEverySteps: 2 }), /killed/);
  assert.match(text.split('\n')[0]!, /^epoch 1\/3 step 1\/4 loss /);
  assert.doesNotMatch(text, /resumed/);
  text = '';
  await runTraining(fakeTask(store).task, { stream: log, checkpointEverySteps: 2 });
  const lines = text.split('\n');
  assert.equal(lines[0], 'resumed at epoch 2/3, step 2/4 (global step 6)');
  assert.match(lines[1]!, /^epoch 2\/3 step 3\/4 /);
});
