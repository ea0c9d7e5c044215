import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { diversionNumber, historyInfoNumber, phoneOrEmpty, readCaller, uriNumber } from './phone-fields.js';

describe('provider number fields', () => {
  it('normalises numbers to E.164 with the site country; withheld and non-numbers become empty', () => {
    assert.equal(phoneOrEmpty('8 (495) 123-45-67', 'RU'), '+74951234567');
    assert.equal(phoneOrEmpty('74951234567', 'RU'), '+74951234567');
    assert.equal(phoneOrEmpty('+14155550123', 'RU'), '+14155550123');
    assert.equal(phoneOrEmpty('sip:+74951234567@pbx.example;user=phone', 'RU'), '+74951234567');
    assert.equal(phoneOrEmpty('tel:+14155550123', 'US'), '+14155550123');
    for (const v of [undefined, '', 'Anonymous', 'restricted', 'client:alice', '101', 'sip:desk@example.com'])
      assert.equal(phoneOrEmpty(v, 'RU'), '', String(v));
  });

  it('reads the user part of SIP and tel URIs', () => {
    assert.equal(uriNumber('sips:%2B74951234567@h'), '+74951234567');
    assert.equal(uriNumber('<sip:1@h>'), undefined);
    assert.equal(uriNumber('+74951234567'), undefined);
  });

  it('takes the original dialled number from Diversion: the last (oldest) entry', () => {
    const header = '"Desk" <sip:+74957654321@fwd.example>;reason=no-answer;counter=1, <sip:+74951234567@carrier.example>;reason=unconditional;counter=1';
    assert.equal(diversionNumber(header, 'RU'), '+74951234567');
    assert.equal(diversionNumber('<sip:84951234567@carrier.example;user=phone>;reason=user-busy', 'RU'), '+74951234567');
    assert.equal(diversionNumber('"Comma, Inc" <sip:+74951234567@c>;reason=unconditional', 'RU'), '+74951234567', 'a comma inside quotes does not split');
    assert.equal(diversionNumber('<sip:desk@c>', 'RU'), undefined);
    assert.equal(diversionNumber(undefined, 'RU'), undefined);
  });

  it('takes the first target from History-Info (shortest index)', () => {
    const header = '<sip:+74957654321@pbx.example?Reason=SIP%3Bcause%3D302>;index=1.1, <sip:+74951234567@carrier.example>;index=1';
    assert.equal(historyInfoNumber(header, 'RU'), '+74951234567');
    assert.equal(historyInfoNumber('<sip:+74951234567@a>', 'RU'), '+74951234567');
  });

  it('readCaller: withheld values are empty, numbers E.164 (also inside sip:/tel: URIs), anything else a problem', () => {
    for (const v of [
      undefined,
      '',
      ' Anonymous ',
      'RESTRICTED',
      'private',
      'unavailable',
      'withheld',
      '<unknown>',
      '+266696687',
      'sip:anonymous@anonymous.invalid',
      'tel:restricted',
    ]) {
      assert.deepEqual(readCaller(v, 'RU'), { ok: true, number: '' }, String(v));
    }
    assert.deepEqual(readCaller('8 (916) 123-45-67', 'RU'), { ok: true, number: '+79161234567' });
    assert.deepEqual(readCaller('sip:+79161234567@pbx.example;user=phone', 'RU'), { ok: true, number: '+79161234567' });
    for (const v of ['ABCDEFG', '1'.repeat(40), 'sip:evil@example.com', 'client:alice', '12']) {
      const r = readCaller(v, 'RU');
      assert.equal(r.ok, false, v);
      if (!r.ok) assert.match(r.problem, /neither a phone number/);
    }
  });
});
