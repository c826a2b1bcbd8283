// A worker thread of EvalPool: runs category groups of each share it receives (parallel.ts).
import { parentPort } from 'node:worker_threads';
import { runShare, type Share } from './parallel.js';

parentPort?.on('message', (s: Share) => {
  runShare(s);
  parentPort!.postMessage('done');
});
