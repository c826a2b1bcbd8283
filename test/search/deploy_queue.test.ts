// deploy/search/: the workers' Deployment and the queue's Redis StatefulSet validate against the Kubernetes
// schemas (kubernetes-models), and agree with the code: Redis runs with the settings the queue requires (fed
// through the same check the controller and workers run), the workers' URL names the Redis Service and port,
// their command is a real verb with flags it accepts, and Kubernetes waits longer than the workers' grace.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { Deployment, StatefulSet } from 'kubernetes-models/apps/v1';
import { Service } from 'kubernetes-models/v1';
import { packageRoot } from '../../core/paths.js';
import { redisProblems } from '../../search/redis_check.js';

type Doc = Record<string, unknown> & { kind: string; apiVersion: string; metadata: { name: string } };
const dir = join(packageRoot(), 'deploy', 'search');

function manifest(file: string): Doc {
  const docs = parseAllDocuments(readFileSync(join(dir, file), 'utf8'));
  assert.equal(docs.length, 1, `${file} holds one document`);
  return docs[0]!.toJS() as Doc;
}

interface Container { image: string; command?: string[]; args: string[]; env?: { name: string; value: string }[]; ports?: { name: string; containerPort: number }[] }
const podSpec = (doc: Doc) => (doc.spec as { template: { metadata: { labels: Record<string, string> }; spec: { containers: Container[]; terminationGracePeriodSeconds: number } } }).template;

test('deploy/search manifests validate against the Kubernetes schemas and are all in the kustomization', () => {
  const kustomization = manifest('kustomization.yaml') as unknown as { resources: string[] };
  assert.deepEqual([...kustomization.resources].sort(), ['redis-service.yaml', 'redis-statefulset.yaml', 'worker-deployment.yaml']);
  const models: Record<string, new (value: never) => { validate(): void }> = { StatefulSet, Service, Deployment };
  for (const file of kustomization.resources) {
    const doc = manifest(file);
    const Model = models[doc.kind];
    assert.ok(Model, `${file}: ${doc.kind} has a model`);
    assert.doesNotThrow(() => new Model(doc as never).validate(), file);
  }
});

test('Redis runs with what the queue requires; the workers reach it and may finish their children', () => {
  const redis = manifest('redis-statefulset.yaml');
  const [container] = podSpec(redis).spec.containers;
  const arg = (name: string): string | undefined => container!.args[container!.args.indexOf(name) + 1];
  // The INFO fields the startup check reads, as this container would report them.
  const version = /^redis:(\d+\.\d+)/.exec(container!.image)?.[1];
  const info = new Map([['redis_version', `${version}.0`], ['aof_enabled', arg('--appendonly') === 'yes' ? '1' : '0'], ['maxmemory_policy', arg('--maxmemory-policy') ?? 'unset']]);
  assert.deepEqual(redisProblems(info), []);
  const service = manifest('redis-service.yaml');
  assert.equal((redis.spec as { serviceName: string }).serviceName, service.metadata.name);
  assert.deepEqual((service.spec as { selector: Record<string, string> }).selector, podSpec(redis).metadata.labels);
  const port = (service.spec as { ports: { port: number }[] }).ports[0]!.port;
  assert.equal(container!.ports![0]!.containerPort, port);

  const workers = manifest('worker-deployment.yaml');
  const [worker] = podSpec(workers).spec.containers;
  assert.deepEqual(worker!.command, ['node', 'dist/src/cli/nasnet.js', 'search', 'worker']);
  const env = Object.fromEntries((worker!.env ?? []).map((e) => [e.name, e.value]));
  const flag = (name: string): string => worker!.args[worker!.args.indexOf(name) + 1]!;
  const url = flag('--queue').replace(/\$\((\w+)\)/, (_, name: string) => env[name]!);
  assert.equal(url, `redis://${service.metadata.name}:${port}`);
  assert.ok(podSpec(workers).spec.terminationGracePeriodSeconds > Number(flag('--grace')), 'Kubernetes waits longer than the workers let children finish');
  assert.deepEqual((workers.spec as { selector: { matchLabels: Record<string, string> } }).selector.matchLabels, podSpec(workers).metadata.labels);
});
