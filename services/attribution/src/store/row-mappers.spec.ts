import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { calltrack, createEvent } from '@calltrack/contracts';
import type { StepResult } from '../step-result.js';
import {
  callCommentRow,
  callRow,
  callTagRow,
  callView,
  checkLeaseExpired,
  checkLeaseExtended,
  readScreenedCall,
  grantedLeaseRow,
  extendedLeaseRow,
  promoRedemptionRow,
  releasedLeaseRow,
  sessionVerdictRow,
  visitRow,
  withLeaseGrantedAt,
} from './row-mappers.js';

const { CallStatus, Verdict, MatchMethod, CallDirection } = calltrack.events.v1;
const meta = { siteId: 'shop', producer: 'test' };
const T0 = Date.UTC(2025, 4, 1, 10, 0, 0);

/** The value of an ok result (the test fails on a drop or a dead letter). */
function valueOf<T>(result: StepResult<T>): T {
  assert.ok(result.ok, `expected ok, got ${JSON.stringify(result)}`);
  return result.value;
}

/** Lease l1 of session s1, granted at T0 for 15 minutes. */
function grantedL1() {
  return valueOf(
    grantedLeaseRow(
      createEvent(
        'LeaseGranted',
        { requestId: 'r', leaseId: 'l1', sessionId: 's1', visitorId: 'v1', trackingNumber: '+74951000001', grantedAtMs: T0, expiresAtMs: T0 + 900_000 },
        meta,
      ),
    ),
  );
}

/** The reason of a dead letter (the test fails on anything else). */
function deadLetterReason(result: StepResult<unknown>): string {
  assert.ok(!result.ok && result.outcome === 'dead_letter', `expected a dead letter, got ${JSON.stringify(result)}`);
  return result.reason;
}

