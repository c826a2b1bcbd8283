#!/usr/bin/env node
// coco-eval GT.json DT.json [options]: the pycocotools-js package's CLI under this package's bin, so
// that installing nasnet-ts alone gives the same command (see eval/README.md).
import { main } from 'pycocotools-js/cli';
import { isDirectRun, runMain } from './run.js';

export { main };

if (isDirectRun(import.meta.url)) runMain(main);
