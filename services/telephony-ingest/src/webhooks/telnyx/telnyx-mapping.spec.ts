import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { calltrack } from '@calltrack/contracts';
import { callReport, CallStage, mergeObservation, type CallObservation, type MergedCall } from '../../calls/call-merge.js';
import { mapTelnyxWebhook, telnyxOutcome } from './telnyx-mapping.js';

const { CallStatus, CallDirection } = calltrack.events.v1;
const SESSION = '428c31b6-7af4-4bcb-b7f5-5013ef9657c1';

// Shaped like the examples of developers.telnyx.com/api-reference/callbacks (call-initiated, call-answered, call-hangup).
function webhook(eventType: string, payload: Record<string, unknown>, over: { id?: string; occurredAt?: string } = {}) {
  return {
    data: {
      record_type: 'event',
      event_type: eventType,
      id: over.id ?? `${eventType}-0ccc7b54-4df3-4bca-a65a-3da1ecc777f0`,
      occurred_at: over.occurredAt ?? '2025-03-01T10:00:00.521992Z',
      payload: {
        call_control_id: 'v3:MdI91X4lWFEs7IgbBEOT9M4AigoY08M0WWZFISt1Yw2axZ_IiE4pqg',
        connection_id: '7267xxxxxxxxxxxxxx',
        call_leg_id: SESSION,
        call_session_id: SESSION,
        client_state: 'aGF2ZSBhIG5pY2UgZGF5ID1d',
        from: '+35319605860',
        to: '+13129457420',
        ...payload,
      },
    },
    meta: { attempt: 1, delivered_to: 'https://hooks.example.com/v1/webhooks/telnyx/acme' },
  };
}

const initiated = webhook('call.initiated', { direction: 'incoming', state: 'parked', start_time: '2025-03-01T10:00:00.521992Z' });
const answered = webhook('call.answered', { state: 'answered', start_time: '2025-03-01T10:00:00.521992Z' }, { occurredAt: '2025-03-01T10:00:06.000Z' });
const hangup = webhook(
  'call.hangup',
  {
    state: 'hangup',
    start_time: '2025-03-01T10:00:00.521992Z',
    end_time: '2025-03-01T10:01:10.000Z',
    hangup_cause: 'normal_clearing',
    hangup_source: 'caller',
    sip_hangup_cause: '200',
  },
  { occurredAt: '2025-03-01T10:01:10.000Z' },
);

function observe(body: unknown, country = 'US') {
  const r = mapTelnyxWebhook(body, country, 'site-1');
  assert.equal(r.kind, 'call', JSON.stringify(r));
  return r;
}
const merge = (list: CallObservation[]) => list.reduce<MergedCall | undefined>((c, o) => mergeObservation(c, o), undefined)!;

