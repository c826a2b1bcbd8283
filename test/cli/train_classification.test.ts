import { test } from 'node:test';
import assert from 'node:assert/strict';
import { classificationOptions, main } from '../../src/cli/train_classification.js';
import { SMALL_CLASSIFIER_BACKBONE } from '../../backbones/classification_training_config.js';
import { runCli } from '../helpers/cli.js';

test('--help prints the usage with the documented defaults', async () => {
  const { code, stdout } = await runCli(main, '--help');
  assert.equal(code, 0);
  assert.match(stdout, /^Usage: nasnet train --task classification --data DIR --out CKPT/);
  assert.match(stdout, /--lr X\s+peak learning rate \(default 0.025\)/);
  assert.match(stdout, /--schedule NAME\s+cosine \(one period over the run\), exponential, constant \(default cosine\)/);
});

test('flags map onto the trainer options; unset flags are left to the defaults', () => {
  const options = classificationOptions({
    data: 'd', out: 'o', stem: 'imagenet', 'num-cells': '2', 'no-aux-head': true, 'drop-path-keep': '0.7', lr: '0.1',
    optimizer: 'rmsprop', schedule: 'exponential', pad: '2', 'checkpoint-every': '50',
  });
  assert.deepEqual(options, {
    data: 'd',
    out: 'o',
    backbone: { ...SMALL_CLASSIFIER_BACKBONE, stem: 'imagenet', numCells: 2, auxHead: false, dropPathKeepProb: 0.7 },
    augment: { pad: 2, flipProbability: 0.5 },
    learningRate: 0.1,
    optimizer: 'rmsprop',
    schedule: 'exponential',
    checkpointEverySteps: 50,
  });
  assert.deepEqual(classificationOptions({ data: 'd', out: 'o', preset: 'mobile' }).backbone, { preset: 'mobile' });
});

test('bad command lines exit 2 (usage) or 5 (config) with a message naming the flag', async () => {
  const cases: [string[], number, RegExp][] = [
    [['--out', 'o'], 2, /--data is required/],
    [['--data', 'd', '--out', 'o', '--epochs', 'ten'], 2, /--epochs must be a number; received "ten"/],
    [['--data', 'd', '--out', 'o', '--stem', 'big'], 2, /--stem must be cifar or imagenet; received "big"/],
    [['--data', 'd', '--out', 'o', '--task', 'detection'], 2, /--task must be classification here/],
    [['--data', 'd', '--out', 'o', '--bogus'], 2, /bogus/],
    [['--data', 'd', '--out', 'o', '--optimizer', 'adam'], 5, /optimizer must be one of momentum, rmsprop; received "adam"/],
  ];
  for (const [argv, exit, message] of cases) {
    const { code, stderr } = await runCli(main, ...argv);
    assert.equal(code, exit, `${argv.join(' ')}: ${stderr}`);
    assert.match(stderr, message);
  }
});
