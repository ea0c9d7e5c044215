import { countCallReported } from '../webhooks/shared/webhook-metrics.js';
import { createHash } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { callKey, createEvent } from '@calltrack/contracts';
import { KafkaBus } from '@calltrack/kafka';
import { CONFIG, LOGGER } from '@calltrack/service-kit';
import type { Logger } from '@calltrack/telemetry';
import { callReport, mergeObservation, type CallObservation, type MergedCall } from './call-merge.js';
import { SERVICE_NAME, type TelephonyIngestConfig } from '../config.js';
import type { SiteSettings } from '../sites/ingest-state.js';
import { SignedCallLedger } from './signed-call-ledger.js';

/**
 * Event id of one provider event: the same event delivered again (a provider's
 * retry) gets the same id, which downstream consumers dedupe on. UUID-shaped
 * (version 8, RFC 9562), like the generic webhook's ids.
 */
export function providerEventId(provider: string, siteId: string, identity: string | Buffer): string {
  const h = createHash('sha256').update(`${provider}\n${siteId}\n`).update(identity).digest();
  h[6] = (h[6]! & 0x0f) | 0x80;
  h[8] = (h[8]! & 0x3f) | 0x80;
  const hex = h.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

/** How long after its start a call's signed facts matter: while a notification of it can pass Zadarma's replay window. */
export const signedCallHorizonMs = (config: Pick<TelephonyIngestConfig, 'ZADARMA_MAX_CALL_SECONDS' | 'WEBHOOK_TOLERANCE_SECONDS'>): number =>
  (config.ZADARMA_MAX_CALL_SECONDS + 2 * config.WEBHOOK_TOLERANCE_SECONDS) * 1000;

/** What became of one provider event. */
export type ReportOutcome =
  /** The call's new state is on the calls topic under this event's id. */
  | { outcome: 'published'; callId: string; eventId: string }
  /** Already seen, or it adds nothing to what was published: nothing changes. */
  | { outcome: 'duplicate'; callId: string; eventId: string }
  /** Kept in memory until another event of the call names the dialled number. */
  | { outcome: 'held'; callId: string; eventId: string }
  /** Refused: it disagrees with what the signatures of the call's earlier events bound it to (SignedCallLedger). */
  | { outcome: 'conflict'; callId: string; eventId: string; field: string; problem: string };

interface Entry {
  call: MergedCall;
  /** The payload last published for the call (JSON), undefined while held. */
  published: string | undefined;
  /** Event ids merged into the call (bounded), so a repeated event changes nothing. */
  seen: string[];
}

const SEEN_PER_CALL = 64;

/**
 * Merges each provider event into what is known of its call and publishes the
 * call's whole new state as a CallReported (the provider's latest view; later
 * sequences win downstream). Recent calls are kept in memory (bounded, least
 * recently used first out) and each call's events are handled one at a time.
 * An event of a call this instance has forgotten is reported from what it
 * says alone, which every adapter makes a complete report where the provider
 * allows.
 */
@Injectable()
export class CallReportPublisher {
  private readonly calls = new Map<string, Entry>();
  private readonly queues = new Map<string, Promise<unknown>>();
  /** Signed facts of recent calls (Zadarma), also fed from the calls topic by SignedCallFeed. */
  readonly ledger: SignedCallLedger;
  private readonly capacity: number;

  constructor(
    private readonly bus: KafkaBus,
    @Inject(CONFIG) config: TelephonyIngestConfig,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {
    this.capacity = config.CALL_MERGE_CACHE_SIZE;
    this.ledger = new SignedCallLedger(signedCallHorizonMs(config), config.CALL_MERGE_CACHE_SIZE);
  }

  /** Merges and publishes; throws when Kafka did not acknowledge (nothing is remembered then). */
  report(siteId: string, site: SiteSettings, observation: CallObservation, eventId: string): Promise<ReportOutcome> {
    const callId = `${observation.provider}:${observation.providerCallId}`;
    const key = callKey(siteId, callId);
    return this.serialized(key, () => this.apply(key, siteId, site, observation, callId, eventId));
  }

  private async apply(key: string, siteId: string, site: SiteSettings, observation: CallObservation, callId: string, eventId: string): Promise<ReportOutcome> {
    const entry = this.calls.get(key);
    if (entry?.seen.includes(eventId)) {
      this.touch(key, entry);
      return { outcome: 'duplicate', callId, eventId };
    }
    let undo = (): void => undefined;
    if (observation.signed) {
      const claim = this.ledger.claim(siteId, key, observation.signed, eventId);
      if (!claim.ok) {
        if (entry) this.touch(key, entry);
        return { outcome: 'conflict', callId, eventId, field: claim.field, problem: claim.problem };
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
  ): Promise<ReportOutcome> {
    const merged = mergeObservation(entry?.call, observation);
    const seen = [...(entry?.seen ?? []), eventId].slice(-SEEN_PER_CALL);
    const report = callReport(merged, site);
    if (!report.ok) {
      this.remember(key, { call: merged, published: entry?.published, seen });
      this.logger.info({ event: 'call_report_held', site_id: siteId, call_id: callId, event_id: eventId, reason: report.reason });
      return { outcome: 'held', callId, eventId };
    }
    // What downstream sees is the payload: an event that only firms up what was already said publishes nothing.
    const payload = JSON.stringify(report.payload);
    if (entry?.published === payload) {
      this.remember(key, { call: merged, published: payload, seen });
      return { outcome: 'duplicate', callId, eventId };
    }
    const event = createEvent('CallReported', report.payload, { siteId, producer: SERVICE_NAME, eventId, occurredAtMs: report.occurredAtMs });
    await this.bus.producer.publish('calls', key, event);
    countCallReported(observation.provider);
    this.remember(key, { call: merged, published: payload, seen });
    return { outcome: 'published', callId, eventId };
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
