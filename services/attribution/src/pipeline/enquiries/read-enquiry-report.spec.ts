import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { calltrack, createEvent } from '@calltrack/contracts';
import { readEnquiryReport } from './read-enquiry-report.js';

const { EnquiryKind } = calltrack.events.v1;
const T0 = Date.parse('2026-10-05T07:00:00Z');
const received = (payload: object) => createEvent('EnquiryReceived', payload, { siteId: 'shop', producer: 'test' });

describe('readEnquiryReport', () => {
  it('reads the report an EnquiryReceived carries', () => {
    const read = readEnquiryReport(received({ enquiryId: 'f-1', kind: EnquiryKind.ENQUIRY_KIND_FORM, occurredAtMs: T0, contactPhone: '+79160000001' }));
    assert.ok(read.ok);
    assert.deepEqual([read.value.enquiryId, read.value.kind, read.value.receivedAtMs, read.value.phone], ['f-1', 'form', T0, '+79160000001']);
  });

  it('says dead letter, with the reason, for an enquiry that cannot be stored (it does not throw)', () => {
    assert.deepEqual(readEnquiryReport(received({ enquiryId: 'bad id', kind: EnquiryKind.ENQUIRY_KIND_FORM, occurredAtMs: T0 })), {
      ok: false,
      outcome: 'dead_letter',
      reason: 'EnquiryReceived without a valid enquiry_id',
    });
    const noTime = readEnquiryReport(received({ enquiryId: 'f-2', kind: EnquiryKind.ENQUIRY_KIND_FORM }));
    assert.ok(!noTime.ok && /no occurred_at_ms/.test(noTime.reason));
    const noKind = readEnquiryReport(received({ enquiryId: 'f-3', occurredAtMs: T0 }));
    assert.ok(!noKind.ok && /no kind/.test(noKind.reason));
  });
});
