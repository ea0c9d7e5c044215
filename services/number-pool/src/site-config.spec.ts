import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { calltrack } from '@calltrack/contracts';
import {
  addNumber,
  bindSource,
  inventoryOf,
  quarantineNumber,
  replaceRules,
  replaceSite,
  retireNumber,
  SiteConfigError,
  type NumberOwners,
  type SiteBasics,
  type WantedNumber,
} from './site-config.js';

type SiteConfigured = calltrack.events.v1.ISiteConfigured;

const basics: SiteBasics = {
  name: 'Shop',
  country: 'RU',
  timeZone: 'Europe/Moscow',
  defaultNumber: '+74950000000',
  otherSiteNumbers: [],
  leaseTtlSeconds: 900,
  shortagePolicy: 'default_number',
  overflowNumber: '',
  quarantineSeconds: 3600,
  rules: [],
  promoCodes: {},
};
const pool = (number: string): WantedNumber => ({ number, usage: 'pool' });
const billboard = { number: '+74950000050', usage: 'static' as const, source: { utmSource: 'billboard', label: 'ring road' } };
const nobody: NumberOwners = () => [];
const entry = (config: SiteConfigured, number: string) => config.numbers?.find((n) => n.number === number);
const fails = (fn: () => unknown, status: number, code: string) =>
  assert.throws(fn, (err: unknown) => err instanceof SiteConfigError && err.status === status && err.code === code);

/** A site created at t=1000 with two pool numbers and a static billboard number. */
const created = () => replaceSite('shop', undefined, basics, [pool('+74950000001'), pool('+74950000002'), billboard], nobody, 1000);

