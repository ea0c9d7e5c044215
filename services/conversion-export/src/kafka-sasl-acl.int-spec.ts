// conversion-export on a broker that authenticates with SASL/SCRAM and authorises with ACLs
// (a private KRaft broker of this test, nothing allowed without an ACL). The topic hook runs as
// a super user; the service runs as its own SCRAM user, configured as in production
// (KAFKA_SASL_MECHANISM, KAFKA_SASL_USERNAME, KAFKA_SASL_PASSWORD_FILE), holding exactly the ACLs
// docs/kafka-acls.md lists for it (serviceAcls). It must start, replay, join its groups, deliver
// and log its delivery; it must not reach a topic it was not granted; a wrong password is refused.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { commonVariables, loadConfig } from '@calltrack/config';
import { calltrack, callKey, createEvent, provisionedTopics, serviceAcls, topicHookAcls, topicName, type DomainEvent } from '@calltrack/contracts';
import { createAcls, createKafka, KafkaBus, kafkaSettingsFromConfig, provisionTopics, type KafkaSettings } from '@calltrack/kafka';
import type { RunningService } from '@calltrack/service-kit';
import { ConversionReceiver, http, startSaslBroker, testLogger, TopicProbe, waitFor, type KafkaTestEnv, type SaslBroker } from '@calltrack/testing';
import { z } from 'zod';
import { loadConversionExportConfig } from './config.js';
import { startConversionExport } from './conversion-export.app.js';

const { CallStatus, CallDirection, Verdict, MatchMethod } = calltrack.events.v1;
const ADMIN_TOKEN = 'export-admin-token-0123456789';
const USER = { name: 'conversion-export', password: `pw-${randomUUID()}`, mechanism: 'SCRAM-SHA-512' as const };
const SHA256_USER = { name: 'reporting', password: `pw-${randomUUID()}`, mechanism: 'SCRAM-SHA-256' as const };
const HOOK_USER = { name: 'topic-hook', password: `pw-${randomUUID()}`, mechanism: 'SCRAM-SHA-512' as const };

