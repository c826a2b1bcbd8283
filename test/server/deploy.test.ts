// The container and Kubernetes files agree with the service: every environment variable they set is
// one the config reads, with a value it accepts; probes hit /healthz and /readyz on the served port;
// the Service and the HPA point at the Deployment. No Docker engine or cluster runs here; schema
// validation with `kubernetes-models` runs when that package is installed and is skipped otherwise.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { packageRoot } from '../../core/paths.js';
import { resolveServerConfig, SERVER_CONFIG_SCHEMA } from '../../src/server/config.js';

type Manifest = { kind: string; metadata: { name: string; labels?: Record<string, string> }; spec: Record<string, unknown> } & Record<string, unknown>;

function manifest(file: string): Manifest {
  const docs = parseAllDocuments(readFileSync(join(packageRoot(), 'deploy', file), 'utf8'));
  assert.equal(docs.length, 1, `${file} holds one document`);
  return docs[0]!.toJS() as Manifest;
}

const CONFIG_ENV = new Set(Object.values(SERVER_CONFIG_SCHEMA).map((spec) => spec.env).filter((env): env is string => env !== undefined));

interface Container {
  ports: { name: string; containerPort: number }[];
  env: { name: string; value: string }[];
  resources: { requests: Record<string, string>; limits: Record<string, string> };
  livenessProbe: { httpGet: { path: string; port: string } };
  readinessProbe: { httpGet: { path: string; port: string } };
}

test('deployment: probes, port, resources, and env the config accepts', () => {
  const deployment = manifest('deployment.yaml');
  assert.equal(deployment.kind, 'Deployment');
  const template = deployment.spec.template as { metadata: { labels: Record<string, string> }; spec: { containers: Container[] } };
  const [container] = template.spec.containers;
  assert.ok(container);
  const env = Object.fromEntries(container.env.map((e) => [e.name, e.value]));
  for (const name of Object.keys(env)) assert.ok(CONFIG_ENV.has(name), `env ${name} is read by the server config`);
  const config = resolveServerConfig({}, env);
  assert.equal(config.host, '0.0.0.0');
  assert.deepEqual(container.ports, [{ name: 'http', containerPort: config.port, protocol: 'TCP' }]);
  assert.deepEqual([container.livenessProbe.httpGet.path, container.livenessProbe.httpGet.port], ['/healthz', 'http']);
  assert.deepEqual([container.readinessProbe.httpGet.path, container.readinessProbe.httpGet.port], ['/readyz', 'http']);
  assert.ok(container.resources.limits.cpu && container.resources.limits.memory, 'cpu and memory limits are set');
  assert.equal(Number(container.resources.limits.cpu), config.workers, 'one inference worker per CPU of the limit');
  const grace = (deployment.spec.template as { spec: { terminationGracePeriodSeconds: number } }).spec.terminationGracePeriodSeconds;
  assert.ok(grace * 1000 > config.shutdownGraceMs, 'Kubernetes waits longer than the server drains');
  assert.deepEqual((deployment.spec.selector as { matchLabels: Record<string, string> }).matchLabels, template.metadata.labels);
});

test('service and autoscaler point at the deployment', () => {
  const deployment = manifest('deployment.yaml');
  const labels = (deployment.spec.template as { metadata: { labels: Record<string, string> } }).metadata.labels;
  const service = manifest('service.yaml');
  assert.equal(service.kind, 'Service');
  assert.deepEqual(service.spec.selector, labels);
  assert.equal((service.spec.ports as { targetPort: string }[])[0]?.targetPort, 'http');
  const hpa = manifest('hpa.yaml');
  assert.equal(hpa.apiVersion, 'autoscaling/v2');
  assert.deepEqual(hpa.spec.scaleTargetRef, { apiVersion: 'apps/v1', kind: 'Deployment', name: deployment.metadata.name });
  assert.ok((hpa.spec.minReplicas as number) <= (hpa.spec.maxReplicas as number));
});