describe('site configuration changes', () => {
  it('creates revision 1: the first numbers are active and not quarantined, the derived lists agree', () => {
    const c = created();
    assert.equal(Number(c.revision), 1);
    assert.equal(Number(c.updatedAtMs), 1000);
    assert.deepEqual(c.poolNumbers, ['+74950000001', '+74950000002']);
    assert.deepEqual(
      c.numbers?.map((n) => [n.number, n.usage, n.status, Number(n.quarantinedFromMs ?? 0)]),
      [
        ['+74950000001', 'pool', 'active', 0],
        ['+74950000002', 'pool', 'active', 0],
        ['+74950000050', 'static', 'active', 0],
      ],
    );
    assert.deepEqual(
      c.staticNumbers?.map((s) => [s.number, s.utmSource, s.label, s.status]),
      [['+74950000050', 'billboard', 'ring road', 'active']],
    );
  });

  it('a later PUT retires what it leaves out (never deletes) and quarantines numbers new to the pool', () => {
    const next = replaceSite('shop', created(), basics, [pool('+74950000001'), pool('+74950000003')], nobody, 2000);
    assert.equal(Number(next.revision), 2);
    assert.deepEqual(next.poolNumbers, ['+74950000001', '+74950000003']);
    assert.deepEqual([entry(next, '+74950000002')?.status, Number(entry(next, '+74950000002')?.retiredAtMs)], ['retired', 2000]);
    assert.equal(entry(next, '+74950000001')?.quarantinedFromMs ?? 0, 0, 'an unchanged number keeps its state');
    assert.deepEqual([Number(entry(next, '+74950000003')?.quarantinedFromMs), entry(next, '+74950000003')?.quarantineReason], [2000, 'new_to_pool']);
    // The retired static number stays in staticNumbers, marked retired, so late calls keep their source.
    assert.deepEqual(
      next.staticNumbers?.map((s) => [s.number, s.status, s.utmSource]),
      [['+74950000050', 'retired', 'billboard']],
    );
  });

  it('does not quarantine with quarantineSeconds 0', () => {
    const next = replaceSite('shop', created(), { ...basics, quarantineSeconds: 0 }, [pool('+74950000001'), pool('+74950000003')], nobody, 2000);
    assert.equal(Number(entry(next, '+74950000003')?.quarantinedFromMs ?? 0), 0);
  });

  it('refuses a number active on another site, and quarantines one that site retired as moved_from_site', () => {
    const active: NumberOwners = (n) => (n === '+74950000009' ? [{ siteId: 'other', status: 'active' }] : []);
    fails(() => replaceSite('shop', created(), basics, [pool('+74950000009')], active, 2000), 409, 'number_in_use');
    fails(() => replaceSite('shop', undefined, basics, [pool('+74950000009')], active, 2000), 409, 'number_in_use');
    const retired: NumberOwners = (n) => (n === '+74950000009' ? [{ siteId: 'other', status: 'retired' }] : []);
    // Even among a brand-new site's first numbers, a number from another site waits.
    const fresh = replaceSite('shop', undefined, basics, [pool('+74950000009')], retired, 2000);
    assert.deepEqual([entry(fresh, '+74950000009')?.quarantineReason, entry(fresh, '+74950000009')?.movedFromSite], ['moved_from_site', 'other']);
    // The site's own inventory does not count as "another site".
    const self: NumberOwners = (n) => (n === '+74950000001' ? [{ siteId: 'shop', status: 'active' }] : []);
    assert.doesNotThrow(() => replaceSite('shop', created(), basics, [pool('+74950000001')], self, 2000));
  });

  it('reads a configuration without inventory (older producers) as every listed number active', () => {
    const legacy: SiteConfigured = {
      ...basics,
      poolNumbers: ['+74950000001', '+74950000002'],
      staticNumbers: [{ number: '+74950000050', utmSource: 'flyer' }],
      overflowNumber: '+74950000099',
      revision: 0,
    };
    assert.deepEqual(
      inventoryOf(legacy).map((n) => [n.number, n.usage, n.status]),
      [
        ['+74950000001', 'pool', 'active'],
        ['+74950000002', 'pool', 'active'],
        ['+74950000050', 'static', 'active'],
        ['+74950000099', 'overflow', 'active'],
      ],
    );
    // A change to the rules alone keeps the whole pool (it is not an empty inventory).
    const rules = replaceRules(legacy, [{ id: 'r', method: 'default_number' }], 3000);
    assert.deepEqual(rules.poolNumbers, ['+74950000001', '+74950000002']);
    assert.equal(rules.overflowNumber, '+74950000099');
    assert.equal(Number(rules.revision), 1);
    const q = quarantineNumber('shop', legacy, '+74950000002', 3000);
    assert.deepEqual(q.poolNumbers, ['+74950000001', '+74950000002']);
    assert.equal(entry(q, '+74950000002')?.quarantineReason, 'operator');
  });

  it('adds one number: quarantined unless skipQuarantine, 409 when already active here', () => {
    const c = created();
    const added = addNumber('shop', c, pool('+74950000003'), nobody, 2000);
    assert.equal(entry(added, '+74950000003')?.quarantineReason, 'new_to_pool');
    const skipped = addNumber('shop', c, { ...pool('+74950000003'), skipQuarantine: true }, nobody, 2000);
    assert.equal(Number(entry(skipped, '+74950000003')?.quarantinedFromMs ?? 0), 0);
    assert.equal(Number(added.revision), 2);
    fails(() => addNumber('shop', c, pool('+74950000001'), nobody, 2000), 409, 'number_exists');
    const staticOne = addNumber('shop', c, { number: '+74950000051', usage: 'static', source: { channel: 'social' } }, nobody, 2000);
    assert.equal(Number(entry(staticOne, '+74950000051')?.quarantinedFromMs ?? 0), 0, 'static numbers are not quarantined');
    assert.equal(staticOne.staticNumbers?.find((s) => s.number === '+74950000051')?.channel, 'social');
  });

  it('quarantines only active pool numbers, by an operator', () => {
    const c = created();
    const q = quarantineNumber('shop', c, '+74950000001', 5000);
    assert.deepEqual([Number(entry(q, '+74950000001')?.quarantinedFromMs), entry(q, '+74950000001')?.quarantineReason], [5000, 'operator']);
    assert.deepEqual(q.poolNumbers, ['+74950000001', '+74950000002'], 'a quarantined number stays in the pool list');
    fails(() => quarantineNumber('shop', c, '+74950000050', 5000), 400, 'invalid_request');
    fails(() => quarantineNumber('shop', c, '+74950009999', 5000), 404, 'unknown_number');
  });

  it('retires a static number; its replacement takes over the source and the rules that showed it, in one revision', () => {
    const c = replaceRules(created(), [{ id: 'billboard', utmSource: 'billboard', method: 'static', staticNumber: '+74950000050' }], 1500);
    const r = retireNumber('shop', c, '+74950000050', '+74950000051', nobody, 2000);
    assert.equal(Number(r.revision), Number(c.revision) + 1);
    assert.deepEqual(
      [entry(r, '+74950000050')?.status, entry(r, '+74950000050')?.replacedBy, Number(entry(r, '+74950000050')?.retiredAtMs)],
      ['retired', '+74950000051', 2000],
    );
    assert.deepEqual(
      r.staticNumbers?.map((s) => [s.number, s.status, s.utmSource, s.label]),
      [
        ['+74950000050', 'retired', 'billboard', 'ring road'],
        ['+74950000051', 'active', 'billboard', 'ring road'],
      ],
    );
    assert.equal(r.rules?.[0]?.staticNumber, '+74950000051');
    fails(() => retireNumber('shop', r, '+74950000050', undefined, nobody, 3000), 409, 'number_retired');
    fails(() => retireNumber('shop', r, '+74950009999', undefined, nobody, 3000), 404, 'unknown_number');
    fails(() => retireNumber('shop', r, '+74950000051', '+74950000051', nobody, 3000), 400, 'invalid_request');
    fails(() => retireNumber('shop', r, '+74950000051', '+74950000001', nobody, 3000), 409, 'number_exists');
  });

  it('retires a pool number without replacement: out of the pool list, kept in the inventory', () => {
    const r = retireNumber('shop', created(), '+74950000002', undefined, nobody, 2000);
    assert.deepEqual(r.poolNumbers, ['+74950000001']);
    assert.equal(entry(r, '+74950000002')?.status, 'retired');
  });

  it('keeps an overflow number the overflow policy needs unless replaced; a retired one is never shown again', () => {
    const c = replaceSite(
      'shop',
      undefined,
      { ...basics, shortagePolicy: 'overflow_number' },
      [pool('+74950000001'), { number: '+74950000099', usage: 'overflow' }],
      nobody,
      1000,
    );
    assert.equal(c.overflowNumber, '+74950000099');
    fails(() => retireNumber('shop', c, '+74950000099', undefined, nobody, 2000), 409, 'number_needed');
    const replaced = retireNumber('shop', c, '+74950000099', '+74950000098', nobody, 2000);
    assert.equal(replaced.overflowNumber, '+74950000098');
    const off = replaceSite('shop', c, basics, [pool('+74950000001')], nobody, 3000);
    assert.deepEqual([off.overflowNumber, entry(off, '+74950000099')?.status], ['', 'retired']);
  });

  it('binds a static number to a source; pool numbers have none', () => {
    const b = bindSource('shop', created(), '+74950000050', { channel: 'display', utmCampaign: 'autumn' }, 2000);
    assert.deepEqual(
      b.staticNumbers?.map((s) => [s.channel, s.utmCampaign, s.status]),
      [['display', 'autumn', 'active']],
    );
    fails(() => bindSource('shop', created(), '+74950000001', { label: 'flyer' }, 2000), 400, 'invalid_request');
  });
});
