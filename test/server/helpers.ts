// Shared by the server tests: small generated images, multipart bodies, and an app built on a
// one-worker pool that is ready before the first request.
import sharp from 'sharp';
import type { FastifyInstance } from 'fastify';
import { encodeJpeg, encodePng, type RgbImage } from '../../core/image_io.js';
import { buildApp } from '../../src/server/app.js';
import { serverConfig, type ServerConfig } from '../../src/server/config.js';

/** The engine every server test runs on (the workers' and, for comparisons, the test process'). */
export const TEST_ENGINE = 'wasm' as const;

/** The fast seeded models: tests of the service's behaviour do not depend on what the models know. */
export const PLACEHOLDER = { kind: 'placeholder-tiny' } as const;

export function testConfig(overrides: Partial<ServerConfig> = {}): ServerConfig {
  return serverConfig({
    workers: 1,
    tasksPerWorker: 1,
    engine: TEST_ENGINE,
    maxPixels: 4_000_000,
    maxBodyBytes: 1 << 20,
    classifier: PLACEHOLDER,
    detector: PLACEHOLDER,
    ...overrides,
  });
}

/** A ready app (models loaded in its worker); close it in `after`. */
export async function readyApp(overrides: Partial<ServerConfig> = {}): Promise<FastifyInstance> {
  const app = await buildApp({ config: testConfig(overrides) });
  await app.inference.ready;
  return app;
}

/** A deterministic RGB test card: horizontal red ramp, vertical green ramp, a blue square in the middle. */
export function testCard(width: number, height: number): RgbImage {
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const o = (y * width + x) * 3;
      const inSquare = x > width / 3 && x < (2 * width) / 3 && y > height / 3 && y < (2 * height) / 3;
      data[o] = Math.round((x * 255) / Math.max(1, width - 1));
      data[o + 1] = Math.round((y * 255) / Math.max(1, height - 1));
      data[o + 2] = inSquare ? 255 : 0;
    }
  }
  return { data, width, height };
}

export function pngCard(width = 96, height = 64): Promise<Buffer> {
  return encodePng(testCard(width, height));
}

export function jpegCard(width = 96, height = 64): Promise<Buffer> {
  return encodeJpeg(testCard(width, height));
}

/** A JPEG stored width x height with EXIF Orientation 6 (displayed rotated 90 degrees: height x width). */
export async function rotatedJpeg(width: number, height: number): Promise<Buffer> {
  const card = testCard(width, height);
  return sharp(card.data, { raw: { width, height, channels: 3 } }).jpeg().withMetadata({ orientation: 6 }).toBuffer();
}

const BOUNDARY = '----nasnet-test-boundary';

export interface Part {
  readonly name: string;
  readonly value: Buffer | string;
  /** Set for file parts. */
  readonly filename?: string;
  readonly contentType?: string;
}

/** A multipart/form-data body and its content-type header. */
export function multipart(parts: readonly Part[]): { payload: Buffer; headers: Record<string, string> } {
  const chunks: Buffer[] = [];
  for (const part of parts) {
    const disposition = `form-data; name="${part.name}"${part.filename === undefined ? '' : `; filename="${part.filename}"`}`;
    const type = part.contentType === undefined ? '' : `Content-Type: ${part.contentType}\r\n`;
    chunks.push(Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: ${disposition}\r\n${type}\r\n`), Buffer.from(part.value), Buffer.from('\r\n'));
  }
  chunks.push(Buffer.from(`--${BOUNDARY}--\r\n`));
  return { payload: Buffer.concat(chunks), headers: { 'content-type': `multipart/form-data; boundary=${BOUNDARY}` } };
}

export function imagePart(bytes: Buffer, contentType = 'image/png'): Part {
  return { name: 'image', value: bytes, filename: 'upload', contentType };
}

export interface ErrorJson {
  error: { code: string; message: string };
}