describe('Telnyx mapping', () => {
  it('maps call.initiated of an incoming leg: the session is the call, to the tracking number', () => {
    const { observation, eventId } = observe(initiated);
    assert.deepEqual(observation, {
      provider: 'telnyx',
      providerCallId: SESSION,
      stage: CallStage.start,
      providerSequence: 0,
      parties: { direction: 'inbound', trackingNumber: '+13129457420', callerNumber: '+35319605860', calledNumber: '', rank: 2 },
      startedAt: { ms: Date.parse('2025-03-01T10:00:00.521Z'), exact: true },
    });
    const retried = { ...initiated, meta: { attempt: 2, delivered_to: initiated.meta.delivered_to } };
    assert.equal(observe(retried).eventId, eventId, 'the event id (data.id) survives a redelivery');
  });

  it('merges initiated, answered and hangup into one completed call, in any order', () => {
    const all = [initiated, answered, hangup].map((b) => observe(b).observation);
    for (const order of [all, [...all].reverse(), [all[2]!, all[0]!, all[1]!]]) {
      const r = callReport(merge(order), { defaultNumber: '' });
      assert.ok(r.ok);
      assert.deepEqual(
        [r.payload.status, r.payload.direction, r.payload.trackingNumber, r.payload.startedAtMs, r.payload.answeredAtMs, r.payload.endedAtMs],
        [
          CallStatus.CALL_STATUS_COMPLETED,
          CallDirection.CALL_DIRECTION_INBOUND,
          '+13129457420',
          Date.parse('2025-03-01T10:00:00.521Z'),
          Date.parse('2025-03-01T10:00:06Z'),
          Date.parse('2025-03-01T10:01:10Z'),
        ],
      );
    }
  });

  it('maps hangup causes', () => {
    assert.equal(telnyxOutcome('normal_clearing'), 'completed');
    assert.equal(telnyxOutcome('user_busy'), 'busy');
    assert.equal(telnyxOutcome('originator_cancel'), 'missed');
    assert.equal(telnyxOutcome('timeout'), 'missed');
    assert.equal(telnyxOutcome('no_answer'), 'missed');
    assert.equal(telnyxOutcome('call_rejected'), 'failed');
    assert.equal(telnyxOutcome('not_found'), 'failed');
    assert.equal(telnyxOutcome(undefined), 'failed');
    const cancelled = observe(webhook('call.hangup', { hangup_cause: 'originator_cancel', start_time: '2025-03-01T10:00:00Z' })).observation;
    const r = callReport(merge([observe(initiated).observation, cancelled]), { defaultNumber: '' });
    assert.ok(r.ok);
    assert.equal(r.payload.status, CallStatus.CALL_STATUS_MISSED);
  });

  it('takes the tracking number from a Diversion or History-Info SIP header when a carrier forwarded the call', () => {
    const diverted = webhook('call.initiated', {
      direction: 'incoming',
      sip_headers: [{ name: 'Diversion', value: '<sip:+13125550199@carrier.example>;reason=unconditional;counter=1' }],
    });
    assert.equal(observe(diverted).observation.parties?.trackingNumber, '+13125550199');
    const history = webhook('call.initiated', {
      direction: 'incoming',
      sip_headers: [
        { name: 'History-Info', value: '<sip:+13125550188@carrier.example>;index=1, <sip:+13129457420@telnyx.example?Reason=SIP%3Bcause%3D302>;index=1.1' },
      ],
    });
    assert.equal(observe(history).observation.parties?.trackingNumber, '+13125550188');
  });

  it('an incoming leg names the parties of a session over its outgoing legs', () => {
    const bLeg = observe(webhook('call.initiated', { direction: 'outgoing', from: '+13129457420', to: '+13125551000', call_leg_id: 'b-leg' })).observation;
    assert.equal(bLeg.parties?.direction, 'outbound');
    for (const order of [
      [bLeg, observe(initiated).observation],
      [observe(initiated).observation, bLeg],
    ]) {
      const r = callReport(merge(order), { defaultNumber: '' });
      assert.ok(r.ok);
      assert.equal(r.payload.direction, CallDirection.CALL_DIRECTION_INBOUND);
      assert.equal(r.payload.trackingNumber, '+13129457420');
    }
    const placed = callReport(merge([bLeg]), { defaultNumber: '' });
    assert.ok(placed.ok);
    assert.deepEqual(
      [placed.payload.direction, placed.payload.trackingNumber, placed.payload.calledNumber],
      [CallDirection.CALL_DIRECTION_OUTBOUND, '+13129457420', '+13125551000'],
    );
  });

  it('ignores events that say nothing about the call state', () => {
    assert.equal(mapTelnyxWebhook(webhook('call.playback.started', {}), 'US', 's').kind, 'ignored');
  });

  it('names what is malformed', () => {
    const fields = (body: unknown) => {
      const r = mapTelnyxWebhook(body, 'US', 's');
      return r.kind === 'invalid' ? r.problems.map((p) => p.field) : [r.kind];
    };
    assert.deepEqual(fields({}), ['data']);
    assert.deepEqual(fields(webhook('call.initiated', {}, { occurredAt: 'yesterday' })), ['data.occurred_at']);
    assert.deepEqual(fields(webhook('call.initiated', { call_session_id: undefined, call_control_id: undefined })), ['data.payload.call_session_id']);
    assert.deepEqual(fields(webhook('call.initiated', { direction: 'incoming', to: 'sip:agent@example.sip.telnyx.com' })), ['data.payload.to']);
    assert.deepEqual(fields(webhook('call.initiated', { direction: 'sideways' })), ['data.payload.direction']);
  });

  it('reads from by the one caller rule: withheld stays withheld, garbage is refused naming data.payload.from', () => {
    for (const withheld of ['', 'anonymous', 'Anonymous', 'restricted', 'sip:anonymous@anonymous.invalid'])
      assert.equal(observe(webhook('call.initiated', { direction: 'incoming', from: withheld })).observation.parties?.callerNumber, '', withheld);
    for (const garbage of ['ABCDEFG', '1'.repeat(40), 'sip:evil@example.com']) {
      const r = mapTelnyxWebhook(webhook('call.initiated', { direction: 'incoming', from: garbage }), 'US', 's');
      assert.deepEqual(r.kind === 'invalid' && r.problems.map((p) => p.field), ['data.payload.from'], garbage);
    }
  });

  it('refuses call and event ids outside the id rule, naming them', () => {
    const bad = (payload: Record<string, unknown>, over = {}) => {
      const r = mapTelnyxWebhook(webhook('call.initiated', { direction: 'incoming', ...payload }, over), 'US', 's');
      return r.kind === 'invalid' ? r.problems.map((p) => p.field) : r.kind;
    };
    assert.deepEqual(bad({ call_session_id: 'a\u0000b' }), ['data.payload.call_session_id']);
    assert.deepEqual(bad({ call_session_id: 'x'.repeat(129) }), ['data.payload.call_session_id']);
    assert.deepEqual(bad({}, { id: 'e 1' }), ['data.id']);
    assert.equal(bad({ call_session_id: '😀' }), 'call', 'UTF-8 is fine: downstream encodes ids');
  });
});
