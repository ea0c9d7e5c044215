import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { calltrack, createEvent, encodeEvent, siteKey, type DomainEvent } from '@calltrack/contracts';
import type { RunningService } from '@calltrack/service-kit';
import { createKafkaTestEnv, http, produceRaw, testLogger, TopicProbe, waitFor, type KafkaTestEnv } from '@calltrack/testing';
import { AmiClient } from './ami-client.js';
import type { AmiMessage } from './ami-protocol.js';
import { loadTelephonyIngestConfig, type TelephonyIngestConfig } from '../config.js';
import { FakeAmiServer } from './fake-ami-server.fixture.js';
import { startTelephonyIngest } from '../telephony-ingest.app.js';

const { CallStatus, CallDirection } = calltrack.events.v1;
const AMI_USER = 'calltrack';
const AMI_SECRET = 'ami-s3cret';

describe('Asterisk AMI client against a fake AMI server', () => {
  let fake: FakeAmiServer;
  let client: AmiClient | undefined;
  const received: AmiMessage[] = [];

  const newClient = (secret = AMI_SECRET) =>
    new AmiClient({
      host: '127.0.0.1',
      port: fake.port,
      username: AMI_USER,
      secret,
      reconnectMinMs: 20,
      reconnectMaxMs: 200,
      logger: testLogger,
      label: 'test',
      onEvent: (m) => received.push(m),
    });

  before(async () => {
    fake = await FakeAmiServer.start({ username: AMI_USER, secret: AMI_SECRET });
  });

  after(async () => {
    await client?.stop();
    await fake.close();
  });

  it('logs in with Action: Login in the AMI wire format and receives events', async () => {
    client = newClient();
    client.start();
    await waitFor(() => fake.sessions === 1, { what: 'AMI login' });
    assert.deepEqual(fake.logins, [{ username: AMI_USER, accepted: true, events: 'call,cdr' }]);
    assert.deepEqual(fake.protocolErrors, []);
    fake.emit('Newchannel', { Channel: 'PJSIP/trunk-1', Uniqueid: '1.1', Linkedid: '1.1', Exten: '74951234567' });
    await waitFor(() => received.some((m) => m.event === 'Newchannel'), { what: 'Newchannel delivered' });
    assert.equal(received.find((m) => m.event === 'Newchannel')!.get('Exten'), '74951234567');
    assert.ok(
      received.some((m) => m.event === 'FullyBooted'),
      'events right after the login response are not lost',
    );
    assert.equal(client.status().connected, true);
  });

  it('reconnects after the connection drops, logs in again and keeps receiving events', async () => {
    const before = client!.status().sessions;
    fake.dropConnections();
    await waitFor(() => client!.status().sessions === before + 1 && fake.sessions === 1, { what: 'reconnected' });
    assert.equal(fake.logins.length, 2);
    fake.emit('Hangup', { Channel: 'PJSIP/trunk-1', Uniqueid: '1.1', Linkedid: '1.1', Cause: '16' });
    await waitFor(() => received.some((m) => m.event === 'Hangup'), { what: 'Hangup delivered after the reconnect' });
    await client!.stop();
    client = undefined;
    await waitFor(() => fake.sessions === 0, { what: 'logged out' });
  });

  it('retries a refused login with backoff until the PBX accepts it', async () => {
    fake.acceptLogins = false;
    const logins = fake.logins.length;
    client = newClient();
    client.start();
    // The fake records a login before it answers: the client counts the refusal only once it has read
    // the answer, so wait for both sides (on a busy machine the third answer may still be in flight).
    await waitFor(() => fake.logins.length >= logins + 3 && client!.status().failedAttempts >= 3, { what: 'three refused logins, seen by the client' });
    assert.ok(fake.logins.slice(logins).every((l) => !l.accepted));
    assert.equal(client.status().connected, false);
    assert.match(client.status().lastError ?? '', /Authentication failed|closed before login/);
    fake.acceptLogins = true;
    await waitFor(() => client!.status().connected, { what: 'logged in once accepted' });
    await client.stop();
    client = undefined;
  });
});

