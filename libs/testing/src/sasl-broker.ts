// A private single-node KRaft broker that authenticates clients with SASL/SCRAM and authorises
// them with ACLs (StandardAuthorizer, nothing allowed without an ACL): for the tests of the
// services' Kafka security settings and of the ACLs they are documented to need. It listens on
// its own ports (SASL_KAFKA_PORT, default 24092, and the next one for its controller) and is
// stopped by the test that started it; the run's shared broker is never touched.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createKafka } from '@calltrack/kafka';
import { createLogger } from '@calltrack/telemetry';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

export interface ScramUser {
  name: string;
  password: string;
  mechanism: 'SCRAM-SHA-256' | 'SCRAM-SHA-512';
}

export interface SaslBroker {
  brokers: string;
  /** The super user (every operation), SCRAM-SHA-512. */
  admin: ScramUser;
  /** The broker's log so far (for failure messages). */
  log(): string;
  stop(): Promise<void>;
}

function kafkaClasspath(): string {
  const libs = process.env['KAFKA_LIBS_DIR'] ?? join(ROOT, '.cache', `kafka-${process.env['KAFKA_VERSION'] ?? '3.9.2'}`, 'libs');
  if (!existsSync(libs)) throw new Error(`Kafka jars not found in ${libs}: run scripts/kafka/fetch.sh`);
  return `${libs}/*`;
}

/** Starts the broker with these users (created at storage format, `--add-scram`) and waits until the admin can use it. */
export async function startSaslBroker(users: ScramUser[], options: { port?: number; readyTimeoutMs?: number } = {}): Promise<SaslBroker> {
  const port = options.port ?? Number(process.env['SASL_KAFKA_PORT'] ?? 24092);
  const controllerPort = port + 1;
  const admin: ScramUser = { name: 'admin', password: `admin-${Math.random().toString(36).slice(2)}`, mechanism: 'SCRAM-SHA-512' };
  const dir = mkdtempSync(join(tmpdir(), 'calltrack-sasl-kafka-'));
  const props = join(dir, 'server.properties');
  writeFileSync(
    props,
    [
      'process.roles=broker,controller',
      'node.id=1',
      `controller.quorum.voters=1@127.0.0.1:${controllerPort}`,
      `listeners=SASL_PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${controllerPort}`,
      `advertised.listeners=SASL_PLAINTEXT://127.0.0.1:${port}`,
      'controller.listener.names=CONTROLLER',
      'listener.security.protocol.map=SASL_PLAINTEXT:SASL_PLAINTEXT,CONTROLLER:PLAINTEXT',
      'inter.broker.listener.name=SASL_PLAINTEXT',
      'sasl.enabled.mechanisms=SCRAM-SHA-256,SCRAM-SHA-512',
      'sasl.mechanism.inter.broker.protocol=SCRAM-SHA-512',
      // Every enabled mechanism needs a login module; the broker's own (inter-broker) client uses SHA-512 as admin.
      ...['scram-sha-512', 'scram-sha-256'].map(
        (m) =>
          `listener.name.sasl_plaintext.${m}.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="${admin.name}" password="${admin.password}";`,
      ),
      'authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer',
      // The broker itself (admin) and its own controller connection (PLAINTEXT, loopback only).
      'super.users=User:admin;User:ANONYMOUS',
      'allow.everyone.if.no.acl.found=false',
      `log.dirs=${join(dir, 'data')}`,
      'offsets.topic.replication.factor=1',
      'offsets.topic.num.partitions=3',
      'transaction.state.log.replication.factor=1',
      'transaction.state.log.min.isr=1',
      'default.replication.factor=1',
      'min.insync.replicas=1',
      'group.initial.rebalance.delay.ms=0',
      'auto.create.topics.enable=false',
      'num.partitions=1',
    ].join('\n') + '\n',
  );
  const classpath = kafkaClasspath();
  const log4j = `-Dlog4j.configuration=file:${join(ROOT, 'deploy/kafka/log4j.properties')}`;
  const java = (args: string[]): string => execFileSync('java', ['-cp', classpath, log4j, ...args], { encoding: 'utf8' });
  const clusterId = java(['kafka.tools.StorageTool', 'random-uuid']).trim();
  const scram = [admin, ...users].flatMap((u) => ['--add-scram', `${u.mechanism}=[name=${u.name},password=${u.password}]`]);
  java(['kafka.tools.StorageTool', 'format', '-t', clusterId, '-c', props, ...scram]);

  const logFile = join(dir, 'broker.log');
  const out = openSync(logFile, 'a');
  const child: ChildProcess = spawn(
    'java',
    ['-Xms128m', '-Xmx320m', '-XX:+UseG1GC', '-Djava.awt.headless=true', log4j, '-cp', classpath, 'kafka.Kafka', props],
    { stdio: ['ignore', out, out] },
  );
  let exited = false;
  const exit = new Promise<void>((resolve) => child.once('exit', () => ((exited = true), resolve())));
  const brokers = `127.0.0.1:${port}`;
  const log = (): string => (existsSync(logFile) ? readFileSync(logFile, 'utf8') : '');
  const stop = async (): Promise<void> => {
    if (!exited) {
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 20_000);
      await exit;
      clearTimeout(killer);
    }
    rmSync(dir, { recursive: true, force: true });
  };

  // Ready when the admin is authenticated and the broker answers a metadata request.
  const client = createKafka(
    { brokers: [brokers], clientId: 'sasl-broker-ready', prefix: '', sasl: { mechanism: 'scram-sha-512', username: admin.name, password: admin.password } },
    createLogger('sasl-broker', 'silent'),
  );
  const deadline = Date.now() + (options.readyTimeoutMs ?? 120_000);
  for (;;) {
    if (exited) {
      const tail = log().slice(-3000);
      await stop();
      throw new Error(`the SASL broker exited at start:\n${tail}`);
    }
    const probe = client.admin({ retry: { retries: 0 } });
    try {
      await probe.connect();
      await probe.describeCluster();
      await probe.disconnect();
      break;
    } catch (err) {
      await probe.disconnect().catch(() => undefined);
      if (Date.now() > deadline) {
        const tail = log().slice(-3000);
        await stop();
        throw new Error(`the SASL broker did not become ready on ${brokers}: ${(err as Error).message}\n${tail}`);
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  return { brokers, admin, log, stop };
}
