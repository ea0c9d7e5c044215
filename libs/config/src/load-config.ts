import { z } from 'zod';
import { kafkaSecurityProblems } from './kafka-security.js';

/** Metadata every configuration variable carries; drives validation messages and docs/configuration.md. */
export interface VariableMeta {
  description: string;
  sensitive?: boolean;
}

/** Declares one documented environment variable. */
export function variable<T extends z.ZodType>(schema: T, meta: VariableMeta): T {
  return schema.meta({ description: meta.description, sensitive: meta.sensitive ?? false });
}

export class ConfigError extends Error {
  constructor(
    readonly service: string,
    readonly problems: string[],
  ) {
    super(`${service}: invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}

/**
 * Validates the environment against a service's schema before any module is built.
 * Every problem is reported at once, so an operator fixes them in one go.
 */
export function loadConfig<S extends z.ZodObject>(service: string, schema: S, env: NodeJS.ProcessEnv = process.env): z.infer<S> {
  const input: Record<string, string | undefined> = {};
  for (const key of Object.keys(schema.shape)) {
    const value = env[key];
    // An empty variable means "unset", as in most deployment tools.
    input[key] = value === '' ? undefined : value;
  }
  const result = schema.safeParse(input);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => {
      const name = issue.path.join('.');
      const meta = schema.shape[name] ? describeVariable(schema.shape[name] as z.ZodType) : undefined;
      return `${name}: ${issue.message}${meta ? ` (${meta.description})` : ''}`;
    });
    throw new ConfigError(service, problems);
  }
  // Rules across variables: the Kafka security settings of every schema that has them (the common ones).
  if ('KAFKA_SSL' in schema.shape) {
    const problems = kafkaSecurityProblems(result.data);
    if (problems.length > 0) throw new ConfigError(service, problems);
  }
  return result.data;
}

export interface VariableDoc {
  name: string;
  description: string;
  sensitive: boolean;
  defaultValue: string | undefined;
  required: boolean;
}

function describeVariable(schema: z.ZodType): VariableMeta | undefined {
  const meta = schema.meta() as Partial<VariableMeta> | undefined;
  if (!meta?.description) return undefined;
  return { description: meta.description, sensitive: meta.sensitive ?? false };
}

/** Lists a schema's variables for documentation; throws if one lacks a description. */
export function documentConfig(schema: z.ZodObject): VariableDoc[] {
  return Object.entries(schema.shape).map(([name, field]) => {
    const type = field as z.ZodType;
    const meta = describeVariable(type);
    if (!meta) throw new Error(`configuration variable ${name} has no description`);
    const parsed = type.safeParse(undefined);
    const defaultValue = parsed.success && parsed.data !== undefined ? defaultText(parsed.data) : undefined;
    return { name, description: meta.description, sensitive: meta.sensitive ?? false, defaultValue, required: !parsed.success };
  });
}

/** A default as docs/configuration.md shows it: a list comma-separated (empty: none), anything else as written. */
function defaultText(value: unknown): string {
  if (Array.isArray(value)) return value.map((v) => defaultText(v)).join(',');
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/** Redacts sensitive values, for logging the effective configuration at start-up. */
export function redactConfig(schema: z.ZodObject, config: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(config)) {
    const meta = schema.shape[name] ? describeVariable(schema.shape[name] as z.ZodType) : undefined;
    out[name] = meta?.sensitive && value !== undefined ? '***' : value;
  }
  return out;
}

/**
 * For main.ts: loads the configuration or, when it is invalid, prints every
 * problem and exits with status 78 (EX_CONFIG) instead of a stack trace.
 */
export function configOrExit<T>(load: () => T): T {
  try {
    return load();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(78);
    }
    throw err;
  }
}
