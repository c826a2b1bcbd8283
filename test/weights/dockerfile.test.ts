// The Dockerfile's NASNET_WEIGHTS build argument bakes fetched weights into both serving images.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../../core/paths.js';

test('Dockerfile: --build-arg NASNET_WEIGHTS runs `nasnet weights fetch` into NASNET_HOME, which the gpu image copies', () => {
  const stages = readFileSync(join(packageRoot(), 'Dockerfile'), 'utf8').split(/^FROM /m);
  const runtime = stages.find((s) => s.startsWith('${NODE_IMAGE} AS runtime')) ?? '';
  const gpu = stages.find((s) => / AS gpu\n/.test(s)) ?? '';
  assert.match(runtime, /^ARG NASNET_WEIGHTS=""$/m);
  assert.match(runtime, /^ENV NASNET_HOME=\/opt\/nasnet-ts$/m);
  assert.match(runtime, /if \[ -n "\$NASNET_WEIGHTS" \]; then node dist\/src\/cli\/nasnet\.js weights fetch \$NASNET_WEIGHTS; fi/);
  // The fetch runs after the compiled CLI is in place and before the user switch (the cache is then chowned).
  assert.ok(runtime.indexOf('COPY --from=build /app/dist ./dist') < runtime.indexOf('weights fetch'));
  assert.ok(runtime.indexOf('weights fetch') < runtime.indexOf('USER node'));
  assert.match(gpu, /^ENV NASNET_HOME=\/opt\/nasnet-ts$/m);
  assert.match(gpu, /^COPY --from=runtime --chown=node:node \/opt\/nasnet-ts \/opt\/nasnet-ts$/m);
});
