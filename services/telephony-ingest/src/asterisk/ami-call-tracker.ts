import { CallStage, type CallObservation, type CallOutcome, type CallParties, type EventTime } from '../calls/call-merge.js';
import { eventIdOf } from '@calltrack/contracts';
import type { AmiMessage } from './ami-protocol.js';
import { wallClockToEpochMs } from '../intake/local-time.js';
import { diversionNumber, historyInfoNumber, phoneOrEmpty } from '../intake/phone-fields.js';

/** What the tracker needs of one PBX's configuration. */
export interface AmiTrackerPbx {
  siteId: string;
  name: string;
  inboundContexts: readonly string[];
  outboundContexts: readonly string[];
  timeZone?: string | undefined;
}

/** An observation of a call with the id of the AMI event it came from. */
export interface AmiObservation {
  observation: CallObservation;
  eventId: string;
}

interface TrackedCall {
  originUniqueid: string;
  parties: CallParties;
  answered: boolean;
  lastDialStatus: string | undefined;
}

// Bounds: calls in progress, and ended calls whose CDR may still come.
const MAX_LIVE_CALLS = 20_000;
const MAX_ENDED_CALLS = 5_000;

// Channel variables (manager.conf channelvars) that carry the SIP headers of a forwarded call.
export const DIVERSION_VARIABLE = 'CALLTRACK_DIVERSION';
export const HISTORY_INFO_VARIABLE = 'CALLTRACK_HISTORY_INFO';

/** Dial() outcomes (DialEnd DialStatus) of a call nobody answered. */
function dialOutcome(status: string | undefined): CallOutcome | undefined {
  switch (status?.toUpperCase()) {
    case 'BUSY':
      return 'busy';
    case 'NOANSWER':
    case 'CANCEL':
      return 'missed';
    case 'CONGESTION':
    case 'CHANUNAVAIL':
    case 'INVALIDARGS':
    case 'DONTCALL':
    case 'TORTURE':
      return 'failed';
    default:
      return undefined;
  }
}

// Q.850 cause of the Hangup event: 17 user busy; 16 normal clearing, 18/19 no answer, 21 rejected.
function causeOutcome(cause: string | undefined): CallOutcome {
  switch (Number(cause)) {
    case 17:
      return 'busy';
    case 16:
    case 18:
    case 19:
    case 0:
      return 'missed';
    default:
      return 'failed';
  }
}

function cdrOutcome(disposition: string | undefined): CallOutcome {
  switch (disposition?.toUpperCase()) {
    case 'ANSWERED':
      return 'completed';
    case 'BUSY':
      return 'busy';
    case 'NO ANSWER':
      return 'missed';
    default:
      return 'failed';
  }
}

/**
 * Turns one PBX's AMI events into call observations. A call is the Linkedid of
 * its channels (the Uniqueid of the first one). The first channel decides what
 * the call is: created in an inbound context it is an incoming call to its
 * Exten (the DID) — or to the forwarding number of a Diversion / History-Info
 * header the dialplan exposes as a channel variable —; created in an outbound
 * context and dialling a phone number it is an outgoing call, whose line is
 * the caller id presented to the callee (DialBegin DestConnectedLineNum);
 * anything else (internal calls, other contexts) is not tracked. A dial
 * answered (DialEnd ANSWER), two channels bridged or a second channel going
 * Up answer the call; the first channel's Hangup ends it; its CDR, when
 * cdr_manager is on, is the final summary.
 */
export class AmiCallTracker {
  private readonly live = new Map<string, TrackedCall>();
  private readonly ended = new Map<string, TrackedCall>();
  /** Linkedids decided not to be tracked, so later events of the call are skipped cheaply. */
  private readonly untracked = new Map<string, true>();

  constructor(private readonly pbx: AmiTrackerPbx) {}

  handle(m: AmiMessage, receivedAtMs: number, site: { country: string; timeZone: string }): AmiObservation[] {
    const event = m.event?.toLowerCase();
    if (!event) return [];
    if (event === 'cdr') return this.cdr(m, site);
    const linkedid = m.get('Linkedid');
    if (!linkedid) return [];
    const at = this.eventTime(m, receivedAtMs);

    if (event === 'newchannel') {
      if (m.get('Uniqueid') !== linkedid || this.live.has(linkedid) || this.untracked.has(linkedid)) return [];
      const parties = this.classify(m, site.country);
      if (!parties) {
        this.remember(this.untracked, linkedid, true, MAX_LIVE_CALLS);
        return [];
      }
      const call: TrackedCall = { originUniqueid: linkedid, parties, answered: false, lastDialStatus: undefined };
      this.remember(this.live, linkedid, call, MAX_LIVE_CALLS);
      return [this.observe(m, linkedid, call, { stage: CallStage.start, startedAt: at })];
    }

    const call = this.live.get(linkedid);
    if (!call) return [];
    // Parties learnt from this event go into whatever it reports; alone, they are a report of their own.
    const forwarded = this.forwardedFrom(m, call, site.country);
    const reported = this.callEvent(event, m, linkedid, call, at, site.country);
    return reported.length > 0 ? reported : forwarded;
  }

