// conversion-export on brokers that authenticate (SASL/SCRAM, then mutual TLS) and authorise with
// ACLs (private KRaft brokers of this test, nothing allowed without an ACL). The topic hook runs
// first; the service then runs as its own user, configured as in production (KAFKA_SASL_* with the
// password from a file, or KAFKA_SSL_CA_FILE/CERT_FILE/KEY_FILE), holding exactly the ACLs
// docs/kafka-acls.md lists for it (serviceAcls). It must start, replay, join its groups, deliver and
// log the delivery; it must not reach a topic it was not granted; bad credentials are refused.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect, type ConnectionOptions } from 'node:tls';
import { after, before, describe, it } from 'node:test';
import { commonVariables, loadConfig } from '@calltrack/config';
import { callKey, provisionedTopics, serviceAcls, topicHookAcls, topicName } from '@calltrack/contracts';
import { createAcls, createKafka, KafkaBus, kafkaSettingsFromConfig, provisionTopics, type KafkaSettings } from '@calltrack/kafka';
import type { RunningService } from '@calltrack/service-kit';
import {
  ConversionReceiver,
  http,
  startMtlsBroker,
  startSaslBroker,
  testLogger,
  TopicProbe,
  waitFor,
  type KafkaTestEnv,
  type MtlsBroker,
  type SaslBroker,
} from '@calltrack/testing';
import { z } from 'zod';
import { attributedCall } from './attributed-call.fixture.js';
import { loadConversionExportConfig } from './config.js';
import { startConversionExport } from './conversion-export.app.js';

const ADMIN_TOKEN = 'export-admin-token-0123456789';
const SERVICE_USER = 'conversion-export';

/** Client settings through the same path as a service's: validated variables, secrets from files. */
function settingsFrom(clientId: string, env: Record<string, string>): KafkaSettings {
  return kafkaSettingsFromConfig(clientId, loadConfig(clientId, z.object(commonVariables), env));
}

const attributed = attributedCall;

/**
 * Provisions the topics and grants the service its ACLs as the super user, starts conversion-export
 * with `serviceEnv` (its credentials) and checks that a call is delivered and its delivery logged.
 */
async function deliversAsItsOwnUser(
  brokers: string,
  prefix: string,
  admin: KafkaSettings,
  serviceEnv: Record<string, string>,
): Promise<{ service: RunningService; receiver: ConversionReceiver; bus: KafkaBus }> {
  await provisionTopics(createKafka(admin, testLogger), prefix, testLogger);
  await createAcls(createKafka(admin, testLogger), SERVICE_USER, serviceAcls('conversion-export', prefix));
  const bus = new KafkaBus(admin, testLogger);
  await bus.connect();
  const receiver = await new ConversionReceiver().start();
  const service = await startConversionExport(
    loadConversionExportConfig({
      KAFKA_BROKERS: brokers,
      KAFKA_TOPIC_PREFIX: prefix,
      ...serviceEnv,
      ADMIN_TOKEN,
      PORT: '0',
      HTTP_HOST: '127.0.0.1',
      LOG_LEVEL: process.env['TEST_LOG'] ?? 'silent',
      EXPORT_WEBHOOK_URL: receiver.url,
    }),
  );
  await waitFor(async () => (await http('GET', `${service.url}/readyz`)).status === 200, { what: 'conversion-export ready', timeoutMs: 120_000 });
  // Read as the super user: what the service wrote.
  const env: KafkaTestEnv = {
    prefix,
    brokers,
    settings: admin,
    kafka: createKafka(admin, testLogger),
    env: { KAFKA_BROKERS: brokers, KAFKA_TOPIC_PREFIX: prefix, KAFKA_PUBLISH_TIMEOUT_MS: '30000' },
    topic: (key) => topicName(key, prefix),
  };
  const probe = await TopicProbe.start(env, ['exportDeliveries']);
  try {
    const callId = `secure-${randomUUID().slice(0, 8)}`;
    await bus.producer.publish('attributedCalls', callKey('shop', callId), attributed(callId));
    await waitFor(() => receiver.forCall(callId).length === 1, { what: 'the conversion delivered', timeoutMs: 60_000 });
    // Its delivery log, written with its own Write ACL.
    await waitFor(() => probe.events('exportDeliveries').some((e) => e.type === 'ConversionDelivered'), { what: 'ConversionDelivered on export-deliveries' });
  } finally {
    await probe.stop();
  }
  return { service, receiver, bus };
}

