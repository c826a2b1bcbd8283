// How an image reaches an inference route: a multipart form with a file field `image` (curl -F), or a
// raw body with an image/* (or application/octet-stream) content type (curl --data-binary). Every other
// content type gets 415 from Fastify; sizes above maxBodyBytes get 413 before the body is buffered.
// What the bytes really are is decided later by image_io.probeImage (magic bytes, not headers).
import multipart from '@fastify/multipart';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { NasnetError } from '../../core/errors.js';

export const IMAGE_FIELD = 'image';

export interface ImageUpload {
  readonly bytes: Buffer;
  /** Non-file multipart fields (DeepStack clients send `min_confidence` this way). */
  readonly fields: Readonly<Record<string, string>>;
}

/** Installs the body parsers of the inference routes in `app`'s (encapsulated) context. */
export async function registerImageBody(app: FastifyInstance, maxBodyBytes: number): Promise<void> {
  // Drop the default JSON and text parsers: those bodies are 415 here, never parsed.
  app.removeAllContentTypeParsers();
  for (const type of [/^image\/[\w.+-]+$/, 'application/octet-stream']) {
    app.addContentTypeParser(type, { parseAs: 'buffer', bodyLimit: maxBodyBytes }, (_request, body, done) => done(null, body));
  }
  await app.register(multipart, {
    limits: { fileSize: maxBodyBytes, files: 1, fields: 8, parts: 9, fieldSize: 1024, headerPairs: 64 },
    throwFileSizeLimit: true,
  });
}

function hasStatus(error: unknown): boolean {
  return typeof (error as { statusCode?: unknown }).statusCode === 'number';
}

async function readMultipart(request: FastifyRequest): Promise<ImageUpload> {
  let bytes: Buffer | undefined;
  const fields: Record<string, string> = {};
  try {
    for await (const part of request.parts()) {
      if (part.type === 'file') {
        const data = await part.toBuffer();
        if (part.fieldname === IMAGE_FIELD) bytes = data;
      } else {
        fields[part.fieldname] = String(part.value);
      }
    }
  } catch (error) {
    // Plugin errors carry their status (413 limits, 406 ...); busboy's parse errors do not.
    if (hasStatus(error) || error instanceof NasnetError) throw error;
    throw new NasnetError('INVALID_DATA', `the multipart body is malformed: ${(error as Error).message}`);
  }
  if (bytes === undefined) {
    throw new NasnetError('INVALID_ARGUMENT', `the multipart body has no file field "${IMAGE_FIELD}" (curl -F ${IMAGE_FIELD}=@photo.jpg)`);
  }
  return { bytes, fields };
}

/** The uploaded image bytes of a request, whichever way they were sent. */
export async function readImage(request: FastifyRequest): Promise<ImageUpload> {
  if (request.isMultipart()) return readMultipart(request);
  if (!Buffer.isBuffer(request.body)) {
    throw new NasnetError(
      'INVALID_ARGUMENT',
      `no image: send a multipart form with a file field "${IMAGE_FIELD}" or a raw body with Content-Type image/*`,
    );
  }
  return { bytes: request.body, fields: {} };
}
