import { calltrack } from '@calltrack/contracts';
import { toE164 } from '@calltrack/phone';
import { z } from 'zod';
import type { CallReportPayload } from '../../calls/call-merge.js';
import { eventIdOf } from '@calltrack/contracts';
import type { FieldProblem } from '../../intake/field-problems.js';
import { platformId } from '../../intake/ids.js';
import { instant } from '../../intake/instant.js';
import { timeProblems, type EventTimeWindow } from '../../intake/event-time-window.js';
import { readCaller } from '../../intake/phone-fields.js';

const { CallStatus, CallDirection } = calltrack.events.v1;

/** Provider name and platform call id prefix of calls reported through the generic webhook. */
export const GENERIC_PROVIDER = 'generic';

export const CALL_STATUSES = ['ringing', 'answered', 'completed', 'missed', 'busy', 'failed'] as const;
export type GenericCallStatus = (typeof CALL_STATUSES)[number];

/** The generic webhook body (docs/webhooks-generic.md). Unknown fields are refused so typos surface at once. */
export const genericWebhookSchema = z
  .object({
    callId: platformId(),
    trackingNumber: z.string().min(1).max(64),
    callerNumber: z.string().max(64).nullish(),
    direction: z.enum(['inbound', 'outbound']).nullish(),
    status: z.enum(CALL_STATUSES),
    startedAt: instant,
    answeredAt: instant.nullish(),
    endedAt: instant.nullish(),
    recordingUrl: z
      .url({ protocol: /^https?$/, error: 'expected an http or https URL' })
      .max(2048)
      .nullish(),
    sequence: z.number().int().min(0).max(0xffff_ffff).nullish(),
  })
  .strict();

export type GenericWebhookBody = z.infer<typeof genericWebhookSchema>;

export type MappedWebhook =
  { ok: true; providerCallId: string; callId: string; payload: CallReportPayload; occurredAtMs: number } | { ok: false; problems: FieldProblem[] };

const STATUS: Record<GenericCallStatus, calltrack.events.v1.CallStatus> = {
  ringing: CallStatus.CALL_STATUS_RINGING,
  answered: CallStatus.CALL_STATUS_ANSWERED,
  completed: CallStatus.CALL_STATUS_COMPLETED,
  missed: CallStatus.CALL_STATUS_MISSED,
  busy: CallStatus.CALL_STATUS_BUSY,
  failed: CallStatus.CALL_STATUS_FAILED,
};

/** Default sequence when the provider sends none: a later state of a call outranks an earlier one. */
export const STATUS_RANK: Record<GenericCallStatus, number> = { ringing: 1, answered: 2, completed: 3, missed: 3, busy: 3, failed: 3 };

function zodProblems(body: unknown, error: z.ZodError): FieldProblem[] {
  const problems: FieldProblem[] = [];
  for (const issue of error.issues) {
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) problems.push({ field: key, problem: 'unknown field' });
      continue;
    }
    const field = issue.path.join('.') || '(root)';
    const missing = issue.path.length === 1 && typeof body === 'object' && body !== null && !(String(issue.path[0]) in body);
    problems.push({ field, problem: missing ? 'required field is missing' : issue.message });
  }
  return problems;
}

/**
 * Validates a generic webhook body and maps it to a CallReported payload:
 * numbers normalised to E.164 with the site's country, times to epoch ms
 * (0 when absent) and, when `time` is given (the controller always gives it),
 * within the time window every adapter applies; status and direction to the
 * proto enums.
 */
export function mapGenericWebhook(body: unknown, country: string, time?: { nowMs: number; window: EventTimeWindow }): MappedWebhook {
  const parsed = genericWebhookSchema.safeParse(body);
  if (!parsed.success) return { ok: false, problems: zodProblems(body, parsed.error) };
  const b = parsed.data;
  const problems: FieldProblem[] = [];

  const trackingNumber = toE164(b.trackingNumber, country);
  if (!trackingNumber) problems.push({ field: 'trackingNumber', problem: `"${b.trackingNumber}" is not a valid phone number (site country ${country})` });
  // The caller rule of every adapter (intake/phone-fields.ts): withheld values are '', garbage is refused.
  const caller = readCaller(b.callerNumber ?? '', country);
  const callerNumber = caller.ok ? caller.number : '';
  if (!caller.ok) problems.push({ field: 'callerNumber', problem: `${caller.problem}; send it empty or absent when withheld` });

  const startedAtMs = b.startedAt;
  const answeredAtMs = b.answeredAt ?? 0;
  const endedAtMs = b.endedAt ?? 0;
  if (time)
    problems.push(
      ...timeProblems(
        [
          ['startedAt', startedAtMs],
          ['answeredAt', answeredAtMs],
          ['endedAt', endedAtMs],
        ],
        time.nowMs,
        time.window,
      ),
    );
  if (endedAtMs && endedAtMs < startedAtMs) problems.push({ field: 'endedAt', problem: 'is before startedAt' });
  if (answeredAtMs && answeredAtMs < startedAtMs) problems.push({ field: 'answeredAt', problem: 'is before startedAt' });
  if (answeredAtMs && endedAtMs && answeredAtMs > endedAtMs) problems.push({ field: 'answeredAt', problem: 'is after endedAt' });
  if (problems.length > 0 || !trackingNumber) return { ok: false, problems };

  const callId = `${GENERIC_PROVIDER}:${b.callId}`;
  return {
    ok: true,
    providerCallId: b.callId,
    callId,
    occurredAtMs: Math.max(startedAtMs, answeredAtMs, endedAtMs),
    payload: {
      callId,
      provider: GENERIC_PROVIDER,
      providerCallId: b.callId,
      trackingNumber,
      callerNumber,
      direction: b.direction === 'outbound' ? CallDirection.CALL_DIRECTION_OUTBOUND : CallDirection.CALL_DIRECTION_INBOUND,
      status: STATUS[b.status],
      startedAtMs,
      answeredAtMs,
      endedAtMs,
      recordingUrl: b.recordingUrl ?? '',
      sequence: b.sequence ?? STATUS_RANK[b.status],
    },
  };
}

/**
 * Event id of an accepted webhook: a provider's retry of the same report (same
 * bytes, even re-signed with a new timestamp) gets the same id, which
 * downstream consumers dedupe on.
 */
export const webhookEventId = (siteId: string, rawBody: Buffer): string => eventIdOf(GENERIC_PROVIDER, siteId, rawBody);
