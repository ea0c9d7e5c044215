import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { calltrack } from '@calltrack/contracts';
import { AmiCallTracker, type AmiObservation } from './ami-call-tracker.js';
import { parseAmiMessage } from './ami-protocol.js';
import { callReport, CallStage, mergeObservation, type MergedCall } from '../calls/call-merge.js';

const { CallStatus, CallDirection } = calltrack.events.v1;
const site = { country: 'RU', timeZone: 'Europe/Moscow', defaultNumber: '+74950000000' };
const pbx = { siteId: 'site-1', name: 'main', inboundContexts: ['from-trunk'], outboundContexts: ['from-internal'] };
const T = 1740823200; // 2025-03-01T10:00:00Z = 13:00 in Moscow

/** An AMI event as Asterisk writes it (channel events carry the base channel fields). */
function ev(event: string, fields: Record<string, string>): ReturnType<typeof parseAmiMessage> {
  return parseAmiMessage([`Event: ${event}`, 'Privilege: call,all', ...Object.entries(fields).map(([k, v]) => `${k}: ${v}`)].join('\r\n'));
}
const channel = (name: string, uniqueid: string, linkedid: string, extra: Record<string, string>) => ({
  Channel: name,
  ChannelState: '0',
  ChannelStateDesc: 'Down',
  CallerIDNum: '<unknown>',
  CallerIDName: '<unknown>',
  ConnectedLineNum: '<unknown>',
  ConnectedLineName: '<unknown>',
  Language: 'en',
  AccountCode: '',
  Context: 'from-trunk',
  Exten: 's',
  Priority: '1',
  Uniqueid: uniqueid,
  Linkedid: linkedid,
  ...extra,
});

function run(tracker: AmiCallTracker, events: ReturnType<typeof ev>[]): AmiObservation[] {
  return events.flatMap((m) => tracker.handle(m, 0, site));
}
const merged = (obs: AmiObservation[]) => obs.reduce<MergedCall | undefined>((c, o) => mergeObservation(c, o.observation), undefined)!;

function inboundCall(L: string, dialStatus: string, cdrDisposition: string) {
  const trunk = (extra: Record<string, string>) => channel('PJSIP/trunk-00000001', L, L, { CallerIDNum: '79161234567', Exten: '74951234567', ...extra });
  const phone = (extra: Record<string, string>) => channel('PJSIP/101-00000002', `${L}1`, L, { Context: 'from-internal', Exten: '101', ...extra });
  const answered = dialStatus === 'ANSWER';
  return [
    ev('Newchannel', trunk({ Timestamp: `${T}.000000` })),
    ev('Newchannel', phone({ Timestamp: `${T + 1}.000000` })),
    ev('DialBegin', {
      ...trunk({ Timestamp: `${T + 1}.100000` }),
      DestChannel: 'PJSIP/101-00000002',
      DestUniqueid: `${L}1`,
      DestLinkedid: L,
      DialString: '101',
    }),
    ...(answered ? [ev('Newstate', phone({ ChannelState: '6', ChannelStateDesc: 'Up', Timestamp: `${T + 5}.000000` }))] : []),
    ev('DialEnd', { ...trunk({ Timestamp: `${T + 5}.000100` }), DestChannel: 'PJSIP/101-00000002', DestUniqueid: `${L}1`, DialStatus: dialStatus }),
    ...(answered
      ? [
          ev('BridgeEnter', {
            ...trunk({ Timestamp: `${T + 5}.2` }),
            BridgeUniqueid: 'b1',
            BridgeType: 'basic',
            BridgeTechnology: 'simple_bridge',
            BridgeNumChannels: '2',
          }),
        ]
      : []),
    ev('Hangup', phone({ Cause: '16', 'Cause-txt': 'Normal Clearing', Timestamp: `${T + 60}.000000` })),
    ev('Hangup', trunk({ Cause: answered ? '16' : '19', 'Cause-txt': 'x', Timestamp: `${T + 60}.100000` })),
    ev('Cdr', {
      AccountCode: '',
      Source: '79161234567',
      Destination: '74951234567',
      DestinationContext: 'from-trunk',
      CallerID: '"" <79161234567>',
      Channel: 'PJSIP/trunk-00000001',
      DestinationChannel: 'PJSIP/101-00000002',
      LastApplication: 'Dial',
      LastData: 'PJSIP/101',
      StartTime: '2025-03-01 13:00:00',
      AnswerTime: answered ? '2025-03-01 13:00:05' : '',
      EndTime: '2025-03-01 13:01:00',
      Duration: '60',
      BillableSeconds: answered ? '55' : '0',
      Disposition: cdrDisposition,
      AMAFlags: 'DOCUMENTATION',
      UniqueID: L,
      UserField: '',
    }),
  ];
}

