import type { AnyDomainEvent } from '@calltrack/contracts';

export type DeliveryStatus = 'delivered' | 'skipped' | 'failed';

export interface DeliveryRecord {
  status: DeliveryStatus;
  attempts: number;
  httpStatus?: number;
  reason?: string;
  sourceEventId: string;
}

/**
 * What conversion-export already did for each call, rebuilt from its
 * export-deliveries log. A delivered or skipped call is done for good; a failed
 * one may be delivered later (a replayed record, an operator's re-drive).
 */
export class DeliveryState {
  private readonly calls = new Map<string, DeliveryRecord>();

  private static key(siteId: string, callId: string): string {
    return `${siteId}\u0000${callId}`;
  }

  apply(event: AnyDomainEvent): void {
    const set = (callId: string, record: DeliveryRecord) => {
      const key = DeliveryState.key(event.siteId, callId);
      // Done is final: a late failure report must not reopen a delivered call.
      if (this.isDone(event.siteId, callId) && record.status === 'failed') return;
      this.calls.set(key, record);
    };
    switch (event.type) {
      case 'ConversionDelivered':
        set(event.payload.callId, {
          status: 'delivered',
          attempts: event.payload.attempts,
          httpStatus: event.payload.httpStatus,
          sourceEventId: event.payload.sourceEventId,
        });
        break;
      case 'ConversionSkipped':
        set(event.payload.callId, { status: 'skipped', attempts: 0, reason: event.payload.reason, sourceEventId: event.payload.sourceEventId });
        break;
      case 'ConversionFailed':
        set(event.payload.callId, {
          status: 'failed',
          attempts: event.payload.attempts,
          reason: event.payload.reason,
          sourceEventId: event.payload.sourceEventId,
        });
        break;
      default:
        break;
    }
  }

  get(siteId: string, callId: string): DeliveryRecord | undefined {
    return this.calls.get(DeliveryState.key(siteId, callId));
  }

  isDone(siteId: string, callId: string): boolean {
    const s = this.get(siteId, callId)?.status;
    return s === 'delivered' || s === 'skipped';
  }

  countsFor(siteId: string): Record<DeliveryStatus, number> {
    const counts: Record<DeliveryStatus, number> = { delivered: 0, skipped: 0, failed: 0 };
    const prefix = `${siteId}\u0000`;
    for (const [key, r] of this.calls) if (key.startsWith(prefix)) counts[r.status] += 1;
    return counts;
  }
}
