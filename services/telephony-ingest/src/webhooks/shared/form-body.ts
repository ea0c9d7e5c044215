import { z } from 'zod';
import type { FieldProblem } from '../../intake/field-problems.js';

/** The name/value pairs of an application/x-www-form-urlencoded body, in order, repeated names kept. */
export function formPairs(rawBody: Buffer): Array<[string, string]> {
  return [...new URLSearchParams(rawBody.toString('utf8'))];
}

/** One value per name (the first), for schema validation. */
export function formObject(pairs: ReadonlyArray<readonly [string, string]>): Record<string, string> {
  const out: Record<string, string> = Object.create(null) as Record<string, string>;
  for (const [name, value] of pairs) if (!(name in out)) out[name] = value;
  return out;
}

/** zod issues as field problems named like the provider's fields. */
export function fieldProblems(body: unknown, error: z.ZodError): FieldProblem[] {
  return error.issues.map((issue) => {
    const field = issue.path.join('.') || '(root)';
    const head = issue.path[0];
    const missing = issue.path.length === 1 && typeof body === 'object' && body !== null && !(String(head) in body);
    return { field, problem: missing ? 'required field is missing' : issue.message };
  });
}

// Epoch values outside this range are almost always a unit mix-up or garbage.
export const MIN_EPOCH_MS = Date.UTC(2000, 0, 1);
export const MAX_EPOCH_MS = Date.UTC(2100, 0, 1);

export const inEpochRange = (ms: number): boolean => Number.isFinite(ms) && ms >= MIN_EPOCH_MS && ms < MAX_EPOCH_MS;

/** A decimal integer sent as a string (form fields), e.g. a duration or a sequence number. */
export const digits = (max = 0xffff_ffff) =>
  z
    .string()
    .trim()
    .regex(/^\d{1,10}$/, 'expected a non-negative integer')
    .transform(Number)
    .refine((n) => n <= max, `must be at most ${max}`);