describe('state rows', () => {
  it('maps a visit with its source, ids and channel', () => {
    const e = createEvent(
      'SessionStarted',
      {
        sessionId: 's1',
        visitorId: 'v1',
        startedAtMs: T0,
        origin: {
          utm: { source: 'google', medium: 'cpc', term: 'roses' },
          referrer: 'https://google.com/',
          landingPage: 'https://shop.example/',
          clickIds: { gclid: 'g' },
          analyticsIds: { ymUid: 'y1' },
          channel: 'paid_search',
        },
      },
      meta,
    );
    const row = valueOf(visitRow(e));
    assert.equal(row.event_id, e.eventId);
    assert.equal(row.started_at, '2025-05-01T10:00:00.000Z');
    assert.deepEqual([row.utm_source, row.utm_medium, row.utm_campaign, row.utm_term], ['google', 'cpc', '', 'roses']);
    assert.deepEqual(row.click_ids, { gclid: 'g' });
    assert.equal(row.ym_uid, 'y1');
    assert.equal(row.channel, 'paid_search');
  });

  it('classifies the channel of a visit published without one, and places a visit without a start at its event time', () => {
    // A schema version 1 record (flat origin fields), from before session-tracker classified visits.
    const e = createEvent(
      'SessionStarted',
      { sessionId: 's1', visitorId: 'v1', utm: { source: 'newsletter', medium: 'email' } },
      { ...meta, occurredAtMs: T0 },
    );
    const row = valueOf(visitRow(e));
    assert.equal(row.channel, 'email');
    assert.equal(row.started_at, '2025-05-01T10:00:00.000Z');
  });

  it('writes a release as the final version of the granted lease row, same key columns', () => {
    const granted = grantedL1();
    assert.equal(granted.version, 1);
    assert.equal(granted.released_at, null);
    const expired = createEvent('LeaseExpired', { leaseId: 'l1', sessionId: 's1', trackingNumber: '+74951000001', releasedAtMs: T0 + 900_000 }, meta);
    const released = releasedLeaseRow(granted, expired);
    assert.ok(released.version > granted.version);
    assert.equal(released.event_id, expired.eventId);
    assert.equal(released.released_at, '2025-05-01T10:15:00.000Z');
    for (const key of ['site_id', 'tracking_number', 'granted_at', 'lease_id', 'session_id', 'expires_at'] as const) assert.equal(released[key], granted[key]);
  });

  it('versions heartbeat extensions between the grant and the release, later ones higher', () => {
    const granted = grantedL1();
    const extend = (expiresAtMs: number) =>
      extendedLeaseRow(granted, createEvent('LeaseExtended', { leaseId: 'l1', sessionId: 's1', trackingNumber: '+74951000001', expiresAtMs }, meta));
    const first = extend(T0 + 960_000);
    const second = extend(T0 + 1_020_000);
    assert.equal(first.expires_at, '2025-05-01T10:16:00.000Z');
    assert.ok(granted.version < first.version && first.version < second.version);
    for (const key of ['site_id', 'tracking_number', 'granted_at', 'lease_id'] as const) assert.equal(second[key], granted[key]);
    const released = releasedLeaseRow(
      second,
      createEvent('LeaseExpired', { leaseId: 'l1', sessionId: 's1', trackingNumber: '+74951000001', releasedAtMs: T0 + 1_020_000 }, meta),
    );
    assert.ok(released.version > second.version, 'the release outranks every extension');
    assert.equal(released.expires_at, second.expires_at);
  });

  it('labels a session verdict', () => {
    const row = valueOf(
      sessionVerdictRow(
        createEvent(
          'SessionScreened',
          { sessionId: 's1', visitorId: 'v1', verdict: Verdict.VERDICT_BOT, reason: 'bot user agent' },
          { ...meta, occurredAtMs: T0 },
        ),
      ),
    );
    assert.deepEqual([row.verdict, row.reason, row.screened_at], ['bot', 'bot user agent', '2025-05-01T10:00:00.000Z']);
  });

  it('dead-letters events that cannot be stored, saying why', () => {
    const lease = (p: object) =>
      deadLetterReason(
        grantedLeaseRow(
          createEvent('LeaseGranted', { requestId: 'r', leaseId: 'l', sessionId: 's', trackingNumber: '+7', grantedAtMs: T0, expiresAtMs: T0 + 1, ...p }, meta),
        ),
      );
    assert.equal(lease({ leaseId: '' }), 'leaseId is missing');
    assert.equal(lease({ trackingNumber: '' }), 'trackingNumber is missing');
    assert.match(lease({ grantedAtMs: 0 }), /grantedAtMs/);
    assert.match(lease({ expiresAtMs: Date.UTC(2300, 0, 1) }), /expiresAtMs: .* is not a time/);
    assert.equal(lease({ expiresAtMs: T0 - 1 }), 'expiresAtMs is before grantedAtMs');
    assert.equal(lease({ leaseId: 'l'.repeat(300) }), 'leaseId is longer than 256 characters');
    assert.equal(deadLetterReason(visitRow(createEvent('SessionStarted', { sessionId: '' }, meta))), 'sessionId is missing');
    assert.match(deadLetterReason(visitRow(createEvent('SessionStarted', { sessionId: 's', startedAtMs: -1 }, meta))), /startedAtMs: -1 is not a time/);
    // createEvent refuses an empty site id; a record from elsewhere may still hold one.
    assert.equal(deadLetterReason(visitRow({ ...createEvent('SessionStarted', { sessionId: 's' }, meta), siteId: '' })), 'site id is missing');
    assert.equal(
      deadLetterReason(sessionVerdictRow(createEvent('SessionScreened', { sessionId: '', verdict: Verdict.VERDICT_BOT }, meta))),
      'sessionId is missing',
    );
  });

  it('needs no tracking number for a promo-code lease', () => {
    const granted = valueOf(
      grantedLeaseRow(
        createEvent('LeaseGranted', { requestId: 'r', leaseId: 'l', sessionId: 's', promoCode: 'SPRING', grantedAtMs: T0, expiresAtMs: T0 + 1 }, meta),
      ),
    );
    assert.deepEqual([granted.tracking_number, granted.promo_code], ['', 'SPRING']);
  });

  it('checks a release and an extension before their lease is looked up', () => {
    const expired = (p: object) =>
      checkLeaseExpired(createEvent('LeaseExpired', { leaseId: 'l', sessionId: 's', trackingNumber: '+7', releasedAtMs: T0, ...p }, meta));
    assert.equal(valueOf(expired({})).payload.leaseId, 'l');
    assert.equal(deadLetterReason(expired({ leaseId: '' })), 'leaseId is missing');
    assert.equal(deadLetterReason(expired({ trackingNumber: '' })), 'trackingNumber is missing');
    assert.match(deadLetterReason(expired({ releasedAtMs: 0 })), /releasedAtMs: 0 is not a time/);
    const extended = (expiresAtMs: number) =>
      checkLeaseExtended(createEvent('LeaseExtended', { leaseId: 'l', sessionId: 's', trackingNumber: '+7', expiresAtMs }, meta));
    assert.equal(valueOf(extended(T0)).payload.expiresAtMs, T0);
    assert.match(deadLetterReason(extended(Date.UTC(2300, 0, 1))), /expiresAtMs: .* is not a time/);
  });
});

