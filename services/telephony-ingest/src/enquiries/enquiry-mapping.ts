// The enquiry API's body (docs/enquiries.md): web forms, callback requests, chats and
// other enquiries a site reports server to server, validated and mapped to an
// EnquiryReceived payload. Pure: the controller verifies the signature first.
import { calltrack, type EventInput } from '@calltrack/contracts';
import { toE164 } from '@calltrack/phone';
import { z } from 'zod';
import { platformId } from '../intake/ids.js';
import { DEFAULT_EVENT_TIME_WINDOW, timeProblems, type EventTimeWindow } from '../intake/event-time-window.js';
import { eventIdOf } from '@calltrack/contracts';
import type { FieldProblem } from '../intake/field-problems.js';
import { instant } from '../intake/instant.js';

const { EnquiryKind } = calltrack.events.v1;

export const ENQUIRY_KINDS = ['form', 'callback_request', 'chat', 'other'] as const;
export type EnquiryKindName = (typeof ENQUIRY_KINDS)[number];

const KIND: Record<EnquiryKindName, calltrack.events.v1.EnquiryKind> = {
  form: EnquiryKind.ENQUIRY_KIND_FORM,
  callback_request: EnquiryKind.ENQUIRY_KIND_CALLBACK_REQUEST,
  chat: EnquiryKind.ENQUIRY_KIND_CHAT,
  other: EnquiryKind.ENQUIRY_KIND_OTHER,
};

/** Bounds of the site's own fields: enough for a CRM's form, too little to abuse as storage. */
export const MAX_CUSTOM_FIELDS = 20;
export const MAX_CUSTOM_KEY = 64;
export const MAX_CUSTOM_VALUE = 500;
export const MAX_MESSAGE = 4000;

// Ids the tracker issues and sites echo back: printable ASCII without spaces.
const trackerId = (what: string) => z.string().regex(/^[\x21-\x7e]{1,128}$/, `${what}: 1-128 printable ASCII characters without spaces`);
const text = (max: number) => z.string().max(max, `at most ${max} characters`);

/** The enquiry body. Unknown fields are refused so typos surface at once. */
export const enquirySchema = z
  .object({
    enquiryId: platformId(),
    kind: z.enum(ENQUIRY_KINDS, { message: `expected one of ${ENQUIRY_KINDS.join(', ')}` }),
    occurredAt: instant,
    sessionId: trackerId('session id').nullish(),
    visitorId: trackerId('visitor id').nullish(),
    phone: text(64).nullish(),
    email: z.email({ message: 'expected an e-mail address' }).max(254, 'at most 254 characters').nullish(),
    name: text(200).nullish(),
    message: text(MAX_MESSAGE).nullish(),
    pageUrl: z
      .url({ protocol: /^https?$/, error: 'expected an http or https URL' })
      .max(2048, 'at most 2048 characters')
      .nullish(),
    customFields: z
      .record(z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, `keys: 1-${MAX_CUSTOM_KEY} letters, digits, "_", "." or "-"`), text(MAX_CUSTOM_VALUE))
      .refine((r) => Object.keys(r).length <= MAX_CUSTOM_FIELDS, `at most ${MAX_CUSTOM_FIELDS} fields`)
      .nullish(),
  })
  .strict();

export type EnquiryBody = z.infer<typeof enquirySchema>;

export type MappedEnquiry =
  { ok: true; enquiryId: string; payload: EventInput<'EnquiryReceived'>; occurredAtMs: number } | { ok: false; problems: FieldProblem[] };

function zodProblems(body: unknown, error: z.ZodError): FieldProblem[] {
  const problems: FieldProblem[] = [];
  for (const issue of error.issues) {
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) problems.push({ field: [...issue.path, key].join('.'), problem: 'unknown field' });
      continue;
    }
    const field = issue.path.join('.') || '(root)';
    // A bad record key reports "Invalid key in record"; the key's own rule says more.
    if (issue.code === 'invalid_key') {
      problems.push({ field, problem: issue.issues[0]?.message ?? issue.message });
      continue;
    }
    const missing = issue.path.length === 1 && typeof body === 'object' && body !== null && !(String(issue.path[0]) in body);
    problems.push({ field, problem: missing ? 'required field is missing' : issue.message });
  }
  return problems;
}

/**
 * Validates an enquiry body and maps it to EnquiryReceived: the phone normalised to
 * E.164 with the site's country (a number that is not one is a 400 naming `phone`),
 * occurredAt within the time window every adapter applies (intake/event-time-window.ts),
 * e-mail lower-cased, blank optional fields dropped.
 */
export function mapEnquiry(body: unknown, country: string, receivedAtMs: number, window: EventTimeWindow = DEFAULT_EVENT_TIME_WINDOW): MappedEnquiry {
  const parsed = enquirySchema.safeParse(body);
  if (!parsed.success) return { ok: false, problems: zodProblems(body, parsed.error) };
  const b = parsed.data;
  const problems: FieldProblem[] = [];
  let phone = '';
  const rawPhone = (b.phone ?? '').trim();
  if (rawPhone) {
    const e164 = toE164(rawPhone, country);
    if (e164) phone = e164;
    else
      problems.push({
        field: 'phone',
        problem: `"${rawPhone}" is not a valid phone number (site country ${country}); leave it out when the visitor gave none`,
      });
  }
  problems.push(...timeProblems([['occurredAt', b.occurredAt]], receivedAtMs, window));
  if (problems.length > 0) return { ok: false, problems };
  return {
    ok: true,
    enquiryId: b.enquiryId,
    occurredAtMs: b.occurredAt,
    payload: {
      enquiryId: b.enquiryId,
      kind: KIND[b.kind],
      occurredAtMs: b.occurredAt,
      sessionId: b.sessionId ?? '',
      visitorId: b.visitorId ?? '',
      contactPhone: phone,
      contactEmail: (b.email ?? '').toLowerCase(),
      contactName: (b.name ?? '').trim(),
      message: b.message ?? '',
      pageUrl: b.pageUrl ?? '',
      customFields: { ...(b.customFields ?? {}) },
      receivedAtMs,
    },
  };
}

/**
 * Event id of an enquiry: derived from the site and the site's enquiry id only, so any
 * retry of it (even with other bytes or a new signature) is the same event, which every
 * consumer dedupes on.
 */
export const enquiryEventId = (siteId: string, enquiryId: string): string => eventIdOf('enquiry', siteId, enquiryId);
