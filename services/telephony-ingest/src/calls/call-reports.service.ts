import { Inject, Injectable } from '@nestjs/common';
import { callKey, createEvent } from '@calltrack/contracts';
import { KafkaBus } from '@calltrack/kafka';
import { CONFIG, LOGGER } from '@calltrack/service-kit';
import type { Logger } from '@calltrack/telemetry';
import { SERVICE_NAME, type TelephonyIngestConfig } from '../config.js';
import { eventTimeWindow, type EventTimeWindow } from '../intake/event-time-window.js';
import type { FieldProblem } from '../intake/field-problems.js';
import type { SiteSettings } from '../sites/ingest-state.js';
import { callReport, mergeObservation, type CallObservation, type CallReportPayload, type MergedCall } from './call-merge.js';
import { countCallReported } from './call-metrics.js';
import { observationProblems, type TimeFields } from './observation-problems.js';
import { SignedCallLedger } from './signed-call-ledger.js';

/** How long after its start a call's signed facts matter: while a notification of it can pass Zadarma's replay window. */
export const signedCallHorizonMs = (config: Pick<TelephonyIngestConfig, 'ZADARMA_MAX_CALL_SECONDS' | 'WEBHOOK_TOLERANCE_SECONDS'>): number =>
  (config.ZADARMA_MAX_CALL_SECONDS + 2 * config.WEBHOOK_TOLERANCE_SECONDS) * 1000;

/** What an adapter hands over to be reported on the calls topic. */
export type CallReportInput =
  /**
   * One provider event (the provider adapters, Asterisk AMI): checked against the
   * rules every adapter applies, merged into what is known of its call, and the
   * call's whole new state published. `receivedAtMs` is what its times are checked against.
   */
  | { kind: 'event'; site: SiteSettings; observation: CallObservation; eventId: string; receivedAtMs: number; timeFields?: TimeFields | undefined }
  /** A whole call as its sender states it (the generic webhook, validated by its mapping): published as given. */
  | { kind: 'statement'; payload: CallReportPayload; occurredAtMs: number; eventId: string };

/**
 * What became of a call report. Expected outcomes are results; only a publish
 * Kafka did not acknowledge throws (nothing is remembered then, so the
 * sender's retry finds the call as it was).
 */
export type CallReportResult =
  /**
   * published: the call's new state is on the calls topic under this event's id;
   * duplicate: already seen, or it adds nothing to what was published;
   * held: kept in memory until another event of the call names the dialled number.
   */
  | { ok: true; outcome: 'published' | 'duplicate' | 'held'; callId: string; eventId: string }
  /**
   * invalid_payload: an id or a time no adapter may pass on, named by the provider's field;
   * conflicting_event: it disagrees with what the signatures of the call's earlier events bound it to (SignedCallLedger).
   */
  | { ok: false; reason: 'invalid_payload' | 'conflicting_event'; problems: FieldProblem[] };

interface Entry {
  call: MergedCall;
  /** The payload last published for the call (JSON), undefined while held. */
  published: string | undefined;
  /** Event ids merged into the call (bounded), so a repeated event changes nothing. */
  seen: string[];
}

const SEEN_PER_CALL = 64;

/**
 * The one way a call report reaches the calls topic, for every adapter.
 * A provider event is merged into what is known of its call and the call's
 * whole new state published as a CallReported (the provider's latest view;
 * later sequences win downstream); a generic webhook's statement is published
 * as given. Recent calls are kept in memory (bounded, least recently used
 * first out) and each call's events are handled one at a time. An event of a
 * call this instance has forgotten is reported from what it says alone, which
 * every adapter makes a complete report where the provider allows.
 */
@Injectable()
export class CallReports {
  private readonly calls = new Map<string, Entry>();
  private readonly queues = new Map<string, Promise<unknown>>();
  /** Signed facts of recent calls (Zadarma), also fed from the calls topic by SignedCallFeed. */
  readonly ledger: SignedCallLedger;
  private readonly capacity: number;
  private readonly timeWindow: EventTimeWindow;

