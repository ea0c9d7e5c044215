import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { amiAction, AmiProtocolError, AmiStreamParser, parseAmiMessage } from './ami-protocol.js';

const NEWCHANNEL =
  'Event: Newchannel\r\nPrivilege: call,all\r\nChannel: PJSIP/trunk-00000001\r\nChannelState: 0\r\nChannelStateDesc: Down\r\nCallerIDNum: 79161234567\r\n' +
  'CallerIDName: <unknown>\r\nConnectedLineNum: <unknown>\r\nConnectedLineName: <unknown>\r\nLanguage: en\r\nAccountCode: \r\nContext: from-trunk\r\n' +
  'Exten: 74951234567\r\nPriority: 1\r\nUniqueid: 1740823200.1\r\nLinkedid: 1740823200.1\r\n\r\n';

describe('AMI wire format', () => {
  it('reads the banner, then messages split on blank lines, across any chunking', () => {
    const stream = `Asterisk Call Manager/5.0.1\r\nResponse: Success\r\nActionID: 1\r\nMessage: Authentication accepted\r\n\r\n${NEWCHANNEL}`;
    for (const size of [1, 3, 7, stream.length]) {
      const parser = new AmiStreamParser();
      const messages = [];
      for (let i = 0; i < stream.length; i += size) messages.push(...parser.push(stream.slice(i, i + size)));
      assert.equal(parser.banner, 'Asterisk Call Manager/5.0.1', `chunks of ${size}`);
      assert.deepEqual(
        messages.map((m) => m.response ?? m.event),
        ['Success', 'Newchannel'],
        `chunks of ${size}`,
      );
      assert.equal(messages[1]!.get('exten'), '74951234567', 'keys match case-insensitively');
      assert.equal(messages[1]!.get('AccountCode'), '');
    }
  });

  it('refuses a peer that is not an Asterisk manager', () => {
    assert.throws(() => new AmiStreamParser().push('SSH-2.0-OpenSSH_9.6\r\n'), AmiProtocolError);
    assert.throws(() => new AmiStreamParser().push('x'.repeat(300)), AmiProtocolError);
  });

  it('reads values containing colons and channel variables in both spellings', () => {
    const m = parseAmiMessage(
      'Event: Newchannel\r\nChanVariable: CALLTRACK_DIVERSION=<sip:+74951234567@carrier>;reason=unconditional\r\n' +
        'ChanVariable(PJSIP/trunk-1): CALLTRACK_HISTORY_INFO=<sip:+74957654321@c>;index=1\r\nTimestamp: 1740823200.123456',
    );
    assert.equal(m.get('Timestamp'), '1740823200.123456');
    assert.deepEqual(
      [...m.channelVariables()],
      [
        ['CALLTRACK_DIVERSION', '<sip:+74951234567@carrier>;reason=unconditional'],
        ['CALLTRACK_HISTORY_INFO', '<sip:+74957654321@c>;index=1'],
      ],
    );
  });

  it('writes actions as CRLF lines ended by a blank line and refuses line breaks in values', () => {
    assert.equal(
      amiAction([
        ['Action', 'Login'],
        ['Username', 'calltrack'],
        ['Secret', 's3cret'],
      ]),
      'Action: Login\r\nUsername: calltrack\r\nSecret: s3cret\r\n\r\n',
    );
    assert.throws(
      () =>
        amiAction([
          ['Action', 'Login'],
          ['Secret', 'x\r\nAction: Originate'],
        ]),
      AmiProtocolError,
    );
  });
});
