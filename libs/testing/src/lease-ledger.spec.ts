import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createEvent } from '@calltrack/contracts';
import { LeaseLedger } from './lease-ledger.js';

const grant = (requestId: string, leaseId: string, trackingNumber: string) =>
  createEvent(
    'LeaseGranted',
    { requestId, leaseId, sessionId: `s-${requestId}`, visitorId: 'v', trackingNumber, grantedAtMs: 1, expiresAtMs: 2, requestDeadlineMs: 3 },
    { siteId: 'site', producer: 'test' },
  );

describe('LeaseLedger', () => {
  it('reads an answer published twice with the same event id as one answer', () => {
    const ledger = new LeaseLedger();
    const g = grant('r1', 'l1', '+1');
    ledger.apply(g);
    ledger.apply(g);
    assert.deepEqual(ledger.violations, []);
    assert.equal(ledger.grants, 1);
    assert.equal(ledger.redelivered, 1);
  });

  it('flags a request answered by two different events', () => {
    const ledger = new LeaseLedger();
    ledger.apply(grant('r1', 'l1', '+1'));
    ledger.apply(
      createEvent(
        'LeaseRejected',
        { requestId: 'r1', sessionId: 's-r1', visitorId: 'v', reason: 'expired', fallbackNumber: '+0' },
        { siteId: 'site', producer: 'test' },
      ),
    );
    assert.deepEqual(ledger.violations, ['request site/r1 answered twice']);
  });

  it('flags a number granted while another live lease holds it', () => {
    const ledger = new LeaseLedger();
    ledger.apply(grant('r1', 'l1', '+1'));
    ledger.apply(grant('r2', 'l2', '+1'));
    assert.equal(ledger.violations.length, 1);
    assert.match(ledger.violations[0]!, /granted to lease l2 while lease l1 held it/);
  });
});
