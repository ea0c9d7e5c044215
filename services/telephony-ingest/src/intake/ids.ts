import { z } from 'zod';

/**
 * What an id received at the edge may be (a provider's call id, a call or
 * enquiry id a site sends, an event id): 1-128 characters of well-formed
 * Unicode (UTF-8 on the wire), no control characters and no white space.
 * Everything downstream keys, stores and exports such an id, encoding it where
 * a header or URL needs that; an id outside this rule is refused with a 400
 * naming its field, never accepted and then undeliverable.
 */
export const MAX_ID_LENGTH = 128;

// \p{Cc}: C0/C1 controls (NUL, CR, LF, DEL…); \p{White_Space} covers the Unicode spaces too.
const FORBIDDEN = /[\p{Cc}\p{White_Space}]/u;

export function idProblem(value: string): string | undefined {
  if (value.length === 0) return 'must not be empty';
  if (/\p{Cs}/u.test(value)) return 'is not well-formed Unicode (a lone surrogate)';
  if ([...value].length > MAX_ID_LENGTH) return `must be at most ${MAX_ID_LENGTH} characters`;
  if (FORBIDDEN.test(value)) return 'must not contain control or white-space characters';
  return undefined;
}

/** A zod string that follows the id rule. */
export const platformId = () =>
  z.string().superRefine((value, ctx) => {
    const problem = idProblem(value);
    if (problem) ctx.addIssue({ code: 'custom', message: `${problem} (ids: 1-${MAX_ID_LENGTH} characters, no control or white-space characters)` });
  });