describe('promo redemptions and annotations', () => {
  const redeemed = (p: object) =>
    promoRedemptionRow(
      createEvent(
        'PromoCodeRedeemed',
        { promoCode: 'SPRING', sessionId: 's1', leaseId: 'l1', callId: 'c1', calledAtMs: T0, ...p },
        { ...meta, occurredAtMs: T0 + 1_000 },
      ),
    );

  it('maps a redemption, redeemed at the event time when it names none, and adds its lease grant time later', () => {
    const row = valueOf(redeemed({}));
    assert.deepEqual(
      [row.promo_code, row.called_at, row.redeemed_at, row.lease_granted_at],
      ['SPRING', '2025-05-01T10:00:00.000Z', '2025-05-01T10:00:01.000Z', null],
    );
    assert.equal(withLeaseGrantedAt(row, T0 - 60_000).lease_granted_at, '2025-05-01T09:59:00.000Z');
    assert.equal(withLeaseGrantedAt(row, null).lease_granted_at, null);
  });

  it('dead-letters a redemption that names no call and no caller, or lacks a code or a time', () => {
    assert.equal(deadLetterReason(redeemed({ callId: '' })), 'PromoCodeRedeemed names neither a call id nor a caller number');
    assert.ok(redeemed({ callId: '', callerNumber: '+7' }).ok);
    assert.equal(deadLetterReason(redeemed({ promoCode: '' })), 'promoCode is missing');
    assert.match(deadLetterReason(redeemed({ calledAtMs: 0 })), /calledAtMs: 0 is not a time/);
  });

  it('maps tags (removal a tombstone) and comments, and dead-letters a malformed tag or a comment without an id', () => {
    const at = { ...meta, occurredAtMs: T0 };
    const added = valueOf(callTagRow(createEvent('CallTagAdded', { callId: 'c1', tag: 'lead', author: 'ann' }, at)));
    const removed = valueOf(callTagRow(createEvent('CallTagRemoved', { callId: 'c1', tag: 'lead', author: 'ann' }, at)));
    assert.deepEqual([added.is_deleted, removed.is_deleted, added.version, added.changed_at], [0, 1, T0, '2025-05-01T10:00:00.000Z']);
    assert.equal(
      deadLetterReason(callTagRow(createEvent('CallTagAdded', { callId: 'c1', tag: 'Not A Tag' }, at))),
      'tag "Not A Tag" is not 1-40 of a-z, 0-9, "-", "_"',
    );
    assert.equal(deadLetterReason(callTagRow(createEvent('CallTagAdded', { callId: '', tag: 'lead' }, at))), 'callId is missing');
    const comment = valueOf(callCommentRow(createEvent('CallCommentAdded', { callId: 'c1', commentId: 'm1', text: 'called back' }, at)));
    assert.deepEqual([comment.comment_id, comment.text, comment.created_at], ['m1', 'called back', '2025-05-01T10:00:00.000Z']);
    assert.equal(deadLetterReason(callCommentRow(createEvent('CallCommentAdded', { callId: 'c1', commentId: '', text: 'x' }, at))), 'commentId is missing');
  });
});

describe('screened calls', () => {
  const screened = (call: object) => createEvent('CallScreened', { call, verdict: Verdict.VERDICT_CLEAN }, { ...meta, occurredAtMs: T0 });

  const problem = (event: ReturnType<typeof screened>) => {
    const read = readScreenedCall(event);
    return read.ok ? '' : deadLetterReason(read);
  };

  it('accepts a call and takes the event time when the start is missing', () => {
    assert.equal(valueOf(readScreenedCall(screened({ callId: 'c', trackingNumber: '+7' }))).startedAtMs, T0);
  });

  it('says why a call without id or number, or with impossible times, cannot be stored (a dead letter)', () => {
    assert.match(problem(createEvent('CallScreened', { verdict: Verdict.VERDICT_CLEAN }, meta)), /without a call/);
    assert.match(problem(screened({ trackingNumber: '+7' })), /callId is missing/);
    assert.match(problem(screened({ callId: 'c' })), /trackingNumber is missing/);
    assert.match(problem(screened({ callId: 'c'.repeat(300), trackingNumber: '+7' })), /longer than/);
    assert.match(problem(screened({ callId: 'c', trackingNumber: '+7', endedAtMs: -5 })), /endedAtMs/);
  });

  it('needs no tracking number for an outbound call', () => {
    assert.equal(problem(screened({ callId: 'c', direction: CallDirection.CALL_DIRECTION_OUTBOUND })), '');
  });
});

