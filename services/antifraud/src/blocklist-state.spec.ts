import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { calltrack, createEvent, type AnyDomainEvent } from '@calltrack/contracts';
import { BlocklistState, OWN_WRITE_WAIT_MS } from './blocklist-state.js';
import { callVerdict, sessionVerdict } from './verdicts.js';

const { Verdict } = calltrack.events.v1;
const P = '+79161112233';
const block = (siteId: string, phone: string, reason = 'spam') => createEvent('CallerBlocked', { phone, reason }, { siteId, producer: 't' }) as AnyDomainEvent;
const unblock = (siteId: string, phone: string) => createEvent('CallerUnblocked', { phone }, { siteId, producer: 't' }) as AnyDomainEvent;

/** Feeds events as the log's next records (the follower hands each record over once, in order). */
function feed(s: BlocklistState, events: AnyDomainEvent[]): void {
  for (const e of events) s.applyFromLog(e);
}

describe('BlocklistState', () => {
  it('blocks, unblocks and re-blocks; the latest event wins', () => {
    const s = new BlocklistState();
    feed(s, [block('a', P, 'robocall')]);
    assert.equal(s.lookup('a', P)?.reason, 'robocall');
    feed(s, [unblock('a', P)]);
    assert.equal(s.lookup('a', P), undefined);
    assert.deepEqual(s.entries('a'), []);
    feed(s, [block('a', P, 'again')]);
    assert.equal(s.lookup('a', P)?.reason, 'again');
    feed(s, [block('a', P, 'changed reason')]);
    assert.deepEqual(
      s.entries('a').map((e) => e.reason),
      ['changed reason'],
    );
  });

  it("keeps each site's list to itself (a phone blocked on one site is clean on another)", () => {
    const s = new BlocklistState();
    feed(s, [block('a', P), block('b', '+79160000001')]);
    assert.ok(s.lookup('a', P));
    assert.equal(s.lookup('b', P), undefined, 'wrong tenant');
    assert.deepEqual(
      s.entries('b').map((e) => e.phone),
      ['+79160000001'],
    );
    feed(s, [unblock('b', P)]);
    assert.ok(s.lookup('a', P), 'an unblock on site b leaves site a alone');
  });

  it('never matches a withheld caller', () => {
    const s = new BlocklistState();
    feed(s, [block('a', '')]);
    assert.equal(s.lookup('a', ''), undefined);
  });

  it('keeps its own acknowledged write over older records the consumer has not read yet', () => {
    const s = new BlocklistState();
    const now = 1_000_000;
    const own = block('a', P, 'mine');
    s.applyAcknowledged(own, now);
    assert.equal(s.lookup('a', P)?.reason, 'mine', 'visible before the consumer reads it back');
    // An unblock written before ours, still behind in the consumer, must not undo it.
    s.applyFromLog(unblock('a', P), now + 10);
    assert.equal(s.lookup('a', P)?.reason, 'mine');
    s.applyFromLog(own, now + 20);
    // Records after ours (another instance's later write) apply again.
    s.applyFromLog(unblock('a', P), now + 30);
    assert.equal(s.lookup('a', P), undefined);
  });

  it('stops waiting for its own write after a while and follows the log', () => {
    const s = new BlocklistState();
    s.applyAcknowledged(block('a', P), 0);
    s.applyFromLog(unblock('a', P), OWN_WRITE_WAIT_MS + 1);
    assert.equal(s.lookup('a', P), undefined);
  });
});

describe('verdicts', () => {
  it('marks a blocklisted caller spam with the reason, others clean', () => {
    assert.deepEqual(callVerdict({ phone: P, reason: 'competitor', blockedAtMs: 0 }), { verdict: Verdict.VERDICT_SPAM, reason: 'blocklisted: competitor' });
    assert.equal(callVerdict({ phone: P, reason: '', blockedAtMs: 0 }).verdict, Verdict.VERDICT_SPAM);
    assert.deepEqual(callVerdict(undefined), { verdict: Verdict.VERDICT_CLEAN, reason: '' });
  });

  it('flags crawlers and empty user agents as bots, browsers as clean', () => {
    assert.equal(sessionVerdict('Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)').verdict, Verdict.VERDICT_BOT);
    assert.equal(sessionVerdict('Mozilla/5.0 (compatible; YandexBot/3.0; +http://yandex.com/bots)').verdict, Verdict.VERDICT_BOT);
    assert.equal(sessionVerdict('HeadlessChrome/120.0 Mozilla/5.0').verdict, Verdict.VERDICT_BOT);
    assert.equal(sessionVerdict('curl/8.5.0').verdict, Verdict.VERDICT_BOT);
    assert.deepEqual(sessionVerdict(''), { verdict: Verdict.VERDICT_BOT, reason: 'empty user agent' });
    assert.equal(sessionVerdict('  ').verdict, Verdict.VERDICT_BOT);
    assert.deepEqual(sessionVerdict('Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36'), {
      verdict: Verdict.VERDICT_CLEAN,
      reason: '',
    });
    assert.equal(
      sessionVerdict('Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1')
        .verdict,
      Verdict.VERDICT_CLEAN,
    );
  });
});
