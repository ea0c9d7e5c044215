import { Inject, Injectable } from '@nestjs/common';
import { createHash } from 'node:crypto';
import { LOGGER } from '@calltrack/service-kit';
import type { Logger } from '@calltrack/telemetry';
import { AttributionStore } from '../store/attribution-store.js';
import { EnquiryLookups } from '../store/enquiry-lookups.js';
import { summariseLead } from './lead-grouping.js';
import type { LeadRow } from '../store/rows.js';

const iso = (ms: number): string => new Date(ms).toISOString();

/**
 * Keeps `leads` in step with `calls` and `enquiries`: after contacts are written, the
 * rows of the leads they joined and left are computed again from their stored members
 * (calls FINAL, enquiries FINAL by lead_id, aggregated in ClickHouse). A lead left without members is retracted
 * (is_deleted). Versions are the computation time, strictly increasing in this process,
 * so the latest computation wins; its content follows from the stored contacts alone.
 */
@Injectable()
export class LeadProjection {
  #lastVersion = 0;

  constructor(
    private readonly store: AttributionStore,
    private readonly lookups: EnquiryLookups,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  async project(leads: ReadonlyArray<{ siteId: string; leadId: string }>): Promise<number> {
    const bySite = new Map<string, Set<string>>();
    for (const l of leads) {
      if (!l.leadId) continue;
      const set = bySite.get(l.siteId) ?? new Set<string>();
      set.add(l.leadId);
      bySite.set(l.siteId, set);
    }
    const rows: LeadRow[] = [];
    const version = (this.#lastVersion = Math.max(Date.now(), this.#lastVersion + 1));
    for (const [siteId, ids] of bySite) {
      const members = await this.lookups.leadMembers(siteId, [...ids]);
      const empty: string[] = [];
      for (const leadId of ids) {
        const digest = members.get(leadId);
        const s = digest ? summariseLead(leadId, digest.members, digest.counts) : undefined;
        if (!s) {
          empty.push(leadId);
          continue;
        }
        rows.push({
          site_id: siteId,
          lead_id: leadId,
          person_key: s.personKey,
          first_contact_at: iso(s.firstContactAtMs),
          last_contact_at: iso(s.lastContactAtMs),
          first_contact_kind: s.firstContactKind,
          calls: s.calls,
          target_calls: s.targetCalls,
          missed_calls: s.missedCalls,
          enquiries: s.enquiries,
          channel: s.channel,
          utm_source: s.utm.source,
          utm_medium: s.utm.medium,
          utm_campaign: s.utm.campaign,
          utm_term: s.utm.term,
          visitor_id: s.visitorId,
          version,
          is_deleted: 0,
        });
      }
      for (const stale of await this.lookups.storedLeads(siteId, empty)) {
        rows.push({
          site_id: siteId,
          lead_id: stale.leadId,
          person_key: '',
          first_contact_at: stale.firstContactAt,
          last_contact_at: stale.firstContactAt,
          first_contact_kind: '',
          calls: 0,
          target_calls: 0,
          missed_calls: 0,
          enquiries: 0,
          channel: '',
          utm_source: '',
          utm_medium: '',
          utm_campaign: '',
          utm_term: '',
          visitor_id: '',
          version,
          is_deleted: 1,
        });
      }
    }
    if (rows.length === 0) return 0;
    const token = createHash('sha256')
      .update(rows.map((r) => JSON.stringify(r)).join('\n'))
      .digest('hex')
      .slice(0, 24);
    await this.store.write('leads', rows, `leads:${token}`);
    this.logger.debug({ event: 'leads_projected', leads: rows.length });
    return rows.length;
  }
}
