// Private single-node KRaft brokers that authenticate clients — SASL/SCRAM, or mutual TLS with
// certificates of a throw-away CA — and authorise them with ACLs (StandardAuthorizer, nothing
// allowed without an ACL): for the tests of the services' Kafka security settings and of the ACLs
// they are documented to need. They listen on their own ports (SECURE_KAFKA_PORT, default 24092,
// and the next one for the controller) and are stopped by the test that started them; the run's
// shared broker is never touched.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createKafka, type KafkaSettings } from '@calltrack/kafka';
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

/** PEM files of a client certificate (CN = the user name, which is the principal) and its key. */
export interface ClientCertificate {
  certFile: string;
  keyFile: string;
}

export interface MtlsBroker {
  brokers: string;
  /** The CA that signed the broker's and the clients' certificates. */
  caFile: string;
  /** The super user's certificate (CN=admin). */
  admin: ClientCertificate;
  /** A certificate per requested user. */
  users: Record<string, ClientCertificate>;
  log(): string;
  stop(): Promise<void>;
}

function kafkaClasspath(): string {
  const libs = process.env['KAFKA_LIBS_DIR'] ?? join(ROOT, '.cache', `kafka-${process.env['KAFKA_VERSION'] ?? '3.9.2'}`, 'libs');
  if (!existsSync(libs)) throw new Error(`Kafka jars not found in ${libs}: run scripts/kafka/fetch.sh`);
  return `${libs}/*`;
}

const port = (options: { port?: number }): number => options.port ?? Number(process.env['SECURE_KAFKA_PORT'] ?? 24092);

/** What both brokers share: KRaft, one node, ACLs enforced, no topic created by accident. */
function commonProperties(dir: string, controllerPort: number): string[] {
  return [
    'process.roles=broker,controller',
    'node.id=1',
    `controller.quorum.voters=1@127.0.0.1:${controllerPort}`,
    'controller.listener.names=CONTROLLER',
    'authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer',
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
  ];
}

