import { Inject, Injectable } from '@nestjs/common';
import { CONFIG } from '@calltrack/service-kit';
import type { AttributionConfig } from '../config.js';
import { AttributionSettingsService } from '../settings/attribution-settings.service.js';
import type { SiteSettings } from '../settings/attribution-settings.js';
import { AttributionStore } from '../store/attribution-store.js';
import { EnquiryLookups } from '../store/enquiry-lookups.js';
import { CallPipeline } from './call-pipeline.js';
import { enquiryReportOfRow } from './enquiries/read-enquiry-report.js';
import { waitForVisits } from './enquiries/wait-for-visits.js';
import type { EnquiryReport, PlannedEnquiry } from './enquiry-evaluation.js';
import { EvaluationLock } from './evaluation-lock.js';

/** A new enquiry with what the live consumer knows of its record. */
export interface FreshEnquiry {
  report: EnquiryReport;
  /** When the record was published (Kafka timestamp): how fresh the enquiry is. */
  publishedAtMs: number;
}

/**
 * The enquiry pipeline (docs/enquiries.md), the mirror of the call pipeline:
 *
 *   wait for the named visit → match and classify, group into a lead, credit under each
 *   model, plan the writes (plan-enquiries.ts) → commit → project the leads → follow the
 *   contacts after them (later enquiries and calls of the same phone or visitor: the call
 *   pipeline's followContacts step)
 *
 * Shares the evaluation lock with the calls, so one person's contacts are never evaluated
 * by two writers of this process at once.
 */
@Injectable()
export class EnquiryPipeline {
  private readonly stateWaitMs: number;

  constructor(
    private readonly store: AttributionStore,
    private readonly lookups: EnquiryLookups,
    private readonly calls: CallPipeline,
    private readonly settings: AttributionSettingsService,
    private readonly lock: EvaluationLock,
    @Inject(CONFIG) config: AttributionConfig,
  ) {
    this.stateWaitMs = Math.min(config.ATTRIBUTION_STATE_WAIT_MS, Math.floor(config.KAFKA_SESSION_TIMEOUT_MS / 2));
  }

  /** New enquiries (one chunk of the live consumer's batch) through every step; returns what was written. */
  async attributeEnquiries(fresh: readonly FreshEnquiry[], label: string): Promise<PlannedEnquiry[]> {
    await this.settings.loaded;
    await waitForVisits(this.store, fresh, this.stateWaitMs);
    return this.lock.exclusive(async () => {
      const plans = await this.calls.planEnquiries(
        fresh.map((f) => f.report),
        'report',
      );
      await this.calls.commitEnquiries(plans, label);
      return plans;
    });
  }

  /**
   * Evaluates a site's enquiries in [fromMs, toMs) again under `settings` (a recompute pins
   * the revision it runs under); returns how many were read and how many got a new version.
   */
  async reevaluateBetween(siteId: string, fromMs: number, toMs: number, settings?: SiteSettings): Promise<{ enquiries: number; changed: number }> {
    await this.settings.loaded;
    const to = Math.min(toMs, Date.UTC(2200, 0, 1));
    return this.lock.exclusive(async () => {
      const rows = await this.lookups.enquiries(
        `site_id = {site:String} AND occurred_at >= fromUnixTimestamp64Milli({from:Int64}, 'UTC')
         AND occurred_at < fromUnixTimestamp64Milli({to:Int64}, 'UTC')`,
        { site: siteId, from: fromMs, to },
        'ORDER BY occurred_at, enquiry_id',
      );
      const plans = await this.calls.planEnquiries(rows.map(enquiryReportOfRow), 'reevaluate', settings ? new Map([[siteId, settings]]) : undefined);
      await this.calls.commitEnquiries(plans, `recompute:${siteId}:enquiries:${fromMs}`);
      return { enquiries: rows.length, changed: plans.length };
    });
  }
}