describe('Asterisk AMI calls into CallReported (integration)', () => {
  const SITE = 'ami-site';
  let env: KafkaTestEnv;
  let probe: TopicProbe;
  let svc: RunningService;
  let fake: FakeAmiServer;
  let config: TelephonyIngestConfig;
  const admin = { authorization: 'Bearer test-admin-token-0123456789' };
  // Recent (whole seconds): times outside EVENT_TIME_MAX_AGE_DAYS are dropped like the webhooks refuse them.
  const T = Math.floor(Date.now() / 1000) - 600;
  /** Wall-clock time in Moscow (UTC+3, no DST), as the PBX writes CDR times. */
  const moscow = (s: number) => new Date((s + 3 * 3600) * 1000).toISOString().slice(0, 19).replace('T', ' ');
  const L = '1740823200.77';
  const callId = `asterisk:main:${L}`;

  const reports = () => (probe.events('calls') as Array<DomainEvent<'CallReported'>>).filter((e) => e.payload.callId === callId);
  const base = (channel: string, uniqueid: string, extra: Record<string, string>) => ({
    Privilege: 'call,all',
    Channel: channel,
    ChannelState: '4',
    ChannelStateDesc: 'Ring',
    CallerIDNum: '79161234567',
    CallerIDName: '<unknown>',
    ConnectedLineNum: '<unknown>',
    ConnectedLineName: '<unknown>',
    Language: 'ru',
    AccountCode: '',
    Context: 'from-trunk',
    Exten: '74951234567',
    Priority: '1',
    Uniqueid: uniqueid,
    Linkedid: L,
    ...extra,
  });
  const trunk = (extra: Record<string, string>) => base('PJSIP/trunk-0000004d', L, extra);
  const phone = (extra: Record<string, string>) => base('PJSIP/101-0000004e', `${L}1`, { Context: 'from-internal', Exten: '101', ...extra });

  before(async () => {
    fake = await FakeAmiServer.start({ username: AMI_USER, secret: AMI_SECRET });
    env = await createKafkaTestEnv('telephony-ami');
    probe = await TopicProbe.start(env, ['calls']);
    await produceRaw(env, 'sites', [
      {
        key: siteKey(SITE),
        value: encodeEvent(
          createEvent(
            'SiteConfigured',
            { name: SITE, country: 'RU', timeZone: 'Europe/Moscow', defaultNumber: '+74951234500' },
            { siteId: SITE, producer: 'test' },
          ),
        ),
      },
    ]);
    const pbxes = JSON.stringify([{ siteId: SITE, name: 'main', host: '127.0.0.1', port: fake.port, username: AMI_USER, secret: AMI_SECRET }]);
    config = {
      ...loadTelephonyIngestConfig({
        ...env.env,
        HTTP_HOST: '127.0.0.1',
        ADMIN_TOKEN: 'test-admin-token-0123456789',
        LOG_LEVEL: process.env['TEST_LOG_LEVEL'] ?? 'silent',
        ASTERISK_AMI_PBXES: pbxes,
        ASTERISK_AMI_RECONNECT_MIN_MS: '20',
        ASTERISK_AMI_RECONNECT_MAX_MS: '200',
      }),
      PORT: 0,
    };
    svc = await startTelephonyIngest(config);
    await waitFor(() => fake.sessions === 1, { what: 'telephony-ingest logged in to the PBX' });
  });

  after(async () => {
    await svc?.close();
    await probe?.stop();
    await fake?.close();
  });

  it('reports a call followed over AMI, across a dropped connection, as one call record', async () => {
    fake.emit('Newchannel', trunk({ ChannelState: '0', ChannelStateDesc: 'Down', Timestamp: `${T}.000000` }));
    fake.emit('Newchannel', phone({ Timestamp: `${T + 1}.000000` }));
    fake.emit('DialBegin', {
      ...trunk({ Timestamp: `${T + 1}.100000` }),
      DestChannel: 'PJSIP/101-0000004e',
      DestUniqueid: `${L}1`,
      DestLinkedid: L,
      DialString: '101',
    });
    const ringing = await waitFor(() => reports()[0], { what: 'ringing report' });
    assert.equal(ringing.payload.status, CallStatus.CALL_STATUS_RINGING);
    assert.equal(ringing.payload.trackingNumber, '+74951234567');

    // The PBX connection drops mid-call: the client logs in again and the call goes on.
    fake.dropConnections();
    await waitFor(() => fake.sessions === 1 && fake.logins.length === 2, { what: 'reconnected to the PBX' });

    fake.emit('Newstate', phone({ ChannelState: '6', ChannelStateDesc: 'Up', Timestamp: `${T + 6}.000000` }));
    fake.emit('DialEnd', { ...trunk({ Timestamp: `${T + 6}.000100` }), DestChannel: 'PJSIP/101-0000004e', DestUniqueid: `${L}1`, DialStatus: 'ANSWER' });
    fake.emit('BridgeEnter', {
      ...trunk({ Timestamp: `${T + 6}.2` }),
      BridgeUniqueid: 'b-77',
      BridgeType: 'basic',
      BridgeTechnology: 'simple_bridge',
      BridgeNumChannels: '2',
    });
    fake.emit('Hangup', phone({ Cause: '16', 'Cause-txt': 'Normal Clearing', Timestamp: `${T + 80}.000000` }));
    fake.emit('Hangup', trunk({ Cause: '16', 'Cause-txt': 'Normal Clearing', Timestamp: `${T + 80}.000000` }));
    fake.emit('Cdr', {
      Privilege: 'cdr,all',
      AccountCode: '',
      Source: '79161234567',
      Destination: '74951234567',
      DestinationContext: 'from-trunk',
      CallerID: '"" <79161234567>',
      Channel: 'PJSIP/trunk-0000004d',
      DestinationChannel: 'PJSIP/101-0000004e',
      LastApplication: 'Dial',
      LastData: 'PJSIP/101,30',
      StartTime: moscow(T),
      AnswerTime: moscow(T + 6),
      EndTime: moscow(T + 80),
      Duration: '80',
      BillableSeconds: '74',
      Disposition: 'ANSWERED',
      AMAFlags: 'DOCUMENTATION',
      UniqueID: L,
      UserField: '',
    });
    const final = await waitFor(
      () => {
        const r = reports();
        return r.length >= 4 && r;
      },
      { what: 'the report of the CDR' },
    );
    // Ringing, answered, ended, then the CDR: the same times, as the final summary (a higher sequence).
    assert.deepEqual(
      final.map((e) => e.payload.status),
      [CallStatus.CALL_STATUS_RINGING, CallStatus.CALL_STATUS_ANSWERED, CallStatus.CALL_STATUS_COMPLETED, CallStatus.CALL_STATUS_COMPLETED],
    );
    assert.ok(
      final.every((e, i) => i === 0 || e.payload.sequence >= final[i - 1]!.payload.sequence),
      'sequences never step back',
    );
    assert.deepEqual(final[2]!.payload.endedAtMs, final[3]!.payload.endedAtMs);
    const last = final.at(-1)!;
    assert.deepEqual(
      {
        callId: last.payload.callId,
        provider: last.payload.provider,
        direction: last.payload.direction,
        trackingNumber: last.payload.trackingNumber,
        callerNumber: last.payload.callerNumber,
        startedAtMs: Number(last.payload.startedAtMs),
        answeredAtMs: Number(last.payload.answeredAtMs),
        endedAtMs: Number(last.payload.endedAtMs),
      },
      {
        callId,
        provider: 'asterisk',
        direction: CallDirection.CALL_DIRECTION_INBOUND,
        trackingNumber: '+74951234567',
        callerNumber: '+79161234567',
        startedAtMs: T * 1000,
        answeredAtMs: (T + 6) * 1000,
        endedAtMs: (T + 80) * 1000,
      },
    );
    assert.equal(last.siteId, SITE);
    assert.equal(probe.deadLetters('calls').length, 0);
  });

  it("shows the PBX connection and its reconnects in the site's webhook stats", async () => {
    const res = await http('GET', `${svc.url}/v1/admin/sites/${SITE}/webhook-stats`, { headers: admin });
    assert.equal(res.status, 200);
    const asterisk = res.body.providers.asterisk;
    assert.equal(asterisk.connections.length, 1);
    assert.deepEqual(
      {
        name: asterisk.connections[0].name,
        port: asterisk.connections[0].port,
        connected: asterisk.connections[0].connected,
        sessions: asterisk.connections[0].sessions,
      },
      { name: 'main', port: fake.port, connected: true, sessions: 2 },
    );
    assert.doesNotMatch(JSON.stringify(res.body), new RegExp(AMI_SECRET));
    assert.equal(asterisk.accepted, 4, 'start, answer, end and the CDR');
  });

  it('drops (and counts) an event whose time is outside the window, as the webhooks refuse it with 400', async () => {
    const before = (await http('GET', `${svc.url}/v1/admin/sites/${SITE}/webhook-stats`, { headers: admin })).body.providers.asterisk.rejected.invalid_payload;
    const old = '978307200.1'; // 2001-01-01
    fake.emit('Newchannel', { ...trunk({ ChannelState: '0', ChannelStateDesc: 'Down', Timestamp: '978307200.000000' }), Uniqueid: old, Linkedid: old });
    const marker = `${T}.99`;
    fake.emit('Newchannel', { ...trunk({ ChannelState: '0', ChannelStateDesc: 'Down', Timestamp: `${T + 100}.000000` }), Uniqueid: marker, Linkedid: marker });
    // Events of a PBX are handled in order: once the marker call is reported, the old one was handled.
    await waitFor(() => (probe.events('calls') as Array<DomainEvent<'CallReported'>>).some((e) => e.payload.callId === `asterisk:main:${marker}`), {
      what: 'the marker call',
    });
    assert.equal((probe.events('calls') as Array<DomainEvent<'CallReported'>>).filter((e) => e.payload.callId === `asterisk:main:${old}`).length, 0);
    const after = (await http('GET', `${svc.url}/v1/admin/sites/${SITE}/webhook-stats`, { headers: admin })).body.providers.asterisk.rejected.invalid_payload;
    assert.equal(after - before, 1);
  });
});
