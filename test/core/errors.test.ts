import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ERROR_TABLE, EXIT, NasnetError, exitCodeOf, fromWireError, httpStatusOf, toWireError } from '../../core/errors.js';

test('typed errors map to their HTTP status and exit code; anything else is internal', () => {
  const error = new NasnetError('UNSUPPORTED_MEDIA_TYPE', 'svg is not accepted', { format: 'svg' });
  assert.equal(error.httpStatus, 415);
  assert.equal(error.exitCode, EXIT.INVALID_INPUT);
  assert.equal(httpStatusOf(error), 415);
  assert.equal(httpStatusOf(new Error('boom')), 500);
  assert.equal(exitCodeOf(new TypeError('boom')), EXIT.INTERNAL);
  assert.equal(exitCodeOf(new NasnetError('INVALID_ARGUMENT', 'x')), EXIT.USAGE);
  assert.deepEqual(error.details, { format: 'svg' });
});

test('every code has a 4xx/5xx status and a non-zero exit code', () => {
  for (const [code, kind] of Object.entries(ERROR_TABLE)) {
    assert.ok(kind.httpStatus >= 400 && kind.httpStatus < 600, code);
    assert.ok(kind.exitCode > 0, code);
  }
});

test('across a worker boundary the cause travels as detail (for logs) and comes back as the cause, not in the message', () => {
  const error = new NasnetError('NOT_AN_IMAGE', 'decodeRgb: the tiff data is corrupt or truncated', undefined, {
    cause: new Error('tiff2vips: Read error at scanline 4294967295'),
  });
  const wire = toWireError(error);
  assert.deepEqual(wire, { code: 'NOT_AN_IMAGE', message: error.message, detail: 'tiff2vips: Read error at scanline 4294967295' });
  const back = fromWireError(structuredClone(wire), 'worker: ');
  assert.equal(back.message, 'worker: decodeRgb: the tiff data is corrupt or truncated');
  assert.equal((back.cause as Error).message, 'tiff2vips: Read error at scanline 4294967295');
  assert.deepEqual(toWireError(new NasnetError('INVALID_DATA', 'x')), { code: 'INVALID_DATA', message: 'x' });
});
