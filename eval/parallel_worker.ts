// A worker thread of EvalPool: parses a results file into columns, or runs category groups of a
// share (parallel.ts).
import { readFileSync } from 'node:fs';
import { parentPort } from 'node:worker_threads';
import { runShare, type Share } from './parallel.js';
import { parseBboxResults } from './results_parser.js';

export type WorkerRequest = { type: 'parse'; path: string } | { type: 'share'; share: Share };

parentPort?.on('message', (m: WorkerRequest) => {
  if (m.type === 'share') {
    runShare(m.share);
    parentPort!.postMessage('done');
    return;
  }
  // null for anything the fast reader does not take, unreadable files included: the main thread
  // then reads and parses the file itself and reports what is wrong
  let cols = null;
  try {
    cols = parseBboxResults(readFileSync(m.path));
  } catch {
    cols = null;
  }
  // the columns are in shared memory: posted without a copy
  parentPort!.postMessage(cols && { n: cols.n, imageId: cols.imageId, categoryId: cols.categoryId, bbox: cols.bbox, score: cols.score });
});
