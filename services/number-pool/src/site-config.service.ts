import { Injectable } from '@nestjs/common';
import type { calltrack, EventInput } from '@calltrack/contracts';
import { toE164 } from '@calltrack/phone';
import { ApiError } from '@calltrack/service-kit';
import { PoolService } from './pool.service.js';
import { inventoryOf, SiteConfigError, type NumberOwners } from './site-config.js';

type SiteConfigured = calltrack.events.v1.ISiteConfigured;

const READ_YOUR_WRITES_MS = 5000;

/**
 * Applies admin changes to a site's configuration: the current configuration is
 * what this instance has read from the sites topic; a change is published as the
 * next revision, and the answer waits until this instance has read it back, so a
 * GET right after a write sees it. Changes to one site are serialised per
 * instance; `If-Match: "<revision>"` refuses a change based on a stale read.
 */
@Injectable()
export class SiteConfigService {
  private readonly locks = new Map<string, Promise<unknown>>();

  constructor(private readonly pools: PoolService) {}

  current(siteId: string): SiteConfigured | undefined {
    return this.pools.siteConfig(siteId);
  }

  /** The current configuration, or 404. */
  require(siteId: string): SiteConfigured {
    const config = this.current(siteId);
    if (!config) throw new ApiError(404, 'unknown_site', `site ${siteId} is not configured`);
    return config;
  }

  /** Sites whose inventory holds the number, and its status there. */
  readonly owners: NumberOwners = (number) => {
    const out: Array<{ siteId: string; status: string }> = [];
    for (const siteId of this.pools.view.siteIds()) {
      const config = this.pools.siteConfig(siteId);
      const entry = config ? inventoryOf(config).find((n) => n.number === number) : undefined;
      if (entry) out.push({ siteId, status: entry.status || 'active' });
    }
    return out;
  };

  /** Runs one change: If-Match check, compute, publish, read back. */
  async change(
    siteId: string,
    ifMatch: string | undefined,
    compute: (previous: SiteConfigured | undefined) => EventInput<'SiteConfigured'>,
  ): Promise<SiteConfigured> {
    const run = (this.locks.get(siteId) ?? Promise.resolve()).then(async () => {
      const previous = this.current(siteId);
      if (ifMatch !== undefined && ifMatch !== '*' && ifMatch !== etagOf(previous)) {
        throw new ApiError(412, 'revision_mismatch', `site ${siteId} is at revision ${previous?.revision ?? 0}, not ${ifMatch}: read it again and retry`);
      }
      let next: EventInput<'SiteConfigured'>;
      try {
        next = compute(previous);
      } catch (err) {
        if (err instanceof SiteConfigError) throw new ApiError(err.status, err.code, err.message);
        throw err;
      }
      await this.pools.configureSite(siteId, next);
      const deadline = Date.now() + READ_YOUR_WRITES_MS;
      while (Number(this.current(siteId)?.revision ?? 0) < Number(next.revision) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      return this.current(siteId) ?? next;
    });
    this.locks.set(
      siteId,
      run.catch(() => undefined),
    );
    return run;
  }
}

export function etagOf(config: SiteConfigured | undefined): string {
  return `"${Number(config?.revision ?? 0)}"`;
}

/** A number as given in a request, in E.164 with the site's country, or a 400 naming the field. */
export function e164(raw: string, country: string, field: string): string {
  const n = toE164(raw, country);
  if (!n) throw new ApiError(400, 'invalid_request', `${field}: "${raw}" is not a valid phone number in ${country}`);
  return n;
}
