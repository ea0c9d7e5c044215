import { Inject, Injectable, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { createEvent, siteKey, type DomainEvent, type EventInput } from '@calltrack/contracts';
import { KafkaBus, type BatchConsumer, type OutgoingRecord } from '@calltrack/kafka';
import { ReadinessService, LOGGER, CONFIG } from '@calltrack/service-kit';
import { context, type Logger } from '@calltrack/telemetry';
import { SERVICE_NAME, type NumberPoolConfig } from './config.js';
import { PoolState } from './pool-state.js';

/**
 * Owns the pools and their leases. On start it rebuilds its state from the
 * sites and pool-events topics, then answers lease requests from pool-commands
 * and releases expired leases. Every change is published before it is applied,
 * so a restarted instance rebuilds exactly the live leases.
 */
@Injectable()
export class PoolService implements OnApplicationBootstrap, OnModuleDestroy {
  readonly state = new PoolState();
  private commands: BatchConsumer | undefined;
  private sites: BatchConsumer | undefined;
  private sweeper: NodeJS.Timeout | undefined;
  private rebuilt = false;
  // Serialises state changes: decisions in a batch and the expiry sweep must not interleave.
  private lock: Promise<void> = Promise.resolve();
  private pending: OutgoingRecord[] = [];

  constructor(
    private readonly bus: KafkaBus,
    private readonly readiness: ReadinessService,
    @Inject(LOGGER) private readonly logger: Logger,
    @Inject(CONFIG) private readonly config: NumberPoolConfig,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    this.readiness.register('state_rebuilt', () => this.rebuilt);
    const started = Date.now();
    // Sites first, then leases: the lease log refers to the pools the sites define.
    let records = 0;
    for (const topic of ['sites', 'poolEvents'] as const) {
      const replayed = await this.bus.replay([topic], (r) => {
        if (r.event) this.state.apply(r.event as DomainEvent);
      });
      records += replayed.records;
    }
    this.rebuilt = true;
    this.logger.info({ event: 'pool_state_rebuilt', records, liveLeases: this.state.liveLeases().length, ms: Date.now() - started });

    this.sites = this.bus.consumer({
      groupId: `${SERVICE_NAME}.sites`,
      topics: ['sites'],
      fromBeginning: true,
      handle: async (record) => this.exclusive(async () => this.state.apply(record.event as DomainEvent)),
    });
    this.commands = this.bus.consumer({
      groupId: SERVICE_NAME,
      topics: ['poolCommands'],
      fromBeginning: true,
      handle: async (record) => {
        const e = record.event;
        if (e.type === 'LeaseRequested') await this.exclusive(async () => this.decide(e));
        else if (e.type === 'LeaseExtendRequested') await this.exclusive(async () => this.extend(e));
      },
      flush: () => this.exclusive(() => this.publishPending()),
    });
    await Promise.all([this.sites.start(), this.commands.start()]);
    this.sweeper = setInterval(() => void this.sweep(), this.config.EXPIRY_SWEEP_INTERVAL_MS);
  }

  async onModuleDestroy(): Promise<void> {
    if (this.sweeper) clearInterval(this.sweeper);
    await Promise.all([this.commands?.stop(), this.sites?.stop()]);
  }

  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.lock.then(fn);
    this.lock = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  private async decide(command: DomainEvent<'LeaseRequested'>): Promise<void> {
    const decision = this.state.decide(command.siteId, command.payload, Date.now());
    if (decision.kind === 'duplicate') return;
    const meta = { siteId: command.siteId, producer: SERVICE_NAME, causationId: command.eventId, eventId: `${command.eventId}:answer` };
    const event = decision.kind === 'granted' ? createEvent('LeaseGranted', decision.payload, meta) : createEvent('LeaseRejected', decision.payload, meta);
    // Applied now so the next request of the batch sees the number as taken; published in flush, before the commit.
    this.state.apply(event);
    // Published later in flush(): keep this record's trace so the answer continues the session's trace.
    this.pending.push({ topic: 'poolEvents', key: siteKey(command.siteId), event, traceContext: context.active() });
    if (decision.kind === 'rejected') {
      this.logger.warn({ event: 'lease_rejected', site_id: command.siteId, reason: decision.payload.reason });
    }
  }

  private async extend(command: DomainEvent<'LeaseExtendRequested'>): Promise<void> {
    const extension = this.state.decideExtension(command.siteId, command.payload, Date.now());
    if (!extension) return;
    const event = createEvent('LeaseExtended', extension, { siteId: command.siteId, producer: SERVICE_NAME, causationId: command.eventId, eventId: `${command.eventId}:answer` });
    this.state.apply(event);
    this.pending.push({ topic: 'poolEvents', key: siteKey(command.siteId), event, traceContext: context.active() });
  }

  private async publishPending(): Promise<void> {
    if (this.pending.length === 0) return;
    await this.bus.producer.publishMany(this.pending);
    this.pending = [];
  }

  private async sweep(): Promise<void> {
    if (!this.rebuilt) return;
    await this.exclusive(async () => {
      const due = this.state.dueForExpiry(Date.now());
      if (due.length === 0) return;
      const events = due.map((lease) =>
        createEvent(
          'LeaseExpired',
          { leaseId: lease.leaseId, sessionId: lease.sessionId, trackingNumber: lease.trackingNumber, releasedAtMs: lease.expiresAtMs },
          { siteId: lease.siteId, producer: SERVICE_NAME, eventId: `${lease.leaseId}:expired`, occurredAtMs: lease.expiresAtMs },
        ),
      );
      try {
        await this.bus.producer.publishMany(events.map((event) => ({ topic: 'poolEvents' as const, key: siteKey(event.siteId), event })));
        for (const e of events) this.state.apply(e);
      } catch (err) {
        // Nothing applied: the next sweep tries again.
        this.logger.error({ event: 'lease_expiry_publish_failed', count: events.length, err });
      }
    });
  }

  siteStats(siteId: string) {
    return this.state.siteStats(siteId);
  }

  leasesOf(siteId: string) {
    return this.state.liveLeases(siteId);
  }

  async configureSite(siteId: string, config: EventInput<'SiteConfigured'>): Promise<void> {
    const event = createEvent('SiteConfigured', config, { siteId, producer: SERVICE_NAME });
    await this.bus.producer.publish('sites', siteKey(siteId), event);
  }
}
