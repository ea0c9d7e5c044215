import { Inject, Injectable, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { calltrack, callKey, createEvent, derivedEventId, type AnyDomainEvent, type DomainEvent, type EventName, type EventInput } from '@calltrack/contracts';
import { KafkaBus, NonRetriableError, type BatchConsumer, type ConsumedRecord } from '@calltrack/kafka';
import { CONFIG, LOGGER, ReadinessService } from '@calltrack/service-kit';
import type { Logger } from '@calltrack/telemetry';
import { roundTimeoutMs, SERVICE_NAME, type ConversionExportConfig } from './config.js';
import { conversionPayload, idempotencyKey, safeDestination } from './conversion-payload.js';
import { DeliveryState } from './delivery-state.js';
import { countExport, observeDelivery } from './export-metrics.js';
import { deliver, DeliveryFailedError } from './webhook-delivery.js';

const { Verdict, CallDirection } = calltrack.events.v1;

/**
 * Delivers each final, non-spam attributed call to the configured endpoint
 * once in effect: what was delivered is rebuilt from export-deliveries, a
 * delivery is recorded there before its offset is committed, and the receiver
 * dedupes the rare resend (a crash between the POST and the record) by
 * Idempotency-Key.
 *
 * No conversion holds its partition for long: a round of attempts ends within
 * a fraction of the session timeout (heartbeating while it waits), then the
 * record is parked on the retry tier; a refused one goes to the dead letters.
 */
@Injectable()
export class ExportService implements OnApplicationBootstrap, OnModuleDestroy {
  readonly state = new DeliveryState();
  private consumer: BatchConsumer | undefined;
  private rebuilt = false;
  /** Group joins of the main consumer (each one is a rebalance this member went through). */
  groupJoins = 0;
  /**
   * Set when a round ran out of attempts, cleared by the next delivery: while the endpoint is
   * down each conversion gets one attempt, so the partition moves on at request speed.
   */
  private endpointFailing = false;
  /** Deliveries in progress by call: the main and retry-tier consumers never deliver one call at once. */
  private readonly inFlight = new Map<string, Promise<void>>();

  constructor(
    private readonly bus: KafkaBus,
    private readonly readiness: ReadinessService,
    @Inject(LOGGER) private readonly logger: Logger,
    @Inject(CONFIG) private readonly config: ConversionExportConfig,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    this.readiness.register('deliveries_rebuilt', () => this.rebuilt);
    // Not replayThenFollow: a one-shot read of this service's own delivery ledger (a log, not compacted); its own writes keep it current.
    const { records } = await this.bus.replay(['exportDeliveries'], (r) => {
      if (r.event) this.state.apply(r.event);
    });
    this.rebuilt = true;
    this.logger.info({ event: 'deliveries_rebuilt', records });
    this.consumer = this.bus.consumer({
      groupId: SERVICE_NAME,
      topics: ['attributedCalls'],
      fromBeginning: true,
      // Delivery retries happen inside handle(); when they run out the record is parked on
      // the retry tier (attributed-calls.retry) and tried again later, then dead-lettered.
      maxRetries: 0,
      retryTopic: true,
      ...(this.config.EXPORT_RETRY_DELAYS_MS ? { retryDelaysMs: this.config.EXPORT_RETRY_DELAYS_MS } : {}),
      onAssignment: (partitions) => {
        this.groupJoins += 1;
        this.logger.info({ event: 'export_partitions_assigned', joins: this.groupJoins, partitions: [...(partitions.get('attributedCalls') ?? [])] });
      },
      handle: async (record) => this.handleOnce(record),
    });
    await this.consumer.start();
  }

  async onModuleDestroy(): Promise<void> {
    await this.consumer?.stop();
  }

  /** Records an outcome; `suffix` makes its id deterministic (outcomes that happen once per source event). */
  private async record<N extends EventName>(type: N, payload: EventInput<N>, source: DomainEvent, suffix?: string): Promise<void> {
    const callId = (source.payload as calltrack.events.v1.CallAttributed).call?.callId ?? '';
    const event = createEvent(type, payload, {
      siteId: source.siteId,
      producer: SERVICE_NAME,
      causationId: source.eventId,
      ...(suffix ? { eventId: derivedEventId(source.eventId, suffix) } : {}),
    });
    await this.bus.producer.publish('exportDeliveries', callKey(source.siteId, callId), event);
    this.state.apply(event as AnyDomainEvent);
  }

  /** Tells the group this member is alive; a refused heartbeat (a rebalance) is left to the batch's own. */
  private heartbeat(record: ConsumedRecord): () => Promise<void> {
    return async () => {
      try {
        await record.heartbeat();
      } catch (err) {
        this.logger.warn({ event: 'export_heartbeat_failed', partition: record.partition, offset: record.offset, err: (err as Error).message });
      }
    };
  }

  private async handleOnce(record: ConsumedRecord): Promise<void> {
    const event = record.event;
    const callId = event.type === 'CallAttributed' ? event.payload.call?.callId : undefined;
    if (!callId) return;
    const key = callKey(event.siteId, callId);
    // Wait for a delivery of the same call in progress (a parked copy and a redone batch), then
    // handle(): it sees that call as done and does not send it again.
    for (let running = this.inFlight.get(key); running; running = this.inFlight.get(key)) await running.catch(() => undefined);
    const done = this.handle(event, this.heartbeat(record));
    this.inFlight.set(key, done);
    try {
      await done;
    } finally {
      if (this.inFlight.get(key) === done) this.inFlight.delete(key);
    }
  }

  private async handle(event: AnyDomainEvent, heartbeat: () => Promise<void>): Promise<void> {
    if (event.type !== 'CallAttributed') return;
    const a = event.payload;
    const callId = a.call?.callId;
    // Only a call in its final state is a conversion; earlier updates of it are not.
    if (!a.final || !callId) return;
    if (this.state.isDone(event.siteId, callId)) return;
    const base = { callId, sourceEventId: event.eventId };
    if (a.verdict === Verdict.VERDICT_SPAM || a.verdict === Verdict.VERDICT_BOT) {
      await this.record('ConversionSkipped', { ...base, reason: 'spam' }, event, 'skipped');
      countExport(this.config.EXPORT_WEBHOOK_URL ? 'webhook' : 'none', 'skipped');
      return;
    }
    // A call the business made (a call-back) is not a conversion of any ad.
    if (a.call?.direction === CallDirection.CALL_DIRECTION_OUTBOUND) {
      await this.record('ConversionSkipped', { ...base, reason: 'outbound' }, event, 'skipped');
      countExport(this.config.EXPORT_WEBHOOK_URL ? 'webhook' : 'none', 'skipped');
      return;
    }
    const url = this.config.EXPORT_WEBHOOK_URL;
    if (!url) {
      await this.record('ConversionSkipped', { ...base, reason: 'no_destination' }, event, 'skipped');
      countExport('none', 'skipped');
      return;
    }
    const destination = safeDestination(url);
    // Records of a batch are handled one after another: each one starts with a heartbeat.
    await heartbeat();
    const started = process.hrtime.bigint();
    try {
      const result = await deliver(
        url,
        JSON.stringify(conversionPayload(event)),
        idempotencyKey(event.siteId, callId),
        {
          maxAttempts: this.endpointFailing ? 1 : this.config.EXPORT_MAX_ATTEMPTS,
          initialBackoffMs: this.config.EXPORT_INITIAL_BACKOFF_MS,
          timeoutMs: this.config.EXPORT_TIMEOUT_MS,
          roundTimeoutMs: roundTimeoutMs(this.config),
          secret: this.config.EXPORT_WEBHOOK_SECRET,
        },
        heartbeat,
      );
      this.endpointFailing = false;
      await this.record('ConversionDelivered', { ...base, destination, attempts: result.attempts, httpStatus: result.httpStatus }, event, 'delivered');
      countExport('webhook', 'delivered');
      observeDelivery('webhook', Number(process.hrtime.bigint() - started) / 1e9);
      this.logger.info({ event: 'conversion_delivered', site_id: event.siteId, call_id: callId, attempts: result.attempts });
    } catch (err) {
      if (!(err instanceof DeliveryFailedError)) throw err;
      if (err.retryable) this.endpointFailing = true;
      // Each failed round is its own occurrence (a fresh event id); the last one stays in the state.
      await this.record('ConversionFailed', { ...base, destination, attempts: err.attempts, reason: err.message }, event);
      countExport('webhook', err.retryable ? 'failed' : 'dead_lettered');
      const message = `delivery to ${destination} failed after ${err.attempts} attempts: ${err.message}`;
      // A refused conversion goes to the dead letters at once; an unreachable endpoint is tried again later.
      throw err.retryable ? new Error(message) : new NonRetriableError(message);
    }
  }
}