test('Dockerfile: non-root, healthcheck on /healthz, env the config accepts, entry command that exists', () => {
  const text = readFileSync(join(packageRoot(), 'Dockerfile'), 'utf8');
  const stages = text.split(/^FROM /m).slice(1);
  const finals = stages.filter((stage) => /\bCMD \[/.test(stage));
  assert.deepEqual(finals.map((stage) => stage.split('\n')[0]), ['${NODE_IMAGE} AS runtime', 'nvidia/cuda:12.6.3-cudnn-runtime-ubuntu22.04 AS gpu']);
  // The gpu image runs the networks on onnxruntime's CUDA provider (CUDA 12 + cuDNN 9 for onnxruntime-node 1.30).
  const gpu = finals[1] as string;
  assert.match(gpu, /NASNET_ORT_PROVIDERS=cuda,cpu/);
  assert.match(gpu, /ONNXRUNTIME_NODE_INSTALL=cuda12 node node_modules\/onnxruntime-node\/script\/install\.js/);
  assert.doesNotMatch(gpu, /tfjs-node-gpu@/, 'tfjs-node-gpu (CUDA 11.2) is not installed in a CUDA 12 image');
  for (const stage of finals) {
    assert.match(stage, /^USER node$/m);
    assert.match(stage, /HEALTHCHECK[\s\S]*\/healthz/);
    assert.match(stage, /CMD \["node", "dist\/src\/cli\/nasnet\.js", "serve"\]/);
    const env: Record<string, string> = {};
    for (const [, name, value] of stage.matchAll(/^\s*(?:ENV\s+)?([A-Z_]+)=(\S+?)(?:\s*\\)?$/gm)) env[name as string] = value as string;
    const serverEnv = Object.fromEntries(Object.entries(env).filter(([name]) => CONFIG_ENV.has(name)));
    assert.ok(Object.keys(serverEnv).length >= 4, JSON.stringify(env));
    resolveServerConfig({}, serverEnv);
  }
  assert.match(text, /npm ci --omit=dev --ignore-scripts/);
  assert.ok(existsSync(join(packageRoot(), 'src', 'cli', 'nasnet.ts')), 'the entry command is built from src/cli/nasnet.ts');
  const ignored = readFileSync(join(packageRoot(), '.dockerignore'), 'utf8').split('\n');
  for (const entry of ['node_modules', 'dist', '.git']) assert.ok(ignored.includes(entry), `.dockerignore has ${entry}`);
});

test('manifests validate against the Kubernetes schemas (kubernetes-models)', async (t) => {
  const name = 'kubernetes-models';
  let models: Record<string, Record<string, new (value: unknown) => { validate(): void }>>;
  try {
    models = {
      'apps/v1': (await import(`${name}/apps/v1`)) as Record<string, new (value: unknown) => { validate(): void }>,
      v1: (await import(`${name}/v1`)) as Record<string, new (value: unknown) => { validate(): void }>,
      'autoscaling/v2': (await import(`${name}/autoscaling/v2`)) as Record<string, new (value: unknown) => { validate(): void }>,
    };
  } catch {
    t.skip(`${name} is not installed (a devDependency to add); the consistency tests above still ran`);
    return;
  }
  for (const file of ['deployment.yaml', 'service.yaml', 'hpa.yaml']) {
    const doc = manifest(file);
    const Model = models[doc.apiVersion as string]?.[doc.kind];
    assert.ok(Model, `${doc.apiVersion} ${doc.kind} has a model`);
    assert.doesNotThrow(() => new Model(doc).validate(), file);
  }
});

test('the image tag the deployment runs is the one the docs and the Dockerfile build', () => {
  const { version } = JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version: string };
  const deployment = manifest('deployment.yaml');
  const [container] = (deployment.spec.template as { spec: { containers: { image: string }[] } }).spec.containers;
  const tag = `nasnet-ts:${version}`;
  assert.equal(container?.image, tag);
  for (const file of ['docs/serving.md', 'Dockerfile']) {
    const text = readFileSync(join(packageRoot(), file), 'utf8');
    const builds = [...text.matchAll(/docker build (?:--target \S+ )?-t (\S+) \./g)].map((m) => m[1]);
    assert.ok(builds.includes(tag), `${file} builds ${tag}: ${builds.join(', ')}`);
    assert.ok(builds.every((b) => b?.startsWith(tag)), `${file}: every build is tagged ${tag}[-variant]: ${builds.join(', ')}`);
  }
});
