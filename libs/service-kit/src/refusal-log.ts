import type { Logger } from '@calltrack/telemetry';

const MINUTE_MS = 60_000;
/** Distinct (scope, site, reason) keys kept; beyond this the quietest are dropped from the sampling state (counts stay). */
const MAX_SAMPLING_KEYS = 10_000;
/** Distinct (scope, site, reason) counters kept; made-up site ids cannot grow memory without bound. */
const MAX_COUNTERS = 50_000;

interface Sampling {
  /** The minute (ms since epoch / 60 000) of the last line written for this key. */
  minute: number;
  /** Refusals since the last line, not written on their own. */
  unlogged: number;
}

/**
 * Refused requests (401/403/429/400…) are counted, and logged sampled: at most one
 * warning line per scope, site, reason and minute, carrying how many refusals of
 * that key were not logged since its previous line. A flood of forged or
 * throttled requests therefore writes a handful of lines a minute, never one each.
 */
export class RefusalLog {
  private readonly counts = new Map<string, number>();
  private readonly sampling = new Map<string, Sampling>();

  constructor(private readonly logger: Logger) {}

  /**
   * Counts one refusal; logs it when it is the first of its key in this minute.
   * `fields` go on the line (event name, client address…); `event` defaults to `request_refused`.
   */
  refused(scope: string, siteId: string | undefined, reason: string, fields: Record<string, unknown> = {}, nowMs: number = Date.now()): void {
    const site = siteId ?? '-';
    const key = `${scope}\u0000${site}\u0000${reason}`;
    if (this.counts.size >= MAX_COUNTERS && !this.counts.has(key)) this.counts.delete(this.counts.keys().next().value as string);
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
    const minute = Math.floor(nowMs / MINUTE_MS);
    const s = this.sampling.get(key);
    if (s && s.minute === minute) {
      s.unlogged += 1;
      return;
    }
    const unlogged = s?.unlogged ?? 0;
    if (!s && this.sampling.size >= MAX_SAMPLING_KEYS) this.forgetOldMinutes(minute);
    this.sampling.set(key, { minute, unlogged: 0 });
    this.logger.warn(
      { event: 'request_refused', ...fields, scope, site_id: site, reason, total: this.counts.get(key), not_logged_since_last_line: unlogged },
      'sampled: at most one line per site, reason and minute',
    );
  }

  /** Refusals counted for a site in a scope, by reason (since this instance started). */
  of(scope: string, siteId: string | undefined): Record<string, number> {
    const prefix = `${scope}\u0000${siteId ?? '-'}\u0000`;
    const out: Record<string, number> = {};
    for (const [key, n] of this.counts) if (key.startsWith(prefix)) out[key.slice(prefix.length)] = n;
    return out;
  }

  private forgetOldMinutes(minute: number): void {
    for (const [key, s] of this.sampling) if (s.minute < minute) this.sampling.delete(key);
    // Every key was refused this minute: drop the oldest so the map stays bounded (their next line comes early, never late).
    while (this.sampling.size >= MAX_SAMPLING_KEYS) this.sampling.delete(this.sampling.keys().next().value as string);
  }
}
