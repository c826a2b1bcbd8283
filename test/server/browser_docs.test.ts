// In headless Chromium (Debian's `chromium`, driven by playwright-core): an upload through Swagger UI's
// "Try it out" at /docs reaches /classify and gets 200; the demo page shows the demo banner, filters
// boxes by the min-score slider in the page, and clears the previous results when an image fails,
// showing the server's message. Skipped, with the reason, when /usr/bin/chromium is not installed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';
import { pngCard, readyApp } from './helpers.js';

const CHROMIUM = '/usr/bin/chromium';
const SKIP = existsSync(CHROMIUM) ? false : `${CHROMIUM} is not installed (apt-get install chromium; .ci/run installs it)`;
const FLAGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];

async function browser(t: { after(fn: () => Promise<void>): void }): Promise<BrowserContext> {
  const profile = await mkdtemp(join(tmpdir(), 'nasnet-chromium-'));
  t.after(() => rm(profile, { recursive: true, force: true }));
  const context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: FLAGS });
  t.after(() => context.close());
  return context;
}

test('Swagger UI: "Try it out" on POST /classify uploads a file and gets 200', { skip: SKIP, timeout: 120_000 }, async (t) => {
  const app = await readyApp();
  t.after(() => app.close());
  const url = await app.listen({ port: 0, host: '127.0.0.1' });
  const page = await (await browser(t)).newPage();
  await page.goto(`${url}/docs`);
  const operation = page.locator('#operations-inference-post_classify');
  await operation.locator('.opblock-summary').click();
  await operation.locator('.try-out__btn').click();
  await operation.locator('input[type=file]').setInputFiles({ name: 'card.png', mimeType: 'image/png', buffer: await pngCard(64, 48) });
  const [response] = await Promise.all([
    page.waitForResponse((r) => r.url().startsWith(`${url}/classify`) && r.request().method() === 'POST', { timeout: 60_000 }),
    operation.locator('button.execute').click(),
  ]);
  assert.equal(response.status(), 200, await response.text());
  const body = (await response.json()) as { predictions: unknown[] };
  assert.equal(body.predictions.length, 5);
  assert.match(response.request().headers()['content-type'] ?? '', /^multipart\/form-data/);
  // Swagger UI shows the status it got.
  await operation.locator('.live-responses-table .response-col_status', { hasText: '200' }).waitFor({ timeout: 10_000 });
});

test('demo page: demo banner, min-score slider filters in the page, an error clears the last results and shows the server message', { skip: SKIP, timeout: 120_000 }, async (t) => {
  const app = await readyApp();
  t.after(() => app.close());
  const url = await app.listen({ port: 0, host: '127.0.0.1' });
  const image = await pngCard(320, 240);
  const all = (await app.inject({ method: 'POST', url: '/detect?minScore=0&maxDetections=100', headers: { 'content-type': 'image/png' }, payload: image })).json() as {
    detections: { score: number }[];
  };
  const page = await (await browser(t)).newPage();
  const favicon: number[] = [];
  page.on('response', (r) => {
    if (r.url().endsWith('/favicon.ico')) favicon.push(r.status());
  });
  await page.goto(url);
  await page.locator('#demoBanner').waitFor({ state: 'visible', timeout: 10_000 });
  assert.match(await page.textContent('#demoBanner') ?? '', /Demo models\..*placeholder-tiny \(trained on nothing: seeded random weights.*nasnet weights fetch nasnet-mobile/s);

  await page.setInputFiles('#file', { name: 'card.png', mimeType: 'image/png', buffer: image });
  await page.waitForSelector('body[data-state="done"]', { timeout: 60_000 });
  const setMinScore = (value: number) =>
    page.$eval('#minScore', (el, v) => {
      (el as HTMLInputElement).value = String(v);
      el.dispatchEvent(new Event('input'));
    }, value);
  const requests: string[] = [];
  page.on('request', (r) => requests.push(r.url()));
  for (const threshold of [0, 0.5, 1]) {
    await setMinScore(threshold);
    const expected = all.detections.filter((d) => d.score >= threshold).length;
    assert.match(await page.textContent('#status') ?? '', new RegExp(`^${expected} detections \\(score >= ${threshold}\\)`));
  }
  assert.deepEqual(requests, [], 'the slider filters without asking the server again');
  assert.equal(await page.$$eval('#classes li', (items) => items.length), 5);

  await page.setInputFiles('#file', { name: 'broken.png', mimeType: 'image/png', buffer: Buffer.from('this is not a png') });
  await page.waitForSelector('body[data-state="error"]', { timeout: 60_000 });
  const status = await page.textContent('#status') ?? '';
  assert.match(status, /^\/detect NOT_AN_IMAGE: /, status);
  assert.equal(await page.$$eval('#classes li', (items) => items.length), 0, 'the previous classes are gone');
  assert.equal(await page.$eval('#canvas', (el) => (el as HTMLCanvasElement).width), 0, 'the previous image is gone');
  assert.equal(await page.textContent('#model'), '');
  assert.ok(favicon.every((s) => s !== 404), `favicon statuses ${favicon.join(',')}`);
});
