import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ERROR_TABLE, EXIT, NasnetError, exitCodeOf, httpStatusOf } from '../../core/errors.js';

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
