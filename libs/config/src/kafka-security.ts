import { accessSync, constants } from 'node:fs';

/** The Kafka security variables as validated one by one (common-variables.ts). */
export interface KafkaSecurityVariables {
  KAFKA_SSL?: boolean;
  KAFKA_SSL_CA_FILE?: string | undefined;
  KAFKA_SSL_CERT_FILE?: string | undefined;
  KAFKA_SSL_KEY_FILE?: string | undefined;
  KAFKA_SASL_MECHANISM?: string | undefined;
  KAFKA_SASL_USERNAME?: string | undefined;
  KAFKA_SASL_PASSWORD?: string | undefined;
  KAFKA_SASL_PASSWORD_FILE?: string | undefined;
}

function unreadable(path: string): boolean {
  try {
    accessSync(path, constants.R_OK);
    return false;
  } catch {
    return true;
  }
}

/**
 * Combinations of the Kafka security variables that cannot work, or would quietly connect with
 * less security than asked for; one message per problem (no value of a secret is ever quoted).
 * Files must be readable at start-up, so a missing mount fails the start, not the first request.
 */
export function kafkaSecurityProblems(c: KafkaSecurityVariables): string[] {
  const problems: string[] = [];
  const ssl = c.KAFKA_SSL === true;
  for (const name of ['KAFKA_SSL_CA_FILE', 'KAFKA_SSL_CERT_FILE', 'KAFKA_SSL_KEY_FILE'] as const) {
    if (c[name] && !ssl) problems.push(`${name}: is set but KAFKA_SSL is not true (the file would be ignored and the connection unencrypted)`);
  }
  if (c.KAFKA_SSL_CERT_FILE && !c.KAFKA_SSL_KEY_FILE)
    problems.push('KAFKA_SSL_CERT_FILE: needs KAFKA_SSL_KEY_FILE (the private key of the client certificate)');
  if (c.KAFKA_SSL_KEY_FILE && !c.KAFKA_SSL_CERT_FILE) problems.push('KAFKA_SSL_KEY_FILE: needs KAFKA_SSL_CERT_FILE (the client certificate of the key)');
  for (const name of ['KAFKA_SSL_CA_FILE', 'KAFKA_SSL_CERT_FILE', 'KAFKA_SSL_KEY_FILE', 'KAFKA_SASL_PASSWORD_FILE'] as const) {
    const path = c[name];
    if (path && unreadable(path)) problems.push(`${name}: cannot read ${path}`);
  }
  if (c.KAFKA_SASL_MECHANISM) {
    if (!c.KAFKA_SASL_USERNAME) problems.push(`KAFKA_SASL_USERNAME: required with KAFKA_SASL_MECHANISM=${c.KAFKA_SASL_MECHANISM}`);
    if (!c.KAFKA_SASL_PASSWORD && !c.KAFKA_SASL_PASSWORD_FILE) {
      problems.push(`KAFKA_SASL_PASSWORD: KAFKA_SASL_MECHANISM=${c.KAFKA_SASL_MECHANISM} needs KAFKA_SASL_PASSWORD or KAFKA_SASL_PASSWORD_FILE`);
    }
    if (c.KAFKA_SASL_MECHANISM === 'plain' && !ssl) {
      problems.push('KAFKA_SASL_MECHANISM: plain sends the password in clear text; use it only with KAFKA_SSL=true, or use scram-sha-256/512');
    }
  } else {
    for (const name of ['KAFKA_SASL_USERNAME', 'KAFKA_SASL_PASSWORD', 'KAFKA_SASL_PASSWORD_FILE'] as const) {
      if (c[name]) problems.push(`${name}: is set but KAFKA_SASL_MECHANISM is not (the client would connect without authenticating)`);
    }
  }
  if (c.KAFKA_SASL_PASSWORD && c.KAFKA_SASL_PASSWORD_FILE)
    problems.push('KAFKA_SASL_PASSWORD_FILE: set KAFKA_SASL_PASSWORD or KAFKA_SASL_PASSWORD_FILE, not both');
  return problems;
}