describe('call rows', () => {
  const attributed = (call: object, extra: object = {}) =>
    createEvent(
      'CallAttributed',
      { call, verdict: Verdict.VERDICT_CLEAN, method: MatchMethod.MATCH_METHOD_DYNAMIC, matchReason: 'lease_active', final: true, ...extra },
      { ...meta, eventId: 'src:attributed' },
    );

  it('maps an answered call: talk time from answer to end, waiting until the answer', () => {
    const e = attributed(
      {
        callId: 'generic:1',
        provider: 'generic',
        providerCallId: '1',
        trackingNumber: '+74951000001',
        callerNumber: '+79165554433',
        direction: CallDirection.CALL_DIRECTION_INBOUND,
        status: CallStatus.CALL_STATUS_COMPLETED,
        startedAtMs: T0,
        answeredAtMs: T0 + 12_000,
        endedAtMs: T0 + 102_000,
        sequence: 3,
      },
      {
        verdict: Verdict.VERDICT_SPAM,
        verdictReason: 'blocklisted',
        origin: { utm: { source: 'google', medium: 'cpc' }, clickIds: { gclid: 'g' }, channel: 'paid_search' },
        sessionId: 's1',
        leaseId: 'l1',
      },
    );
    const row = callRow(e, 51);
    assert.equal(row.event_id, 'src:attributed');
    assert.equal(row.talk_seconds, 90);
    assert.equal(row.wait_seconds, 12);
    assert.deepEqual(
      [row.status, row.direction, row.verdict, row.verdict_reason, row.match_method],
      ['completed', 'inbound', 'spam', 'blocklisted', 'dynamic'],
    );
    assert.deepEqual([row.started_at, row.answered_at, row.ended_at], ['2025-05-01T10:00:00.000Z', '2025-05-01T10:00:12.000Z', '2025-05-01T10:01:42.000Z']);
    assert.deepEqual([row.utm_source, row.utm_medium, row.channel, row.session_id, row.lease_id], ['google', 'cpc', 'paid_search', 's1', 'l1']);
    assert.deepEqual(row.click_ids, { gclid: 'g' });
    assert.deepEqual([row.is_final, row.version], [1, 51n]);
  });

  it('counts the whole ring of a missed call as waiting, and nothing as talk', () => {
    const row = callRow(attributed({ callId: 'c', status: CallStatus.CALL_STATUS_MISSED, startedAtMs: T0, endedAtMs: T0 + 30_000 }), 1);
    assert.deepEqual([row.wait_seconds, row.talk_seconds, row.answered_at], [30, 0, null]);
  });

  it('has no talk time while an answered call goes on, and none of either while it rings', () => {
    const answered = callRow(
      attributed({ callId: 'c', status: CallStatus.CALL_STATUS_ANSWERED, startedAtMs: T0, answeredAtMs: T0 + 4_000 }, { final: false }),
      1,
    );
    assert.deepEqual([answered.talk_seconds, answered.wait_seconds, answered.ended_at, answered.is_final], [0, 4, null, 0]);
    const ringing = callRow(attributed({ callId: 'c', status: CallStatus.CALL_STATUS_RINGING, startedAtMs: T0 }, { final: false }), 1);
    assert.deepEqual([ringing.talk_seconds, ringing.wait_seconds], [0, 0]);
  });

  it('keys every version of a call by the start of its first stored version', () => {
    const row = callRow(attributed({ callId: 'c', startedAtMs: T0 + 1_500, endedAtMs: T0 + 31_500 }), 3, T0);
    assert.equal(row.started_at, '2025-05-01T10:00:00.000Z');
    assert.equal(row.wait_seconds, 30, 'durations come from the report itself');
  });

  it('shows a stored row with ISO times, numbers and a boolean is_final', () => {
    const view = callView({
      call_id: 'c',
      started_at: '2025-05-01 10:00:00.000',
      answered_at: null,
      ended_at: '2025-05-01 10:01:00.500',
      talk_seconds: 60,
      wait_seconds: '5',
      is_final: 1,
      version: '99',
    });
    assert.equal(view.started_at, '2025-05-01T10:00:00.000Z');
    assert.equal(view.answered_at, null);
    assert.equal(view.ended_at, '2025-05-01T10:01:00.500Z');
    assert.equal(view.wait_seconds, 5);
    assert.equal(view.is_final, true);
    assert.equal('version' in view, false, 'technical columns stay internal');
  });
});
