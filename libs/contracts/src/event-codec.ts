import { calltrack } from '@calltrack/proto';
import protobuf from 'protobufjs/minimal.js';
import { v7 as uuidv7 } from 'uuid';

// int64 fields are epoch milliseconds, well inside 2^53: read and build them as
// plain numbers, not Long objects (pbjs's --force-number is not honoured by
// protobufjs 8's static code when the "long" package is present).
protobuf.util.Long = undefined as never;
protobuf.configure();

const ev = calltrack.events.v1;

// Payload types that may travel in an envelope, by short name. The envelope's
// event_type carries the fully qualified name ("calltrack.events.v1.<Name>").
export const EVENT_TYPES = {
  SiteConfigured: ev.SiteConfigured,
  SessionStarted: ev.SessionStarted,
  LeaseRequested: ev.LeaseRequested,
  LeaseGranted: ev.LeaseGranted,
  LeaseRejected: ev.LeaseRejected,
  LeaseExpired: ev.LeaseExpired,
  LeaseExtendRequested: ev.LeaseExtendRequested,
  LeaseReleaseRequested: ev.LeaseReleaseRequested,
  LeaseExtended: ev.LeaseExtended,
  SessionEnded: ev.SessionEnded,
  NumberCallReported: ev.NumberCallReported,
  NumberCallObserved: ev.NumberCallObserved,
  NumberQuarantineEnded: ev.NumberQuarantineEnded,
  PromoCodeRedeemed: ev.PromoCodeRedeemed,
  PoolWriterClaimed: ev.PoolWriterClaimed,
  PoolSnapshotChunk: ev.PoolSnapshotChunk,
  CallReported: ev.CallReported,
  CallScreened: ev.CallScreened,
  CallerBlocked: ev.CallerBlocked,
  CallerUnblocked: ev.CallerUnblocked,
  SessionScreened: ev.SessionScreened,
  CallAttributed: ev.CallAttributed,
  ConversionDelivered: ev.ConversionDelivered,
  ConversionFailed: ev.ConversionFailed,
  ConversionSkipped: ev.ConversionSkipped,
  WebhookSecretSet: ev.WebhookSecretSet,
  AttributionSettingsChanged: ev.AttributionSettingsChanged,
  CallTagAdded: ev.CallTagAdded,
  CallTagRemoved: ev.CallTagRemoved,
  CallCommentAdded: ev.CallCommentAdded,
  EnquiryReceived: ev.EnquiryReceived,
  AdCostsImported: ev.AdCostsImported,
  ConversionRevenueRecorded: ev.ConversionRevenueRecorded,
} as const;

export type EventName = keyof typeof EVENT_TYPES;
export type EventPayload<N extends EventName> = InstanceType<(typeof EVENT_TYPES)[N]>;
export type EventInput<N extends EventName> = ConstructorParameters<(typeof EVENT_TYPES)[N]>[0] & {};

/**
 * Schema version of each payload; bump when a consumer must tell versions apart. A reader
 * accepts every version up to the one here and refuses later ones (dead letter), so deploy
 * the readers of a topic before its writers. History: docs/topics.md#schema-versions.
 */
export const SCHEMA_VERSIONS: Readonly<Record<EventName, number>> = {
  SiteConfigured: 1,
  // 2: the origin moved into `origin` (VisitOrigin); version 1 records carry the flat fields.
  SessionStarted: 2,
  LeaseRequested: 1,
  LeaseGranted: 1,
  LeaseRejected: 1,
  LeaseExpired: 1,
  LeaseExtendRequested: 1,
  LeaseReleaseRequested: 1,
  LeaseExtended: 1,
  SessionEnded: 1,
  NumberCallReported: 1,
  NumberCallObserved: 1,
  NumberQuarantineEnded: 1,
  PromoCodeRedeemed: 1,
  PoolWriterClaimed: 1,
  PoolSnapshotChunk: 1,
  CallReported: 1,
  CallScreened: 1,
  CallerBlocked: 1,
  CallerUnblocked: 1,
  SessionScreened: 1,
  // 2: as SessionStarted.
  CallAttributed: 2,
  ConversionDelivered: 1,
  ConversionFailed: 1,
  ConversionSkipped: 1,
  WebhookSecretSet: 1,
  AttributionSettingsChanged: 1,
  CallTagAdded: 1,
  CallTagRemoved: 1,
  CallCommentAdded: 1,
  EnquiryReceived: 1,
  AdCostsImported: 1,
  ConversionRevenueRecorded: 1,
};

const PACKAGE = 'calltrack.events.v1.';

