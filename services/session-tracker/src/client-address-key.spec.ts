import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { holderAddress } from './client-address-key.js';

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
