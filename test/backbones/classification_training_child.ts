// Not a test: the training process that classification_training.test.ts SIGKILLs mid-run. It trains with
// the options JSON in $NASNET_CLS_CHILD_OPTIONS on the wasm engine. Without that variable (e.g. when a test
// runner picks this file up) it does nothing.
import { Writable } from 'node:stream';
import { initEngine } from '../../core/engine.js';
import { trainClassifier } from '../../backbones/classification_training.js';
import type { ClassificationTrainingInput } from '../../backbones/classification_training_config.js';

const raw = process.env.NASNET_CLS_CHILD_OPTIONS;
if (raw !== undefined) {
  await initEngine({ backend: 'wasm' });
  const quiet = new Writable({ write: (_chunk, _encoding, done) => done() });
  await trainClassifier(JSON.parse(raw) as ClassificationTrainingInput, { stream: quiet });
}