describe('AMI call tracker', () => {
  it('follows an answered inbound call: Exten is the tracking number, the phone going Up the answer, the trunk Hangup the end, the CDR final', () => {
    const obs = run(new AmiCallTracker(pbx), inboundCall('1740823200.1', 'ANSWER', 'ANSWERED'));
    assert.deepEqual(
      obs.map((o) => o.observation.stage),
      [CallStage.start, CallStage.answer, CallStage.end, CallStage.final],
    );
    assert.equal(new Set(obs.map((o) => o.eventId)).size, 4);
    assert.ok(obs.every((o) => o.observation.providerCallId === 'main:1740823200.1'));
    const r = callReport(merged(obs), site);
    assert.ok(r.ok);
    assert.deepEqual(
      [
        r.payload.callId,
        r.payload.direction,
        r.payload.trackingNumber,
        r.payload.callerNumber,
        r.payload.status,
        r.payload.startedAtMs,
        r.payload.answeredAtMs,
        r.payload.endedAtMs,
      ],
      [
        'asterisk:main:1740823200.1',
        CallDirection.CALL_DIRECTION_INBOUND,
        '+74951234567',
        '+79161234567',
        CallStatus.CALL_STATUS_COMPLETED,
        T * 1000,
        (T + 5) * 1000,
        (T + 60) * 1000 + 100,
      ],
    );
  });

  it('reports an unanswered dial by its DialStatus', () => {
    for (const [dialStatus, disposition, status] of [
      ['NOANSWER', 'NO ANSWER', CallStatus.CALL_STATUS_MISSED],
      ['BUSY', 'BUSY', CallStatus.CALL_STATUS_BUSY],
      ['CHANUNAVAIL', 'FAILED', CallStatus.CALL_STATUS_FAILED],
    ] as const) {
      const events = inboundCall('1740823200.2', dialStatus, disposition);
      const tracker = new AmiCallTracker(pbx);
      const withoutCdr = run(tracker, events.slice(0, -1));
      const end = callReport(merged(withoutCdr), site);
      assert.ok(end.ok);
      assert.equal(end.payload.status, status, `${dialStatus} at the hangup`);
      assert.equal(end.payload.answeredAtMs, 0);
      const final = callReport(merged([...withoutCdr, ...run(tracker, events.slice(-1))]), site);
      assert.ok(final.ok);
      assert.equal(final.payload.status, status, `${disposition} in the CDR`);
    }
  });

  it('takes the tracking number from a Diversion exposed as a channel variable', () => {
    const obs = run(new AmiCallTracker(pbx), [
      parseAmiMessage(
        'Event: Newchannel\r\nChannel: PJSIP/trunk-1\r\nCallerIDNum: 79161234567\r\nContext: from-trunk\r\nExten: 74950000001\r\nUniqueid: 9.1\r\n' +
          'Linkedid: 9.1\r\nChanVariable: CALLTRACK_DIVERSION=<sip:+74951234567@carrier.example>;reason=unconditional;counter=1',
      ),
    ]);
    assert.equal(obs[0]!.observation.parties?.trackingNumber, '+74951234567');
  });

  it("takes a Diversion the dialplan sets after the channel was created from the channel's later events", () => {
    const L = '9.2';
    const trunk = (extra: Record<string, string>) => channel('PJSIP/trunk-2', L, L, { CallerIDNum: '79161234567', Exten: '74950000001', ...extra });
    const tracker = new AmiCallTracker(pbx);
    const obs = run(tracker, [
      ev('Newchannel', trunk({})),
      parseAmiMessage(
        [
          'Event: DialBegin',
          ...Object.entries(trunk({})).map(([k, v]) => `${k}: ${v}`),
          'ChanVariable: CALLTRACK_DIVERSION=<sip:+74951234567@carrier.example>;reason=unconditional',
          'DestChannel: PJSIP/101-3',
          `DestUniqueid: ${L}1`,
        ].join('\r\n'),
      ),
      ev('Hangup', trunk({ Cause: '19' })),
    ]);
    assert.deepEqual(
      obs.map((o) => o.observation.parties?.trackingNumber),
      ['+74950000001', '+74951234567', '+74951234567'],
    );
    const r = callReport(merged(obs), site);
    assert.ok(r.ok);
    assert.equal(r.payload.trackingNumber, '+74951234567', 'the forwarding number outranks the DID whatever the order');
    const reversed = callReport(merged([...obs].reverse()), site);
    assert.ok(reversed.ok);
    assert.equal(reversed.payload.trackingNumber, '+74951234567');
  });

  it('follows an outgoing call: Exten is who was called, the caller id presented the line', () => {
    const L = '1740823300.5';
    const phone = (extra: Record<string, string>) =>
      channel('PJSIP/101-00000005', L, L, { Context: 'from-internal', CallerIDNum: '101', Exten: '89165550000', ...extra });
    const obs = run(new AmiCallTracker(pbx), [
      ev('Newchannel', phone({})),
      ev('DialBegin', {
        ...phone({}),
        DestChannel: 'PJSIP/trunk-00000006',
        DestCallerIDNum: '89165550000',
        DestConnectedLineNum: '74951234567',
        DestUniqueid: `${L}1`,
        DestLinkedid: L,
      }),
      ev('DialEnd', { ...phone({}), DestChannel: 'PJSIP/trunk-00000006', DestUniqueid: `${L}1`, DialStatus: 'ANSWER' }),
      ev('Hangup', phone({ Cause: '16' })),
    ]);
    const r = callReport(merged(obs), site);
    assert.ok(r.ok);
    assert.deepEqual(
      [r.payload.direction, r.payload.trackingNumber, r.payload.calledNumber, r.payload.status],
      [CallDirection.CALL_DIRECTION_OUTBOUND, '+74951234567', '+79165550000', CallStatus.CALL_STATUS_COMPLETED],
    );
  });

  it('does not track internal calls, other contexts, or events of calls it never saw start', () => {
    const tracker = new AmiCallTracker(pbx);
    const internal = (extra: Record<string, string>) => channel('PJSIP/101-7', '7.1', '7.1', { Context: 'from-internal', Exten: '102', ...extra });
    const queue = (extra: Record<string, string>) => channel('Local/q-8', '8.1', '8.1', { Context: 'ext-queues', Exten: '74951234567', ...extra });
    const unseen = channel('PJSIP/trunk-9', '9.9', '9.9', {});
    assert.deepEqual(
      run(tracker, [
        ev('Newchannel', internal({})),
        ev('DialEnd', { ...internal({}), DialStatus: 'ANSWER' }),
        ev('Hangup', internal({ Cause: '16' })),
        ev('Newchannel', queue({})),
        ev('Hangup', queue({})),
        ev('DialEnd', { ...unseen, DialStatus: 'ANSWER' }),
        ev('Hangup', unseen),
        ev('Cdr', { UniqueID: '9.9', Disposition: 'ANSWERED', StartTime: '2025-03-01 13:00:00', EndTime: '2025-03-01 13:01:00' }),
        ev('FullyBooted', {}),
      ]),
      [],
    );
    assert.equal(tracker.liveCalls(), 0);
  });

  it('uses the receipt time when events carry no Timestamp (timestampevents off)', () => {
    const tracker = new AmiCallTracker(pbx);
    const [o] = tracker.handle(
      ev('Newchannel', channel('PJSIP/trunk-1', '5.1', '5.1', { CallerIDNum: '79161234567', Exten: '74951234567' })),
      1_740_823_200_500,
      site,
    );
    assert.deepEqual(o!.observation.startedAt, { ms: 1_740_823_200_500, exact: true });
  });
});