describe('conversion-export with SASL/SCRAM and only the ACLs of docs/kafka-acls.md', () => {
  const prefix = `test.sasl.${randomUUID().slice(0, 8)}.`;
  const secrets = mkdtempSync(join(tmpdir(), 'calltrack-sasl-secrets-'));
  let broker: SaslBroker;
  let adminSettings: KafkaSettings;
  let bus: KafkaBus;
  let receiver: ConversionReceiver;
  let service: RunningService | undefined;

  /** Settings through the same path as a service: validated variables, the password from a file. */
  const settingsOf = (user: { name: string; password: string; mechanism: string }, clientId: string): KafkaSettings => {
    const file = join(secrets, `${user.name}.password`);
    writeFileSync(file, `${user.password}\n`);
    const config = loadConfig(clientId, z.object(commonVariables), {
      KAFKA_BROKERS: broker.brokers,
      KAFKA_TOPIC_PREFIX: prefix,
      KAFKA_SASL_MECHANISM: user.mechanism.toLowerCase(),
      KAFKA_SASL_USERNAME: user.name,
      KAFKA_SASL_PASSWORD_FILE: file,
    });
    return kafkaSettingsFromConfig(clientId, config);
  };

  before(async () => {
    broker = await startSaslBroker([USER, SHA256_USER, HOOK_USER]);
    adminSettings = settingsOf(broker.admin, 'sasl-test-admin');
    // The topic hook, as the Helm Job runs it, over SASL.
    await provisionTopics(createKafka(adminSettings, testLogger), prefix, testLogger);
    await createAcls(createKafka(adminSettings, testLogger), USER.name, serviceAcls('conversion-export', prefix));
    bus = new KafkaBus(adminSettings, testLogger);
    await bus.connect();
    receiver = await new ConversionReceiver().start();
  });

  after(async () => {
    await service?.close();
    await receiver?.stop();
    await bus?.close();
    await broker?.stop();
    rmSync(secrets, { recursive: true, force: true });
  });

  it('starts as its own SCRAM user and delivers a call, its ACLs sufficing', async () => {
    const file = join(secrets, 'service.password');
    writeFileSync(file, `${USER.password}\n`);
    service = await startConversionExport(
      loadConversionExportConfig({
        KAFKA_BROKERS: broker.brokers,
        KAFKA_TOPIC_PREFIX: prefix,
        KAFKA_SASL_MECHANISM: 'scram-sha-512',
        KAFKA_SASL_USERNAME: USER.name,
        KAFKA_SASL_PASSWORD_FILE: file,
        ADMIN_TOKEN,
        PORT: '0',
        HTTP_HOST: '127.0.0.1',
        LOG_LEVEL: process.env['TEST_LOG'] ?? 'silent',
        EXPORT_WEBHOOK_URL: receiver.url,
      }),
    );
    await waitFor(async () => (await http('GET', `${service!.url}/readyz`)).status === 200, { what: 'conversion-export ready over SASL', timeoutMs: 120_000 });

    // Read as the super user: what the service wrote.
    const env: KafkaTestEnv = {
      prefix,
      brokers: broker.brokers,
      settings: adminSettings,
      kafka: createKafka(adminSettings, testLogger),
      env: { KAFKA_BROKERS: broker.brokers, KAFKA_TOPIC_PREFIX: prefix, KAFKA_PUBLISH_TIMEOUT_MS: '30000' },
      topic: (key) => topicName(key, prefix),
    };
    const probe = await TopicProbe.start(env, ['exportDeliveries']);
    try {
      const event: DomainEvent<'CallAttributed'> = createEvent(
        'CallAttributed',
        {
          call: {
            callId: 'sasl-1',
            callerNumber: '+79165554433',
            trackingNumber: '+74951000001',
            status: CallStatus.CALL_STATUS_COMPLETED,
            startedAtMs: Date.now() - 60_000,
            answeredAtMs: Date.now() - 55_000,
            endedAtMs: Date.now(),
            direction: CallDirection.CALL_DIRECTION_INBOUND,
          },
          verdict: Verdict.VERDICT_CLEAN,
          method: MatchMethod.MATCH_METHOD_DYNAMIC,
          utm: { source: 'google' },
          final: true,
        },
        { siteId: 'shop', producer: 'test' },
      );
      await bus.producer.publish('attributedCalls', callKey('shop', 'sasl-1'), event);
      await waitFor(() => receiver.forCall('sasl-1').length === 1, { what: 'the conversion delivered', timeoutMs: 60_000 });
      // Its delivery log, written with its own Write ACL.
      await waitFor(() => probe.events('exportDeliveries').some((e) => e.type === 'ConversionDelivered'), { what: 'ConversionDelivered on export-deliveries' });
    } finally {
      await probe.stop();
    }
  });

  it('is refused a topic it holds no ACL for', async () => {
    const kafka = createKafka(settingsOf(USER, 'conversion-export'), testLogger);
    const producer = kafka.producer({ retry: { retries: 0 } });
    await producer.connect();
    try {
      await assert.rejects(producer.send({ topic: topicName('sessions', prefix), messages: [{ key: 'k', value: 'v' }] }), (err: Error & { type?: string }) => {
        assert.match(`${err.name} ${err.type ?? ''} ${err.message}`, /TOPIC_AUTHORIZATION_FAILED|not authorized/i);
        return true;
      });
    } finally {
      await producer.disconnect();
    }
  });

  it("runs the topic hook as a user holding only the hook's ACLs: creates, then checks existing topics", async () => {
    const other = `test.sasl.hook.${randomUUID().slice(0, 8)}.`;
    const admin = createKafka(adminSettings, testLogger);
    await createAcls(admin, HOOK_USER.name, topicHookAcls(other));
    const hook = createKafka({ ...settingsOf(HOOK_USER, 'provision-topics'), prefix: other }, testLogger);
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