  constructor(
    private readonly bus: KafkaBus,
    @Inject(CONFIG) config: TelephonyIngestConfig,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {
    this.capacity = config.CALL_MERGE_CACHE_SIZE;
    this.timeWindow = eventTimeWindow(config);
    this.ledger = new SignedCallLedger(signedCallHorizonMs(config), config.CALL_MERGE_CACHE_SIZE);
  }

  /** Reports one event or statement of a call; throws only when Kafka did not acknowledge the publish. */
  async report(siteId: string, input: CallReportInput): Promise<CallReportResult> {
    if (input.kind === 'statement') {
      await this.publish(siteId, input.payload, input.eventId, input.occurredAtMs);
      return { ok: true, outcome: 'published', callId: input.payload.callId, eventId: input.eventId };
    }
    const { observation, site, eventId } = input;
    const problems = observationProblems(observation, input.receivedAtMs, this.timeWindow, input.timeFields);
    if (problems.length > 0) return { ok: false, reason: 'invalid_payload', problems };
    const callId = `${observation.provider}:${observation.providerCallId}`;
    const key = callKey(siteId, callId);
    return this.serialized(key, () => this.apply(key, siteId, site, observation, callId, eventId));
  }

  private async apply(
    key: string,
    siteId: string,
    site: SiteSettings,
    observation: CallObservation,
    callId: string,
    eventId: string,
  ): Promise<CallReportResult> {
    const entry = this.calls.get(key);
    if (entry?.seen.includes(eventId)) {
      this.touch(key, entry);
      return { ok: true, outcome: 'duplicate', callId, eventId };
    }
    let undo = (): void => undefined;
    if (observation.signed) {
      const claim = this.ledger.claim(siteId, key, observation.signed, eventId);
      if (!claim.ok) {
        if (entry) this.touch(key, entry);
        return { ok: false, reason: 'conflicting_event', problems: [{ field: claim.field, problem: claim.problem }] };
      }
      undo = claim.undo;
    }
    try {
      return await this.merge(key, entry, siteId, site, observation, callId, eventId);
    } catch (err) {
      // Not stored: the provider's retry must find the call as it was.
      undo();
      throw err;
    }
  }

  private async merge(
    key: string,
    entry: Entry | undefined,
    siteId: string,
    site: SiteSettings,
    observation: CallObservation,
    callId: string,
    eventId: string,
  ): Promise<CallReportResult> {
    const merged = mergeObservation(entry?.call, observation);
    const seen = [...(entry?.seen ?? []), eventId].slice(-SEEN_PER_CALL);
    const report = callReport(merged, site);
    if (!report.ok) {
      this.remember(key, { call: merged, published: entry?.published, seen });
      this.logger.info({ event: 'call_report_held', site_id: siteId, call_id: callId, event_id: eventId, reason: report.reason });
      return { ok: true, outcome: 'held', callId, eventId };
    }
    // What downstream sees is the payload: an event that only firms up what was already said publishes nothing.
    const payload = JSON.stringify(report.payload);
    if (entry?.published === payload) {
      this.remember(key, { call: merged, published: payload, seen });
      return { ok: true, outcome: 'duplicate', callId, eventId };
    }
    await this.publish(siteId, report.payload, eventId, report.occurredAtMs);
    this.remember(key, { call: merged, published: payload, seen });
    return { ok: true, outcome: 'published', callId, eventId };
  }

  // Every CallReported of this service is published here: keyed by site and call, so a call's reports stay in order.
  private async publish(siteId: string, payload: CallReportPayload, eventId: string, occurredAtMs: number): Promise<void> {
    const event = createEvent('CallReported', payload, { siteId, producer: SERVICE_NAME, eventId, occurredAtMs });
    await this.bus.producer.publish('calls', callKey(siteId, payload.callId), event);
    countCallReported(payload.provider);
  }

  private touch(key: string, entry: Entry): void {
    this.calls.delete(key);
    this.calls.set(key, entry);
  }

  private remember(key: string, entry: Entry): void {
    this.touch(key, entry);
    // Map keeps insertion order: the first key is the least recently used call.
    while (this.calls.size > this.capacity) this.calls.delete(this.calls.keys().next().value!);
  }

  // One call's events are merged one after another, so two concurrent events cannot lose each other.
  private serialized<T>(key: string, work: () => Promise<T>): Promise<T> {
    const previous = this.queues.get(key) ?? Promise.resolve();
    const next = previous.then(work, work);
    const tail = next.catch(() => undefined);
    this.queues.set(key, tail);
    void tail.then(() => {
      if (this.queues.get(key) === tail) this.queues.delete(key);
    });
    return next;
  }

  /** Calls currently remembered (for tests and diagnostics). */
  size(): number {
    return this.calls.size;
  }
}