async function refusedTopic(settings: KafkaSettings, prefix: string): Promise<void> {
  const producer = createKafka(settings, testLogger).producer({ retry: { retries: 0 } });
  await producer.connect();
  try {
    await assert.rejects(producer.send({ topic: topicName('sessions', prefix), messages: [{ key: 'k', value: 'v' }] }), (err: Error & { type?: string }) => {
      assert.match(`${err.name} ${err.type ?? ''} ${err.message}`, /TOPIC_AUTHORIZATION_FAILED|not authorized/i);
      return true;
    });
  } finally {
    await producer.disconnect();
  }
}

describe('conversion-export with SASL/SCRAM and only the ACLs of docs/kafka-acls.md', () => {
  const USER = { name: SERVICE_USER, password: `pw-${randomUUID()}`, mechanism: 'SCRAM-SHA-512' as const };
  const SHA256_USER = { name: 'reporting', password: `pw-${randomUUID()}`, mechanism: 'SCRAM-SHA-256' as const };
  const HOOK_USER = { name: 'topic-hook', password: `pw-${randomUUID()}`, mechanism: 'SCRAM-SHA-512' as const };
  const prefix = `test.sasl.${randomUUID().slice(0, 8)}.`;
  const secrets = mkdtempSync(join(tmpdir(), 'calltrack-sasl-secrets-'));
  let broker: SaslBroker;
  let running: Awaited<ReturnType<typeof deliversAsItsOwnUser>> | undefined;

  const scramEnv = (user: { name: string; password: string; mechanism: string }): Record<string, string> => {
    const file = join(secrets, `${user.name}-${randomUUID().slice(0, 4)}.password`);
    writeFileSync(file, `${user.password}\n`);
    return { KAFKA_SASL_MECHANISM: user.mechanism.toLowerCase(), KAFKA_SASL_USERNAME: user.name, KAFKA_SASL_PASSWORD_FILE: file };
  };
  const settingsOf = (user: { name: string; password: string; mechanism: string }, clientId: string, p = prefix): KafkaSettings =>
    settingsFrom(clientId, { KAFKA_BROKERS: broker.brokers, KAFKA_TOPIC_PREFIX: p, ...scramEnv(user) });

  before(async () => {
    broker = await startSaslBroker([USER, SHA256_USER, HOOK_USER]);
  });

  after(async () => {
    await running?.service.close();
    await running?.receiver.stop();
    await running?.bus.close();
    await broker?.stop();
    rmSync(secrets, { recursive: true, force: true });
  });

  it('starts as its own SCRAM user (password from a file) and delivers a call, its ACLs sufficing', async () => {
    running = await deliversAsItsOwnUser(broker.brokers, prefix, settingsOf(broker.admin, 'sasl-test-admin'), scramEnv(USER));
  });

  it('is refused a topic it holds no ACL for', async () => {
    await refusedTopic(settingsOf(USER, SERVICE_USER), prefix);
  });

  it("runs the topic hook as a user holding only the hook's ACLs: creates, then checks existing topics", async () => {
    const other = `test.sasl.hook.${randomUUID().slice(0, 8)}.`;
    await createAcls(createKafka(settingsOf(broker.admin, 'sasl-test-admin'), testLogger), HOOK_USER.name, topicHookAcls(other));
    const hook = createKafka(settingsOf(HOOK_USER, 'provision-topics', other), testLogger);
    const first = await provisionTopics(hook, other, testLogger);
    assert.equal(first.created.length, provisionedTopics(other).length);
    const again = await provisionTopics(hook, other, testLogger);
    assert.deepEqual(again.created, []);
    assert.equal(again.existing.length, provisionedTopics(other).length, 'every existing topic was read and checked');
  });

  it('authenticates SCRAM-SHA-256 users too, and refuses a wrong password', async () => {
    const ok = createKafka(settingsOf(SHA256_USER, 'reporting'), testLogger).admin({ retry: { retries: 0 } });
    await ok.connect();
    await ok.disconnect();
    const wrong = createKafka(settingsOf({ ...USER, password: 'not-the-password' }, 'intruder'), testLogger).admin({ retry: { retries: 0 } });
    await assert.rejects(wrong.connect(), /SASL|authentication/i);
    await wrong.disconnect().catch(() => undefined);
  });
});