/** Formats the storage (with `formatArgs`, e.g. SCRAM users), starts the broker and waits until `ready` can use it. */
async function launch(
  dir: string,
  properties: string[],
  formatArgs: string[],
  brokers: string,
  ready: Omit<KafkaSettings, 'brokers' | 'clientId' | 'prefix'>,
  readyTimeoutMs: number,
): Promise<{ log(): string; stop(): Promise<void> }> {
  const props = join(dir, 'server.properties');
  writeFileSync(props, properties.join('\n') + '\n');
  const classpath = kafkaClasspath();
  const log4j = `-Dlog4j.configuration=file:${join(ROOT, 'deploy/kafka/log4j.properties')}`;
  const java = (args: string[]): string => execFileSync('java', ['-cp', classpath, log4j, ...args], { encoding: 'utf8' });
  const clusterId = java(['kafka.tools.StorageTool', 'random-uuid']).trim();
  java(['kafka.tools.StorageTool', 'format', '-t', clusterId, '-c', props, ...formatArgs]);

  const logFile = join(dir, 'broker.log');
  const out = openSync(logFile, 'a');
  const child: ChildProcess = spawn(
    'java',
    ['-Xms128m', '-Xmx320m', '-XX:+UseG1GC', '-Djava.awt.headless=true', log4j, '-cp', classpath, 'kafka.Kafka', props],
    { stdio: ['ignore', out, out] },
  );
  let exited = false;
  const exit = new Promise<void>((resolve) => child.once('exit', () => ((exited = true), resolve())));
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

  // Ready when the super user is authenticated and the broker answers a metadata request.
  const client = createKafka({ brokers: [brokers], clientId: 'secure-broker-ready', prefix: '', ...ready }, createLogger('secure-broker', 'silent'));
  const deadline = Date.now() + readyTimeoutMs;
  for (;;) {
    if (exited) {
      const tail = log().slice(-3000);
      await stop();
      throw new Error(`the broker exited at start:\n${tail}`);
    }
    const probe = client.admin({ retry: { retries: 0 } });
    try {
      await probe.connect();
      await probe.describeCluster();
      await probe.disconnect();
      return { log, stop };
    } catch (err) {
      await probe.disconnect().catch(() => undefined);
      if (Date.now() > deadline) {
        const tail = log().slice(-3000);
        await stop();
        throw new Error(`the broker did not become ready on ${brokers}: ${(err as Error).message}\n${tail}`, { cause: err });
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

/** A SASL_PLAINTEXT broker with these SCRAM users (created at storage format, `--add-scram`) and a super user `admin`. */
export async function startSaslBroker(users: ScramUser[], options: { port?: number; readyTimeoutMs?: number } = {}): Promise<SaslBroker> {
  const p = port(options);
  const admin: ScramUser = { name: 'admin', password: `admin-${Math.random().toString(36).slice(2)}`, mechanism: 'SCRAM-SHA-512' };
  const dir = mkdtempSync(join(tmpdir(), 'calltrack-sasl-kafka-'));
  const brokers = `127.0.0.1:${p}`;
  const properties = [
    ...commonProperties(dir, p + 1),
    `listeners=SASL_PLAINTEXT://${brokers},CONTROLLER://127.0.0.1:${p + 1}`,
    `advertised.listeners=SASL_PLAINTEXT://${brokers}`,
    'listener.security.protocol.map=SASL_PLAINTEXT:SASL_PLAINTEXT,CONTROLLER:PLAINTEXT',
    'inter.broker.listener.name=SASL_PLAINTEXT',
    'sasl.enabled.mechanisms=SCRAM-SHA-256,SCRAM-SHA-512',
    'sasl.mechanism.inter.broker.protocol=SCRAM-SHA-512',
    // Every enabled mechanism needs a login module; the broker's own (inter-broker) client uses SHA-512 as admin.
    ...['scram-sha-512', 'scram-sha-256'].map(
      (m) =>
        `listener.name.sasl_plaintext.${m}.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required ` +
        `username="${admin.name}" password="${admin.password}";`,
    ),
    // The broker itself (admin) and its own controller connection (PLAINTEXT, loopback only).
    'super.users=User:admin;User:ANONYMOUS',
  ];
  const scram = [admin, ...users].flatMap((u) => ['--add-scram', `${u.mechanism}=[name=${u.name},password=${u.password}]`]);
  const { log, stop } = await launch(
    dir,
    properties,
    scram,
    brokers,
    { sasl: { mechanism: 'scram-sha-512', username: admin.name, password: admin.password } },
    options.readyTimeoutMs ?? 120_000,
  );
  return { brokers, admin, log, stop };
}

/**
 * An SSL broker that requires a client certificate (`ssl.client.auth=required`); the principal is
 * the certificate's CN. Certificates of a CA made for this broker: the broker's (for 127.0.0.1),
 * `admin` (super user) and one per user.
 */
export async function startMtlsBroker(users: string[], options: { port?: number; readyTimeoutMs?: number } = {}): Promise<MtlsBroker> {
  const p = port(options);
  const dir = mkdtempSync(join(tmpdir(), 'calltrack-mtls-kafka-'));
  const file = (name: string): string => join(dir, name);
  const openssl = (args: string[]): void => void execFileSync('openssl', args, { stdio: 'pipe' });
  openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', file('ca.key'), '-out', file('ca.crt'), '-days', '2', '-subj', '/CN=calltrack-test-ca']);
  const issue = (cn: string, ext?: string): ClientCertificate => {
    const keyFile = file(`${cn}.key`);
    const certFile = file(`${cn}.crt`);
    openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyFile, '-out', file(`${cn}.csr`), '-subj', `/CN=${cn}`]);
    const extArgs: string[] = [];
    if (ext) {
      writeFileSync(file(`${cn}.ext`), ext);
      extArgs.push('-extfile', file(`${cn}.ext`));
    }
    openssl([
      'x509',
      '-req',
      '-in',
      file(`${cn}.csr`),
      '-CA',
      file('ca.crt'),
      '-CAkey',
      file('ca.key'),
      '-CAcreateserial',
      '-out',
      certFile,
      '-days',
      '2',
      ...extArgs,
    ]);
    return { certFile, keyFile };
  };
  const broker = issue('broker', 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  // Kafka's PEM key store: the (unencrypted PKCS#8) key and the certificate chain in one file.
  writeFileSync(file('broker.pem'), readFileSync(broker.keyFile, 'utf8') + readFileSync(broker.certFile, 'utf8'));
  const admin = issue('admin');
  const issued = Object.fromEntries(users.map((u) => [u, issue(u)]));
  const brokers = `127.0.0.1:${p}`;
  const properties = [
    ...commonProperties(dir, p + 1),
    `listeners=SSL://${brokers},CONTROLLER://127.0.0.1:${p + 1}`,
    `advertised.listeners=SSL://${brokers}`,
    'listener.security.protocol.map=SSL:SSL,CONTROLLER:PLAINTEXT',
    'inter.broker.listener.name=SSL',
    'ssl.keystore.type=PEM',
    `ssl.keystore.location=${file('broker.pem')}`,
    'ssl.truststore.type=PEM',
    `ssl.truststore.location=${file('ca.crt')}`,
    'ssl.client.auth=required',
    // Principal = the certificate's CN (User:<cn>), not the whole DN.
    'ssl.principal.mapping.rules=RULE:^CN=([^,]+)$/$1/,DEFAULT',
    'super.users=User:admin;User:broker;User:ANONYMOUS',
  ];
  const { log, stop } = await launch(
    dir,
    properties,
    [],
    brokers,
    {
      ssl: {
        rejectUnauthorized: true,
        ca: [readFileSync(file('ca.crt'), 'utf8')],
        cert: readFileSync(admin.certFile, 'utf8'),
        key: readFileSync(admin.keyFile, 'utf8'),
      },
    },
    options.readyTimeoutMs ?? 120_000,
  );
  return { brokers, caFile: file('ca.crt'), admin, users: issued, log, stop };
}
