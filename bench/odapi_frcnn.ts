// Benchmark: the TF OD API's faster_rcnn_nas (NASNet-A Large Faster R-CNN) at the zoo's full width, with
// random weights built from the names and shapes of the zoo checkpoint (test/fixtures/odapi-frcnn-nas/
// variables_full_nasnet_large.tsv: 1,555 variables, 105 M parameters), at 1200 x 1200 (the zoo's
// fixed_shape_resizer), on onnxruntime-node: seconds per image, stage times and peak RSS, at 50 proposals
// (faster_rcnn_nas_lowproposals_coco) and 300 (faster_rcnn_nas_coco).
// Anchor (issue 16): the OD API's own graph on TF-CPU 2.21, 2 cores, same photo: 6.9 s/image at 50
// proposals (first run 11.4 s, peak RSS 2.9 GB), 23.8 s at 300.
//
//   npx tsx bench/odapi_frcnn.ts [--runs N] [--proposals 50,300] [--head-batch 64] [--threads 0] [--size 1200]
import { readFile } from 'node:fs/promises';
import { availableParallelism, loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { packageRoot } from '../core/paths.js';
import { createPrng } from '../core/prng.js';
import { CheckpointWeights, type HostWeight } from '../detection/odapi/checkpoint_weights.js';
import { OdapiFasterRcnnNas } from '../detection/odapi/faster_rcnn_nas.js';
import { parsePipelineConfig, type OdapiFasterRcnnConfig } from '../detection/odapi/pipeline_config.js';
import { OnnxOdapiNetwork } from '../src/api/odapi_detector.js';

const FIXTURE = join(packageRoot(), 'test', 'fixtures', 'odapi-frcnn-nas');
const gb = (bytes: number): string => (bytes / 2 ** 30).toFixed(2);

/** Random weights of the zoo's shapes: fan-in scaled normal kernels, BN near identity, zero biases. */
async function randomZooWeights(seed: number): Promise<CheckpointWeights> {
  const rows = (await readFile(join(FIXTURE, 'variables_full_nasnet_large.tsv'), 'utf8')).trim().split('\n');
  const prng = createPrng(seed);
  const weights = new Map<string, HostWeight>();
  for (const row of rows) {
    const [name, shapeText] = row.split('\t') as [string, string];
    if (name === 'global_step') continue;
    const shape = JSON.parse(shapeText) as number[];
    const values = new Float32Array(shape.reduce((a, b) => a * b, 1));
    const leaf = name.slice(name.lastIndexOf('/') + 1);
    if (leaf === 'gamma' || leaf === 'moving_variance') values.fill(1);
    else if (leaf.endsWith('weights')) {
      const fanIn = shape.length === 4 ? shape[0]! * shape[1]! * (leaf === 'depthwise_weights' ? 1 : shape[2]!) : shape[0]!;
      const std = Math.sqrt(1 / fanIn);
      for (let i = 0; i < values.length; i++) values[i] = prng.normal() * std;
    }
    weights.set(name, { shape, values });
  }
  return new CheckpointWeights('random zoo-width weights', weights);
}

function zooConfig(size: number, proposals: number, base: OdapiFasterRcnnConfig): OdapiFasterRcnnConfig {
  return { ...base, imageResizer: { height: size, width: size }, firstStage: { ...base.firstStage, maxProposals: proposals } };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { runs: { type: 'string', default: '2' }, proposals: { type: 'string', default: '50,300' }, 'head-batch': { type: 'string', default: '64' }, threads: { type: 'string', default: '0' }, size: { type: 'string', default: '1200' } },
  });
  const runs = Number(values.runs);
  const size = Number(values.size);
  const base = parsePipelineConfig(await readFile(join(FIXTURE, 'pipeline.config'), 'utf8'));
  const image = { data: new Uint8Array(await readFile(join(FIXTURE, 'reference', 'image.bin'))), width: 512, height: 600 };
  console.log(`faster_rcnn_nas, NASNet-A Large at the zoo's widths, random weights, ${size} x ${size}, onnxruntime-node, threads ${values.threads}, head batch ${values['head-batch']}`);
  for (const proposals of values.proposals!.split(',').map(Number)) {
    const config = zooConfig(size, proposals, base);
    let start = performance.now();
    // The export reads the weights once; a fresh set per setting keeps the "all used" check honest.
    const network = await OnnxOdapiNetwork.create(config, () => randomZooWeights(11), { threads: Number(values.threads), headBatch: Number(values['head-batch']) });
    const load = performance.now() - start;
    const model = new OdapiFasterRcnnNas(config, network);
    const times: { total: number; cpu: number; first: number; second: number; rest: number; detections: number }[] = [];
    for (let run = 0; run <= runs; run++) {
      start = performance.now();
      const cpuStart = process.cpuUsage();
      const found = await model.detect(image);
      const total = performance.now() - start;
      const cpuUsed = process.cpuUsage(cpuStart);
      const cpu = (cpuUsed.user + cpuUsed.system) / 1000; // ms of CPU over all threads: less sensitive to other load than wall time
      times.push({ total, cpu, first: network.timings.firstStage, second: network.timings.secondStage, rest: total - network.timings.firstStage - network.timings.secondStage, detections: found.scores.length });
    }
    model.dispose();
    const [first, ...steady] = times;
    const mean = (pick: (t: (typeof times)[number]) => number): string => (steady.reduce((s, t) => s + pick(t), 0) / steady.length / 1000).toFixed(2);
    console.log(
      `${proposals} proposals: export + session load ${(load / 1000).toFixed(1)} s; first run ${(first!.total / 1000).toFixed(2)} s; ` +
        `steady ${mean((t) => t.total)} s/image (stage 1 + RPN ${mean((t) => t.first)} s, stage 2 ${mean((t) => t.second)} s = ${((Number(mean((t) => t.second)) * 1000) / proposals).toFixed(0)} ms/proposal, ` +
        `resize + proposals + post-processing ${mean((t) => t.rest)} s), ${mean((t) => t.cpu)} CPU-s/image; ${first!.detections} detections; ` +
        `peak RSS so far ${gb(process.resourceUsage().maxRSS * 1024)} GB; load average ${loadavg()[0]!.toFixed(1)} on ${availableParallelism()} cores`,
    );
  }
}

await main();