describe('conversion-export with mutual TLS (a client certificate) and only its ACLs', () => {
  const prefix = `test.mtls.${randomUUID().slice(0, 8)}.`;
  let broker: MtlsBroker;
  let running: Awaited<ReturnType<typeof deliversAsItsOwnUser>> | undefined;
  const tlsEnv = (cert?: { certFile: string; keyFile: string }, ca = true): Record<string, string> => ({
    KAFKA_SSL: 'true',
    ...(ca ? { KAFKA_SSL_CA_FILE: broker.caFile } : {}),
    ...(cert ? { KAFKA_SSL_CERT_FILE: cert.certFile, KAFKA_SSL_KEY_FILE: cert.keyFile } : {}),
  });
  const settingsOf = (env: Record<string, string>, clientId: string): KafkaSettings =>
    settingsFrom(clientId, { KAFKA_BROKERS: broker.brokers, KAFKA_TOPIC_PREFIX: prefix, ...env });

  before(async () => {
    broker = await startMtlsBroker([SERVICE_USER]);
  });

  after(async () => {
    await running?.service.close();
    await running?.receiver.stop();
    await running?.bus.close();
    await broker?.stop();
  });

  it('starts with its client certificate (the principal is its CN) and delivers a call, its ACLs sufficing', async () => {
    running = await deliversAsItsOwnUser(broker.brokers, prefix, settingsOf(tlsEnv(broker.admin), 'mtls-test-admin'), tlsEnv(broker.users[SERVICE_USER]));
  });

  it('is refused a topic it holds no ACL for', async () => {
    await refusedTopic(settingsOf(tlsEnv(broker.users[SERVICE_USER]), SERVICE_USER), prefix);
  });

  // At the TLS level, with the options kafkaSettingsFromConfig gives kafkajs (which passes them to
  // tls.connect): kafkajs itself would report the same errors only after its connection retries (~40 s each).
  const tlsError = (settings: KafkaSettings): Promise<string> => {
    const [host, port] = broker.brokers.split(':');
    return new Promise((resolve) => {
      const socket = tlsConnect({ ...(settings.ssl as ConnectionOptions), host: host!, port: Number(port) });
      socket.once('error', (err) => {
        socket.destroy();
        resolve(err.message);
      });
      // Keep reading: the broker's refusal of a missing certificate (TLS 1.3) arrives after the handshake.
      socket.resume();
    });
  };

  it('refuses a client without a certificate, and the client refuses a broker its CA did not sign', async () => {
    assert.match(await tlsError(settingsOf(tlsEnv(), 'no-certificate')), /certificate required|bad certificate/i);
    // Node's CA bundle does not know the test CA: the broker's certificate is not trusted.
    assert.match(await tlsError(settingsOf(tlsEnv(broker.users[SERVICE_USER], false), 'untrusting')), /unable to verify|self[- ]signed|certificate/i);
  });
});
