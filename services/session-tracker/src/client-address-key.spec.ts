import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ClientAddressKeys, holderAddress } from './client-address-key.js';
import type { SessionTrackerConfig } from './config.js';

describe('holderAddress', () => {
  it('keeps IPv4 (also mapped) and cuts IPv6 to its /64', () => {
    assert.equal(holderAddress('203.0.113.9'), '203.0.113.9');
    assert.equal(holderAddress('::ffff:203.0.113.9'), '203.0.113.9');
    assert.equal(holderAddress('2001:db8:1:2:aaaa:bbbb:cccc:dddd'), '2001:db8:1:2::/64');
    assert.equal(holderAddress('2001:db8:1:2::1'), '2001:db8:1:2::/64', 'another address of the same /64 is the same holder');
    assert.equal(holderAddress('2001:db8::1'), '2001:db8:0:0::/64');
    assert.equal(holderAddress('fe80::1%eth0'), 'fe80:0:0:0::/64');
    assert.equal(holderAddress('::1'), '0:0:0:0::/64');
    assert.equal(holderAddress('not an address'), '');
  });
});

describe('ClientAddressKeys', () => {
  const logger = { warn: () => undefined } as unknown as ConstructorParameters<typeof ClientAddressKeys>[1];
  const keys = (key: string) => new ClientAddressKeys({ CLIENT_ADDRESS_HASH_KEY: key } as SessionTrackerConfig, logger);

  it('hashes an address with the key: the same on every instance, never the address itself', () => {
    const a = keys('hash-key-0123456789abcdef');
    const b = keys('hash-key-0123456789abcdef');
    assert.equal(a.keyOf('203.0.113.9'), b.keyOf('203.0.113.9'));
    assert.equal(a.keyOf('203.0.113.9').length, 22);
    assert.ok(!a.keyOf('203.0.113.9').includes('203'));
    assert.notEqual(a.keyOf('203.0.113.9'), a.keyOf('203.0.113.10'));
    assert.notEqual(a.keyOf('203.0.113.9'), keys('another-key-0123456789abc').keyOf('203.0.113.9'));
    assert.equal(a.keyOf('2001:db8:1:2::1'), a.keyOf('2001:db8:1:2::ffff'), 'one /64, one holder');
  });

  it('gives loopback no address share', () => {
    const a = keys('hash-key-0123456789abcdef');
    assert.equal(a.keyOf('127.0.0.1'), '');
    assert.equal(a.keyOf('::1'), '');
    assert.equal(a.keyOf('::ffff:127.0.0.1'), '');
  });
});
