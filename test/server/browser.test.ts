// The demo page end to end in headless Chromium (Debian's `chromium`, driven by playwright-core):
// upload an image, wait for the answer, and find the drawn boxes in a screenshot of the canvas at the
// coordinates the API returned. Skipped, with the reason, when /usr/bin/chromium is not installed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { chromium } from 'playwright-core';
import { BOX_COLOR } from '../../src/server/demo_page.js';
import { pngCard, readyApp } from './helpers.js';

const CHROMIUM = '/usr/bin/chromium';
const SKIP = existsSync(CHROMIUM) ? false : `${CHROMIUM} is not installed (apt-get install chromium; .ci/run installs it)`;
const FLAGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];
const MIN_SCORE = 0.05;

interface DetectJson {
  detections: { bbox: [number, number, number, number]; label: string }[];
}

/** Share of the pixels along a vertical line (x, y0..y1) that have the box colour within +-2 px in x. */
function stroked(raw: Buffer, width: number, height: number, x: number, y0: number, y1: number): number {
  const [r, g, b] = [1, 3, 5].map((i) => parseInt(BOX_COLOR.slice(i, i + 2), 16)) as [number, number, number];
  let hits = 0;
  let total = 0;
  for (let y = Math.max(0, Math.ceil(y0)); y <= Math.min(height - 1, Math.floor(y1)); y++) {
    total += 1;
    for (let dx = -2; dx <= 2; dx++) {
      const px = Math.round(x) + dx;
      if (px < 0 || px >= width) continue;
      const o = (y * width + px) * 3;
      if (Math.abs(raw[o]! - r) < 40 && Math.abs(raw[o + 1]! - g) < 40 && Math.abs(raw[o + 2]! - b) < 40) {
        hits += 1;
        break;
      }
    }
  }
  return total === 0 ? 0 : hits / total;
}

test('demo page: upload an image, see the boxes drawn where the API put them and the top-5 classes', { skip: SKIP, timeout: 120_000 }, async (t) => {
  const app = await readyApp();
  t.after(() => app.close());
  const url = await app.listen({ port: 0, host: '127.0.0.1' });
  const image = await pngCard(320, 240);
  const expected = (await app.inject({ method: 'POST', url: `/detect?minScore=${MIN_SCORE}`, headers: { 'content-type': 'image/png' }, payload: image })).json() as DetectJson;
  const classes = (await app.inject({ method: 'POST', url: '/classify?topK=5', headers: { 'content-type': 'image/png' }, payload: image })).json() as {
    predictions: { label: string }[];
  };
  assert.ok(expected.detections.length > 0, 'the test card gives detections at this threshold');

  const profile = await mkdtemp(join(tmpdir(), 'nasnet-chromium-'));
  t.after(() => rm(profile, { recursive: true, force: true }));
  const context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: FLAGS });
  t.after(() => context.close());
  const page = await context.newPage();
  await page.goto(url);
  await page.$eval('#minScore', (el, value) => {
    (el as HTMLInputElement).value = String(value);
    el.dispatchEvent(new Event('input'));
  }, MIN_SCORE);
  await page.setInputFiles('#file', { name: 'card.png', mimeType: 'image/png', buffer: image });
  await page.waitForSelector('body[data-state="done"]', { timeout: 60_000 });

  assert.match(await page.textContent('#status') ?? '', new RegExp(`^${expected.detections.length} detections`));
  const listed = await page.$$eval('#classes li', (items) => items.map((li) => li.textContent ?? ''));
  assert.equal(listed.length, 5);
  listed.forEach((text, i) => assert.ok(text.startsWith(classes.predictions[i]!.label), `${text} vs ${classes.predictions[i]!.label}`));

  // The canvas shows the 320x240 image at scale 1, so API pixels are canvas pixels: screenshot its
  // content box (inside the CSS border).
  const clip = await page.$eval('#canvas', (el) => {
    const rect = el.getBoundingClientRect();
    return { x: rect.left + el.clientLeft, y: rect.top + el.clientTop, width: el.clientWidth, height: el.clientHeight };
  });
  const shot = await page.screenshot({ clip });
  const { data, info } = await sharp(shot).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  assert.deepEqual([info.width, info.height], [320, 240]);
  for (const { bbox } of expected.detections) {
    const [x, y, w, h] = bbox;
    // Both vertical edges, below the label tag drawn at the top of the box.
    for (const edge of [x, x + w]) {
      const share = stroked(data, info.width, info.height, edge, y + 20, y + h - 2);
      if (h > 30) assert.ok(share > 0.9, `box edge at x=${edge.toFixed(1)} of ${bbox} is drawn (${(share * 100).toFixed(0)}%)`);
    }
  }
  // Control: away from every box, no pixel has the box colour.
  const farFromBoxes = (px: number, py: number): boolean =>
    expected.detections.every(({ bbox: [x, y, w, h] }) => px < x - 25 || px > x + w + 25 || py < y - 25 || py > y + h + 25);
  let stray = 0;
  for (let py = 0; py < info.height; py += 4) {
    for (let px = 0; px < info.width; px += 4) {
      if (farFromBoxes(px, py) && stroked(data, info.width, info.height, px, py, py) > 0) stray += 1;
    }
  }
  assert.equal(stray, 0, 'the box colour appears only where boxes are');
});
