import { readFileSync } from 'node:fs';
import type { ConnectionOptions } from 'node:tls';

export type SaslMechanism = 'plain' | 'scram-sha-256' | 'scram-sha-512';

/** The KAFKA_* security variables, validated together by @calltrack/config (kafkaSecurityProblems). */
export interface KafkaSecurityConfig {
  KAFKA_SSL?: boolean;
  KAFKA_SSL_CA_FILE?: string | undefined;
  KAFKA_SSL_CERT_FILE?: string | undefined;
  KAFKA_SSL_KEY_FILE?: string | undefined;
  KAFKA_SASL_MECHANISM?: SaslMechanism | undefined;
  KAFKA_SASL_USERNAME?: string | undefined;
  KAFKA_SASL_PASSWORD?: string | undefined;
  KAFKA_SASL_PASSWORD_FILE?: string | undefined;
}

export interface KafkaSecurity {
  /** false, true (Node's CA bundle, no client certificate), or TLS options (a private CA, a client certificate). */
  ssl: boolean | ConnectionOptions;
  sasl?: { mechanism: SaslMechanism; username: string; password: string };
}

/** A password file's content: a mounted Secret often ends in one newline, which is not part of the password. */
function readSecretFile(path: string): string {
  return readFileSync(path, 'utf8').replace(/\r?\n$/, '');
}

/**
 * TLS and SASL options for kafkajs from the configuration: the files (CA, client certificate
 * and key, SASL password) are read once, here, at start-up; rotating them takes a restart.
 * Nothing read is logged. Throws on a combination the configuration should have refused.
 */
export function kafkaSecurityFromConfig(c: KafkaSecurityConfig): KafkaSecurity {
  let ssl: boolean | ConnectionOptions = c.KAFKA_SSL ?? false;
  if (ssl && (c.KAFKA_SSL_CA_FILE || c.KAFKA_SSL_CERT_FILE)) {
    ssl = {
      // Certificates are always checked: there is no switch to turn that off.
      rejectUnauthorized: true,
      ...(c.KAFKA_SSL_CA_FILE ? { ca: [readFileSync(c.KAFKA_SSL_CA_FILE, 'utf8')] } : {}),
      ...(c.KAFKA_SSL_CERT_FILE && c.KAFKA_SSL_KEY_FILE
        ? { cert: readFileSync(c.KAFKA_SSL_CERT_FILE, 'utf8'), key: readFileSync(c.KAFKA_SSL_KEY_FILE, 'utf8') }
        : {}),
    };
  }
  if (!c.KAFKA_SASL_MECHANISM) return { ssl };
  const password = c.KAFKA_SASL_PASSWORD_FILE ? readSecretFile(c.KAFKA_SASL_PASSWORD_FILE) : c.KAFKA_SASL_PASSWORD;
  if (!c.KAFKA_SASL_USERNAME || !password) {
    throw new Error('KAFKA_SASL_MECHANISM needs KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD (or KAFKA_SASL_PASSWORD_FILE)');
  }
  return { ssl, sasl: { mechanism: c.KAFKA_SASL_MECHANISM, username: c.KAFKA_SASL_USERNAME, password } };
}
