// The report's plot in the style of PAPER Fig. 6: the running top-5 mean and a colour per strategy.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rewardPlotSvg, runningTopMean, type ReportRow } from '../../search/report.js';

test('runningTopMean: the mean of the k best rewards so far, failed trials skipped', () => {
  assert.deepEqual(runningTopMean([null, 0.5, 0.1, 0.9, null, 0.7], 2), [null, 0.5, 0.3, 0.7, 0.7, 0.8]);
});

test('rewardPlotSvg: the seeds of one strategy share a colour; each run draws its top-5 and last-50 lines', () => {
  const row = (strategy: string, run: string): ReportRow => ({ run, strategy, done: 3, failed: 0, best: 0.9, top5: 0.6, last50: 0.6, rewards: [0.2, 0.9, 0.7] });
  const svg = rewardPlotSvg([row('ppo', 'a'), row('ppo', 'b'), row('random', 'c')]);
  const strokes = [...svg.matchAll(/<polyline [^>]*stroke="([^"]+)" stroke-width="([^"]+)"/g)].map((match) => `${match[1]} ${match[2]}`);
  assert.deepEqual(strokes, ['#1f77b4 1', '#1f77b4 2.5', '#1f77b4 1', '#1f77b4 2.5', '#d62728 1', '#d62728 2.5']);
  assert.match(svg, />ppo \(2 runs\)</);
  assert.match(svg, />random: c</);
});
