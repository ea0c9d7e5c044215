import type { AnyDomainEvent } from '@calltrack/contracts';

/**
 * Replays number-pool's event log and checks the pool invariants: a number is
 * never granted while another live lease holds it (unless the reuse policy
 * explicitly took it over), and no lease request is answered twice. Used by the
 * semantics tests and the benchmark.
 */
export class LeaseLedger {
  /** site → number → live lease id */
  private readonly live = new Map<string, Map<string, string>>();
  /** request → event id of its answer */
  private readonly answered = new Map<string, string>();
  grants = 0;
  /** Answers read again with the same event id: a publish retried after an unacknowledged send (at-least-once), not a second answer. */
  redelivered = 0;
  rejections = 0;
  readonly violations: string[] = [];

  apply(event: AnyDomainEvent | undefined): void {
    if (!event) return;
    if (event.type === 'LeaseGranted' || event.type === 'LeaseRejected') {
      const key = `${event.siteId}/${event.payload.requestId}`;
      const first = this.answered.get(key);
      if (first !== undefined && first === event.eventId) {
        this.redelivered += 1;
        return;
      }
      if (first !== undefined) this.violations.push(`request ${key} answered twice`);
      this.answered.set(key, event.eventId);
    }
    if (event.type === 'LeaseRejected') this.rejections += 1;
    if (event.type === 'LeaseGranted') {
      this.grants += 1;
      const p = event.payload;
      if (!p.trackingNumber) return;
      const numbers = this.live.get(event.siteId) ?? new Map<string, string>();
      this.live.set(event.siteId, numbers);
      const holder = numbers.get(p.trackingNumber);
      if (holder !== undefined && holder !== p.reusedLeaseId) {
        this.violations.push(`${event.siteId}: ${p.trackingNumber} granted to lease ${p.leaseId} while lease ${holder} held it`);
      }
      numbers.set(p.trackingNumber, p.leaseId);
    } else if (event.type === 'LeaseExpired') {
      const numbers = this.live.get(event.siteId);
      if (numbers?.get(event.payload.trackingNumber) === event.payload.leaseId) numbers.delete(event.payload.trackingNumber);
    }
  }

  liveLeases(siteId: string): number {
    return this.live.get(siteId)?.size ?? 0;
  }
}