  private callEvent(event: string, m: AmiMessage, linkedid: string, call: TrackedCall, at: EventTime, country: string): AmiObservation[] {
    switch (event) {
      case 'dialbegin': {
        // The caller id the callee sees is the line an outgoing call was placed from.
        const line = call.parties.direction === 'outbound' && !call.parties.trackingNumber ? phoneOrEmpty(m.get('DestConnectedLineNum'), country) : '';
        if (!line) return [];
        call.parties = { ...call.parties, trackingNumber: line, callerNumber: line };
        return [this.observe(m, linkedid, call, { stage: CallStage.start, startedAt: { ms: at.ms, exact: false } })];
      }
      case 'dialend': {
        call.lastDialStatus = m.get('DialStatus');
        if (call.lastDialStatus?.toUpperCase() !== 'ANSWER') return [];
        return this.answer(m, linkedid, call, at);
      }
      case 'bridgeenter':
        return Number(m.get('BridgeNumChannels') ?? '0') >= 2 ? this.answer(m, linkedid, call, at) : [];
      case 'newstate':
        // The first channel going Up is the PBX (an IVR) answering; another one is the callee.
        return m.get('ChannelState') === '6' && m.get('Uniqueid') !== call.originUniqueid ? this.answer(m, linkedid, call, at) : [];
      case 'hangup': {
        if (m.get('Uniqueid') !== call.originUniqueid) return [];
        this.live.delete(linkedid);
        this.remember(this.ended, linkedid, call, MAX_ENDED_CALLS);
        const outcome = call.answered ? 'completed' : (dialOutcome(call.lastDialStatus) ?? causeOutcome(m.get('Cause')));
        return [this.observe(m, linkedid, call, { stage: CallStage.end, endedAt: at, outcome })];
      }
      default:
        return [];
    }
  }

  /**
   * Diversion / History-Info set by the dialplan after the first channel was
   * created reach the later events of that channel: they name the tracking
   * number over its Exten.
   */
  private forwardedFrom(m: AmiMessage, call: TrackedCall, country: string): AmiObservation[] {
    if (call.parties.direction !== 'inbound' || call.parties.rank > 2 || m.get('Uniqueid') !== call.originUniqueid) return [];
    const vars = m.channelVariables();
    const number = diversionNumber(vars.get(DIVERSION_VARIABLE), country) ?? historyInfoNumber(vars.get(HISTORY_INFO_VARIABLE), country);
    if (!number) return [];
    call.parties = { ...call.parties, trackingNumber: number, rank: 3 };
    return [this.observe(m, call.originUniqueid, call, { stage: CallStage.start })];
  }

  /** Calls being followed (for tests and diagnostics). */
  liveCalls(): number {
    return this.live.size;
  }

  private answer(m: AmiMessage, linkedid: string, call: TrackedCall, at: EventTime): AmiObservation[] {
    if (call.answered) return [];
    call.answered = true;
    return [this.observe(m, linkedid, call, { stage: CallStage.answer, answeredAt: at })];
  }

  private cdr(m: AmiMessage, site: { timeZone: string }): AmiObservation[] {
    const id = m.get('UniqueID');
    const call = id ? (this.ended.get(id) ?? this.live.get(id)) : undefined;
    // Only the CDR of a tracked call's first channel: the others describe its legs.
    if (!id || !call) return [];
    this.ended.delete(id);
    const zone = this.pbx.timeZone ?? site.timeZone;
    const time = (field: string): EventTime | undefined => {
      const ms = wallClockToEpochMs(m.get(field) ?? '', zone);
      return ms === undefined ? undefined : { ms, exact: true };
    };
    const observation: Partial<CallObservation> = { stage: CallStage.final, outcome: cdrOutcome(m.get('Disposition')) };
    const startedAt = time('StartTime');
    const answeredAt = time('AnswerTime');
    const endedAt = time('EndTime');
    if (startedAt) observation.startedAt = startedAt;
    if (answeredAt && observation.outcome === 'completed') observation.answeredAt = answeredAt;
    if (endedAt) observation.endedAt = endedAt;
    return [this.observe(m, id, call, observation as Pick<CallObservation, 'stage'> & Partial<CallObservation>)];
  }

  private classify(m: AmiMessage, country: string): CallParties | undefined {
    const context = m.get('Context') ?? '';
    if (this.pbx.inboundContexts.includes(context)) {
      const vars = m.channelVariables();
      const forwarded = diversionNumber(vars.get(DIVERSION_VARIABLE), country) ?? historyInfoNumber(vars.get(HISTORY_INFO_VARIABLE), country);
      const trackingNumber = forwarded ?? phoneOrEmpty(m.get('Exten'), country);
      if (!trackingNumber) return undefined;
      // A forwarding header outranks the DID, also when it only comes with a later event.
      return { direction: 'inbound', trackingNumber, callerNumber: phoneOrEmpty(m.get('CallerIDNum'), country), calledNumber: '', rank: forwarded ? 3 : 2 };
    }
    if (this.pbx.outboundContexts.includes(context)) {
      const calledNumber = phoneOrEmpty(m.get('Exten'), country);
      if (!calledNumber) return undefined;
      return { direction: 'outbound', trackingNumber: '', callerNumber: '', calledNumber, rank: 2 };
    }
    return undefined;
  }

  // With manager.conf timestampevents=yes every event carries "Timestamp: <epoch seconds>.<micro>".
  private eventTime(m: AmiMessage, receivedAtMs: number): EventTime {
    const ts = Number(m.get('Timestamp'));
    return Number.isFinite(ts) && ts > 0 ? { ms: Math.round(ts * 1000), exact: true } : { ms: receivedAtMs, exact: true };
  }

  private observe(m: AmiMessage, linkedid: string, call: TrackedCall, part: Pick<CallObservation, 'stage'> & Partial<CallObservation>): AmiObservation {
    const observation: CallObservation = {
      provider: 'asterisk',
      providerCallId: `${this.pbx.name}:${linkedid}`,
      providerSequence: 0,
      parties: { ...call.parties },
      ...part,
    };
    return { observation, eventId: eventIdOf('asterisk', this.pbx.siteId, `${this.pbx.name}\n${m.raw}`) };
  }

  private remember<V>(map: Map<string, V>, key: string, value: V, max: number): void {
    map.set(key, value);
    while (map.size > max) map.delete(map.keys().next().value!);
  }
}
