import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { calltrack } from '@calltrack/contracts';
import type { LeaseCandidate } from '../../matching/call-matching.js';
import { defaultSiteSettings } from '../../settings/attribution-settings.js';
import type { CallReport } from '../call-evaluation.js';
import { callVersion } from '../call-version.js';
import { decideMatches, type MatchFacts } from './decide-matches.js';

const T = Date.parse('2026-10-05T07:00:00Z');
const POOL = '+74951000001';
const DEFAULT = '+74950000000';
const report = (callId: string, to: string, from: string, at: number): CallReport => {
  const call = calltrack.events.v1.CallReported.fromObject({
    callId,
    trackingNumber: to,
    callerNumber: from,
    direction: calltrack.events.v1.CallDirection.CALL_DIRECTION_INBOUND,
    startedAtMs: at,
    sequence: 1,
  });
  return {
    siteId: 'shop',
    callId,
    reportEventId: `e-${callId}`,
    call,
    verdict: 0,
    verdictReason: '',
    keyStartMs: at,
    reportVersion: callVersion(call),
    occurredAtMs: at,
  };
};
const lease: LeaseCandidate = {
  siteId: 'shop',
  leaseId: 'l1',
  sessionId: 's1',
  visitorId: 'v1',
  trackingNumber: POOL,
  grantedAtMs: T,
  expiresAtMs: T + 900_000,
  releasedAtMs: null,
};
const facts: MatchFacts = {
  graceMs: 600_000,
  site: () => ({ timeZone: 'UTC', numbers: { defaultNumber: DEFAULT, poolNumbers: [POOL], staticNumbers: [] } }),
  settings: () => defaultSiteSettings(),
  leases: (_s, n) => (n === POOL ? [lease] : []),
  redemptions: [],
  history: [],
};

describe('decideMatches', () => {
  it('decides each call once, in call order, and a later call of the batch sees the earlier decision', () => {
    const matched = decideMatches([report('later', DEFAULT, '+79160000001', T + 3_600_000), report('first', POOL, '+79160000001', T + 60_000)], facts);
    assert.deepEqual(
      matched.map((m) => [m.report.callId, m.decision.method]),
      [
        ['first', 'dynamic'],
        ['later', 'repeat_caller'],
      ],
    );
    const repeat = matched[1]!.decision;
    assert.ok(repeat.method === 'repeat_caller');
    assert.deepEqual([repeat.source.callId, repeat.source.visitorId, repeat.source.sessionId, repeat.confidence], ['first', 'v1', 's1', 0.5]);
  });
});
