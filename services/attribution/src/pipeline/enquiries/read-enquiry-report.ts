import { calltrack, type DomainEvent } from '@calltrack/contracts';
import type { EnquiryRow } from '../../store/rows.js';
import type { EnquiryReport } from '../enquiry-evaluation.js';
import { deadLetter, ok, type StepResult } from '../../step-result.js';

const { EnquiryKind } = calltrack.events.v1;

const KIND_NAMES: Readonly<Record<number, string>> = {
  [EnquiryKind.ENQUIRY_KIND_FORM]: 'form',
  [EnquiryKind.ENQUIRY_KIND_CALLBACK_REQUEST]: 'callback_request',
  [EnquiryKind.ENQUIRY_KIND_CHAT]: 'chat',
  [EnquiryKind.ENQUIRY_KIND_OTHER]: 'other',
};

/** The report an EnquiryReceived carries, or a dead letter for one that cannot be stored. */
export function readEnquiryReport(event: DomainEvent<'EnquiryReceived'>): StepResult<EnquiryReport> {
  const p = event.payload;
  const enquiryId = p.enquiryId ?? '';
  if (!/^[\x21-\x7e]{1,128}$/.test(enquiryId)) return deadLetter('EnquiryReceived without a valid enquiry_id');
  const occurredAtMs = Number(p.occurredAtMs) || 0;
  if (occurredAtMs <= 0) return deadLetter(`enquiry ${enquiryId} has no occurred_at_ms`);
  const kind = KIND_NAMES[p.kind ?? 0];
  if (!kind) return deadLetter(`enquiry ${enquiryId} has no kind`);
  return ok({
    siteId: event.siteId,
    enquiryId,
    eventId: event.eventId,
    kind,
    occurredAtMs,
    receivedAtMs: Number(p.receivedAtMs) || occurredAtMs,
    givenSessionId: p.sessionId ?? '',
    givenVisitorId: p.visitorId ?? '',
    phone: p.contactPhone ?? '',
    email: p.contactEmail ?? '',
    name: p.contactName ?? '',
    message: p.message ?? '',
    pageUrl: p.pageUrl ?? '',
    customFields: { ...(p.customFields ?? {}) },
  });
}

/** The report a stored row holds, to evaluate it again. */
export function enquiryReportOfRow(row: EnquiryRow): EnquiryReport {
  return {
    siteId: row.site_id,
    enquiryId: row.enquiry_id,
    eventId: row.event_id,
    kind: row.kind,
    occurredAtMs: Date.parse(row.occurred_at),
    receivedAtMs: Date.parse(row.received_at),
    givenSessionId: row.given_session_id,
    givenVisitorId: row.given_visitor_id,
    phone: row.contact_phone,
    email: row.contact_email,
    name: row.contact_name,
    message: row.message,
    pageUrl: row.page_url,
    customFields: { ...row.custom_fields },
  };
}
