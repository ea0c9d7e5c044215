import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { calltrack, createEvent } from '@calltrack/contracts';
import { BlocklistState } from './blocklist-state.js';
import { callVerdict, sessionVerdict } from './verdicts.js';

const { Verdict } = calltrack.events.v1;
const block = (siteId: string, phone: string, reason = 'spam') => createEvent('CallerBlocked', { phone, reason }, { siteId, producer: 't' });
const unblock = (siteId: string, phone: string) => createEvent('CallerUnblocked', { phone }, { siteId, producer: 't' });

describe('BlocklistState', () => {
  it('blocks, unblocks and re-blocks; the latest event wins', () => {
    const s = new BlocklistState();
    s.apply(block('a', '+79161112233', 'robocall'));
    assert.equal(s.lookup('a', '+79161112233')?.reason, 'robocall');
    s.apply(unblock('a', '+79161112233'));
    assert.equal(s.lookup('a', '+79161112233'), undefined);
    s.apply(block('a', '+79161112233', 'again'));
    assert.equal(s.lookup('a', '+79161112233')?.reason, 'again');
  });

  it('keeps each site\'s list to itself (a phone blocked on one site is clean on another)', () => {
    const s = new BlocklistState();
    s.apply(block('a', '+79161112233'));
    assert.ok(s.lookup('a', '+79161112233'));
    assert.equal(s.lookup('b', '+79161112233'), undefined);
    assert.deepEqual(s.entries('b'), []);
  });

  it('never matches a withheld caller', () => {
    const s = new BlocklistState();
    s.apply(block('a', ''));
    assert.equal(s.lookup('a', ''), undefined);
  });
});

describe('verdicts', () => {
  it('marks a blocklisted caller spam with the reason, others clean', () => {
    assert.deepEqual(callVerdict({ phone: '+1', reason: 'competitor', blockedAtMs: 0 }), { verdict: Verdict.VERDICT_SPAM, reason: 'blocklisted: competitor' });
    assert.deepEqual(callVerdict(undefined), { verdict: Verdict.VERDICT_CLEAN, reason: '' });
  });

  it('flags crawlers and empty user agents as bots, browsers as clean', () => {
    assert.equal(sessionVerdict('Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)').verdict, Verdict.VERDICT_BOT);
    assert.equal(sessionVerdict('Mozilla/5.0 (compatible; YandexBot/3.0; +http://yandex.com/bots)').verdict, Verdict.VERDICT_BOT);
    assert.equal(sessionVerdict('HeadlessChrome/120.0 Mozilla/5.0').verdict, Verdict.VERDICT_BOT);
    assert.equal(sessionVerdict('  ').verdict, Verdict.VERDICT_BOT);
    assert.equal(sessionVerdict('Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36').verdict, Verdict.VERDICT_CLEAN);
  });
});
