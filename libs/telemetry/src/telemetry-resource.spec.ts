import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { platformVersion, telemetryResource } from './tracing.js';

const rootVersion = (JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

async function attributesWith(env: Record<string, string | undefined>, options: Parameters<typeof telemetryResource>[0]) {
  const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  Object.assign(process.env, env);
  for (const [k, v] of Object.entries(env)) if (v === undefined) delete process.env[k];
  try {
    const resource = telemetryResource(options);
    await resource.waitForAsyncAttributes?.();
    return resource.attributes;
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

describe('telemetry resource', () => {
  it("carries the platform's real version, the host and process", async () => {
    assert.equal(platformVersion(), rootVersion);
    const attributes = await attributesWith({ OTEL_SERVICE_NAME: undefined, OTEL_RESOURCE_ATTRIBUTES: undefined }, { serviceName: 'number-pool' });
    assert.equal(attributes['service.name'], 'number-pool');
    assert.equal(attributes['service.version'], rootVersion);
    assert.equal(typeof attributes['host.name'], 'string');
    assert.equal(attributes['process.pid'], process.pid);
  });

  it('adds the Kubernetes attributes the chart passes in OTEL_RESOURCE_ATTRIBUTES, which win over the defaults', async () => {
    const attributes = await attributesWith(
      {
        OTEL_SERVICE_NAME: 'attribution-eu',
        OTEL_RESOURCE_ATTRIBUTES:
          'k8s.pod.name=calltrack-attribution-7d9f-abcde,k8s.namespace.name=calls,k8s.node.name=node-3,' +
          'k8s.deployment.name=calltrack-attribution,service.version=1.2.3-rc.1',
      },
      { serviceName: 'attribution' },
    );
    assert.equal(attributes['service.name'], 'attribution-eu');
    assert.equal(attributes['k8s.pod.name'], 'calltrack-attribution-7d9f-abcde');
    assert.equal(attributes['k8s.namespace.name'], 'calls');
    assert.equal(attributes['k8s.node.name'], 'node-3');
    assert.equal(attributes['k8s.deployment.name'], 'calltrack-attribution');
    assert.equal(attributes['service.version'], '1.2.3-rc.1');
  });
});