/** A decoded event: envelope metadata plus the typed payload. */
export interface DomainEvent<N extends EventName = EventName> {
  eventId: string;
  type: N;
  schemaVersion: number;
  siteId: string;
  occurredAtMs: number;
  producer: string;
  causationId: string;
  /** A partition writer's fencing token (see EventEnvelope.writer_epoch); 0 when the event is not fenced. */
  writerEpoch?: number;
  payload: EventPayload<N>;
}

export type AnyDomainEvent = { [N in EventName]: DomainEvent<N> }[EventName];

export interface NewEventMeta {
  siteId: string;
  producer: string;
  occurredAtMs?: number;
  /** Set to derive a deterministic id (replays publish the same id); default is a fresh UUIDv7. */
  eventId?: string;
  causationId?: string;
  /** The partition writer's epoch (number-pool's pool events); omitted for events no single writer owns. */
  writerEpoch?: number;
}

/** Thrown when bytes are not a valid envelope or payload; consumers dead-letter such records. */
export class EventDecodeError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'EventDecodeError';
  }
}

export function newEventId(): string {
  return uuidv7();
}

/** Builds an event in memory (validated against the payload schema). */
export function createEvent<N extends EventName>(type: N, payload: EventInput<N>, meta: NewEventMeta): DomainEvent<N> {
  const Type = EVENT_TYPES[type] as unknown as { verify(m: object): string | null; fromObject(o: object): EventPayload<N> };
  const invalid = Type.verify(payload);
  if (invalid) throw new TypeError(`invalid ${type} payload: ${invalid}`);
  if (!meta.siteId) throw new TypeError(`${type} event needs a site id`);
  return {
    eventId: meta.eventId ?? newEventId(),
    type,
    schemaVersion: SCHEMA_VERSIONS[type],
    siteId: meta.siteId,
    occurredAtMs: meta.occurredAtMs ?? Date.now(),
    producer: meta.producer,
    causationId: meta.causationId ?? '',
    ...(meta.writerEpoch ? { writerEpoch: meta.writerEpoch } : {}),
    payload: Type.fromObject(payload),
  };
}

export function encodeEvent(event: DomainEvent): Buffer {
  const Type = EVENT_TYPES[event.type] as unknown as { encode(m: object): { finish(): Uint8Array } };
  const payload = Type.encode(event.payload).finish();
  const bytes = ev.EventEnvelope.encode({
    eventId: event.eventId,
    eventType: PACKAGE + event.type,
    schemaVersion: event.schemaVersion,
    siteId: event.siteId,
    occurredAtMs: event.occurredAtMs,
    producer: event.producer,
    causationId: event.causationId,
    writerEpoch: event.writerEpoch ?? 0,
    payload,
  }).finish();
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

export function decodeEvent(bytes: Uint8Array | null | undefined): AnyDomainEvent {
  if (!bytes || bytes.length === 0) throw new EventDecodeError('empty record value');
  let envelope: InstanceType<typeof ev.EventEnvelope>;
  try {
    envelope = ev.EventEnvelope.decode(bytes);
  } catch (err) {
    throw new EventDecodeError(`undecodable envelope: ${(err as Error).message}`, { cause: err });
  }
  if (!envelope.eventId) throw new EventDecodeError('envelope without event_id');
  if (!envelope.siteId) throw new EventDecodeError('envelope without site_id');
  if (!envelope.eventType.startsWith(PACKAGE)) throw new EventDecodeError(`unknown event type "${envelope.eventType}"`);
  const type = envelope.eventType.slice(PACKAGE.length);
  if (!(type in EVENT_TYPES)) throw new EventDecodeError(`unknown event type "${envelope.eventType}"`);
  if (envelope.schemaVersion < 1 || envelope.schemaVersion > SCHEMA_VERSIONS[type as EventName]) {
    throw new EventDecodeError(`unsupported schema version ${envelope.schemaVersion} of ${envelope.eventType}`);
  }
  const Type = EVENT_TYPES[type as EventName] as unknown as { decode(b: Uint8Array): object };
  let payload: object;
  try {
    payload = Type.decode(envelope.payload);
  } catch (err) {
    throw new EventDecodeError(`undecodable ${type} payload: ${(err as Error).message}`, { cause: err });
  }
  return {
    eventId: envelope.eventId,
    type: type as EventName,
    schemaVersion: envelope.schemaVersion,
    siteId: envelope.siteId,
    occurredAtMs: Number(envelope.occurredAtMs),
    producer: envelope.producer,
    causationId: envelope.causationId,
    ...(Number(envelope.writerEpoch) > 0 ? { writerEpoch: Number(envelope.writerEpoch) } : {}),
    payload,
  } as AnyDomainEvent;
}

/** Narrows a decoded event to one type. */
export function isEvent<N extends EventName>(event: AnyDomainEvent, type: N): event is DomainEvent<N> & AnyDomainEvent {
  return event.type === type;
}
