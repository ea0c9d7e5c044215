import { Inject, Injectable, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { calltrack, callKey, createEvent, derivedEventId, phoneKey, verdictLabel, visitorKey, type AnyDomainEvent } from '@calltrack/contracts';
import { KafkaBus, type BatchConsumer, type CompactedTopicFollower, type OutgoingRecord } from '@calltrack/kafka';
import { LOGGER, ReadinessService } from '@calltrack/service-kit';
import { context, counter, type Counter, type Logger } from '@calltrack/telemetry';
import { BlocklistState, type BlockEntry } from './blocklist-state.js';
import { SERVICE_NAME } from './config.js';
import { callVerdict, sessionVerdict } from './verdicts.js';

const { Verdict } = calltrack.events.v1;

export interface SiteCounters {
  callsScreened: number;
  spamCalls: number;
  sessionsScreened: number;
  botSessions: number;
}

/**
 * Screens every reported call against the site's caller blocklist and every
 * session for bots, and keeps the blocklist (rebuilt from its topic at start).
 * Every call passes through to screened-calls, clean or spam: attribution reads
 * calls only from there, so none may be dropped here.
 */
@Injectable()
export class ScreeningService implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly blocklist = new BlocklistState();
  // Other instances' blocks must reach this one too: the blocklist topic is replayed, then followed.
  private readonly blocklistLog: CompactedTopicFollower;
  // Counted since this process started, per instance (a redelivered record counts again); the durable record is the verdict events.
  private readonly counters = new Map<string, SiteCounters>();
  private readonly consumers: BatchConsumer[] = [];
  // One outbox per consumer: a flush must publish exactly what its own batch produced before that batch commits.
  private readonly outbox = { calls: [] as OutgoingRecord[], sessions: [] as OutgoingRecord[] };

  constructor(
    private readonly bus: KafkaBus,
    private readonly readiness: ReadinessService,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {
    this.blocklistLog = bus.replayThenFollow({
      name: 'blocklist',
      topics: ['antifraudBlocklist'],
      apply: (r) => this.blocklist.applyFromLog(r.event),
    });
  }

  async onApplicationBootstrap(): Promise<void> {
    this.readiness.register('blocklist_rebuilt', () => this.blocklistLog.isReady());
    // Site countries come from SiteDirectory (its own replay of `sites`); blocks are stored already normalised.
    const { records } = await this.blocklistLog.start();
    this.logger.info({ event: 'blocklist_rebuilt', records });
    const flush = (box: keyof typeof this.outbox) => async () => {
      if (this.outbox[box].length === 0) return;
      // On failure the records stay: the consumer retries the flush and commits nothing until it succeeds.
      // The consumer heartbeats while the publish runs (bounded by maxBlockedMs); a publish has its own deadline.
      await this.bus.producer.publishMany(this.outbox[box]);
      this.outbox[box] = [];
    };
    this.consumers.push(
      this.bus.consumer({
        groupId: `${SERVICE_NAME}.calls`,
        topics: ['calls'],
        fromBeginning: true,
        handle: async (r) => this.screenCall(r.event),
        flush: flush('calls'),
      }),
      this.bus.consumer({
        groupId: `${SERVICE_NAME}.sessions`,
        topics: ['sessions'],
        fromBeginning: true,
        handle: async (r) => this.screenSession(r.event),
        flush: flush('sessions'),
      }),
    );
    await Promise.all(this.consumers.map((c) => c.start()));
  }

  async onModuleDestroy(): Promise<void> {
    await Promise.all([this.blocklistLog.stop(), ...this.consumers.map((c) => c.stop())]);
  }

  private count(siteId: string): SiteCounters {
    let c = this.counters.get(siteId);
    if (!c) {
      c = { callsScreened: 0, spamCalls: 0, sessionsScreened: 0, botSessions: 0 };
      this.counters.set(siteId, c);
    }
    return c;
  }

  private async screenCall(event: AnyDomainEvent): Promise<void> {
    if (event.type !== 'CallReported') return;
    const call = event.payload;
    const { verdict, reason } = callVerdict(this.blocklist.lookup(event.siteId, call.callerNumber));
    const screened = createEvent(
      'CallScreened',
      { call, verdict, reason },
      {
        siteId: event.siteId,
        producer: SERVICE_NAME,
        eventId: derivedEventId(event.eventId, 'screened'),
        causationId: event.eventId,
        occurredAtMs: event.occurredAtMs,
      },
    );
    this.outbox.calls.push({ topic: 'screenedCalls', key: callKey(event.siteId, call.callId), event: screened, traceContext: context.active() });
    const c = this.count(event.siteId);
    c.callsScreened += 1;
    if (verdict === Verdict.VERDICT_SPAM) c.spamCalls += 1;
    countVerdict('call', verdict);
  }

  private async screenSession(event: AnyDomainEvent): Promise<void> {
    if (event.type !== 'SessionStarted') return;
    const s = event.payload;
    const { verdict, reason } = sessionVerdict(s.userAgent);
    const screened = createEvent(
      'SessionScreened',
      { sessionId: s.sessionId, visitorId: s.visitorId, verdict, reason },
      {
        siteId: event.siteId,
        producer: SERVICE_NAME,
        eventId: derivedEventId(event.eventId, 'screened'),
        causationId: event.eventId,
        occurredAtMs: event.occurredAtMs,
      },
    );
    this.outbox.sessions.push({ topic: 'antifraudVerdicts', key: visitorKey(event.siteId, s.visitorId), event: screened, traceContext: context.active() });
    const c = this.count(event.siteId);
    c.sessionsScreened += 1;
    if (verdict === Verdict.VERDICT_BOT) c.botSessions += 1;
    countVerdict('session', verdict);
  }

  /** Publishes a block and applies it once acknowledged, so a call screened right after sees it. */
  async block(siteId: string, phone: string, reason: string): Promise<BlockEntry> {
    const event = createEvent('CallerBlocked', { phone, reason }, { siteId, producer: SERVICE_NAME });
    await this.bus.producer.publish('antifraudBlocklist', phoneKey(siteId, phone), event);
    this.blocklist.applyAcknowledged(event);
    return { phone, reason, blockedAtMs: event.occurredAtMs };
  }

  async unblock(siteId: string, phone: string): Promise<void> {
    const event = createEvent('CallerUnblocked', { phone }, { siteId, producer: SERVICE_NAME });
    await this.bus.producer.publish('antifraudBlocklist', phoneKey(siteId, phone), event);
    this.blocklist.applyAcknowledged(event);
  }

  blocked(siteId: string, phone: string): BlockEntry | undefined {
    return this.blocklist.lookup(siteId, phone);
  }

  entries(siteId: string): BlockEntry[] {
    return this.blocklist.entries(siteId);
  }

  counts(siteId: string): SiteCounters {
    return { callsScreened: 0, spamCalls: 0, sessionsScreened: 0, botSessions: 0, ...this.counters.get(siteId) };
  }
}

// Defined at load: a scrape lists it from the start.
const verdicts: Counter<'subject' | 'verdict'> = counter({
  name: 'calltrack_antifraud_verdicts_total',
  help: 'Calls and sessions screened, by subject (call, session) and verdict (clean, spam, bot).',
  labelNames: ['subject', 'verdict'] as const,
});

/** calltrack_antifraud_verdicts_total{subject,verdict}: counted when decided (a redelivered record counts again). */
function countVerdict(subject: 'call' | 'session', verdict: calltrack.events.v1.Verdict): void {
  verdicts.inc({ subject, verdict: verdictLabel(verdict) });
}
