import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { calltrack } from '@calltrack/contracts';
import { enquiryEventId, mapEnquiry } from './enquiry-mapping.js';

const NOW = Date.parse('2025-03-01T12:00:00Z');
const base = { enquiryId: 'form-1001', kind: 'form', occurredAt: '2025-03-01T11:59:00Z' };

describe('enquiry intake', () => {
  it('maps a full form: phone to E.164 with the site country, e-mail lower-cased, custom fields kept', () => {
    const m = mapEnquiry(
      {
        ...base,
        sessionId: 'sess-1',
        visitorId: 'vis-1',
        phone: '8 (916) 123-45-67',
        email: 'Anna@Example.COM',
        name: ' Anna ',
        message: 'Please call me',
        pageUrl: 'https://shop.example/contact',
        customFields: { product: 'sofa', 'utm.form': 'footer' },
      },
      'RU',
      NOW,
    );
    assert.ok(m.ok);
    assert.equal(m.enquiryId, 'form-1001');
    assert.equal(m.occurredAtMs, Date.parse('2025-03-01T11:59:00Z'));
    assert.equal(m.payload.kind, calltrack.events.v1.EnquiryKind.ENQUIRY_KIND_FORM);
    assert.equal(m.payload.contactPhone, '+79161234567');
    assert.equal(m.payload.contactEmail, 'anna@example.com');
    assert.equal(m.payload.contactName, 'Anna');
    assert.equal(m.payload.sessionId, 'sess-1');
    assert.deepEqual(m.payload.customFields, { product: 'sofa', 'utm.form': 'footer' });
    assert.equal(m.payload.receivedAtMs, NOW);
  });

  it('accepts every kind and epoch milliseconds; optional fields may be absent or null', () => {
    for (const [kind, value] of [
      ['callback_request', 2],
      ['chat', 3],
      ['other', 4],
    ] as const) {
      const m = mapEnquiry({ enquiryId: `e-${kind}`, kind, occurredAt: NOW - 1000, phone: null, email: null }, 'US', NOW);
      assert.ok(m.ok, kind);
      assert.equal(m.payload.kind, value);
      assert.equal(m.payload.contactPhone, '');
    }
  });

  it('names each offending field', () => {
    const cases: Array<[unknown, string, RegExp]> = [
      [{ kind: 'form', occurredAt: base.occurredAt }, 'enquiryId', /required/],
      [{ ...base, enquiryId: 'has space' }, 'enquiryId', /white-space/],
      [{ ...base, enquiryId: 'x'.repeat(129) }, 'enquiryId', /at most 128/],
      [{ ...base, enquiryId: 'a\u0000b' }, 'enquiryId', /control/],
      [{ ...base, kind: 'letter' }, 'kind', /form, callback_request, chat, other/],
      [{ ...base, occurredAt: 1_700_000_000 }, 'occurredAt', /seconds sent instead/],
      [{ ...base, occurredAt: '2025-03-01 10:00' }, 'occurredAt', /ISO-8601/],
      [{ ...base, occurredAt: '2025-03-01T13:00:00Z' }, 'occurredAt', /future/],
      [{ ...base, phone: '12' }, 'phone', /not a valid phone number \(site country RU\)/],
      [{ ...base, email: 'not-an-email' }, 'email', /e-mail/],
      [{ ...base, pageUrl: 'ftp://x.example/' }, 'pageUrl', /http/],
      [{ ...base, message: 'x'.repeat(4001) }, 'message', /4000/],
      [{ ...base, customFields: { 'bad key': 'v' } }, 'customFields.bad key', /keys/],
      [{ ...base, customFields: { k: 'v'.repeat(501) } }, 'customFields.k', /500/],
      [{ ...base, customFields: Object.fromEntries(Array.from({ length: 21 }, (_, i) => [`f${i}`, 'v'])) }, 'customFields', /at most 20/],
      [{ ...base, colour: 'red' }, 'colour', /unknown field/],
      [{ ...base, sessionId: '' }, 'sessionId', /session id/],
    ];
    for (const [body, field, problem] of cases) {
      const m = mapEnquiry(body, 'RU', NOW);
      assert.equal(m.ok, false, field);
      if (m.ok) continue;
      const p = m.problems.find((x) => x.field === field);
      assert.ok(p, `${field}: ${JSON.stringify(m.problems)}`);
      assert.match(p.problem, problem, field);
    }
    const notObject = mapEnquiry([1, 2], 'RU', NOW);
    assert.equal(notObject.ok, false);
  });

  it('gives one event id per site and enquiry id, whatever the body', () => {
    assert.equal(enquiryEventId('shop', 'form-1'), enquiryEventId('shop', 'form-1'));
    assert.notEqual(enquiryEventId('shop', 'form-1'), enquiryEventId('shop', 'form-2'));
    assert.notEqual(enquiryEventId('shop', 'form-1'), enquiryEventId('other', 'form-1'));
    assert.match(enquiryEventId('shop', 'form-1'), /^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });
});
