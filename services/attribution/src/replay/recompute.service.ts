import { Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { CONFIG, LOGGER } from '@calltrack/service-kit';
import type { Logger } from '@calltrack/telemetry';
import type { SiteSettings } from '../settings/attribution-settings.js';
import { AttributionStore } from '../store/attribution-store.js';
import { CallPipeline } from '../pipeline/call-pipeline.js';
import { EnquiryPipeline } from '../pipeline/enquiry-pipeline.js';
import { EvaluationLock } from '../pipeline/evaluation-lock.js';
import { CallLookups } from '../store/call-lookups.js';
import type { AttributionConfig } from '../config.js';
import { learntWeightsOf, MarkovModelService } from '../models/markov-model.service.js';
import type { RecomputeRunRow } from '../store/rows.js';
import { nullableNum, num, str } from '../store/values.js';

export type RecomputeStatus = 'running' | 'done' | 'failed' | 'superseded';

export interface RecomputeJob {
  siteId: string;
  jobId: string;
  settingsRevision: number;
  status: RecomputeStatus;
  requestedBy: string;
  startedAtMs: number;
  finishedAtMs: number | null;
  /** Calls evaluated so far, and how many of them got a new row version. */
  calls: number;
  changedCalls: number;
  creditRows: number;
  /** Enquiries (forms, callback requests, chats) evaluated after the calls, and how many changed. */
  enquiries: number;
  changedEnquiries: number;
  markovModelId: string;
  error: string;
}

/**
 * Recomputes a site's history: every stored call of the site, in call order, is
 * evaluated again under one settings revision (pinned for the job), with a data-driven
 * model learnt first from the site's paths, and judged as of the job's start; rows that
 * change get the next version (call-evaluation.ts). The same log, settings revision and
 * start time give the same rows, inserted under content-derived dedup tokens, so a rerun
 * changes nothing. Steps of ATTRIBUTION_RECOMPUTE_BATCH calls take the evaluation lock
 * in turn with live calls. A newer job of the same site supersedes a running one.
 */
@Injectable()
export class RecomputeService implements OnModuleDestroy {
  private readonly jobs = new Map<string, RecomputeJob & { cancelled: boolean; done: Promise<void> }>();
  private readonly running = new Map<string, RecomputeJob & { cancelled: boolean; done: Promise<void> }>();
  private readonly batch: number;
  private stopping = false;

  constructor(
    private readonly store: AttributionStore,
    private readonly lookups: CallLookups,
    private readonly calls: CallPipeline,
    private readonly lock: EvaluationLock,
    private readonly markov: MarkovModelService,
    private readonly enquiries: EnquiryPipeline,
    @Inject(CONFIG) config: AttributionConfig,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {
    this.batch = config.ATTRIBUTION_RECOMPUTE_BATCH;
  }

  async onModuleDestroy(): Promise<void> {
    // Stop at the next step: a job cut short is "superseded" and can be started again.
    this.stopping = true;
    for (const job of this.running.values()) job.cancelled = true;
    await Promise.all([...this.running.values()].map((j) => j.done));
  }

  /** Starts recomputing a site under `settings`; a job of the site still running stops at its next step. */
  start(siteId: string, settings: SiteSettings, requestedBy: string): RecomputeJob {
    const previous = this.running.get(siteId);
    if (previous) previous.cancelled = true;
    const job = {
      siteId,
      jobId: randomUUID(),
      settingsRevision: settings.revision,
      status: 'running' as RecomputeStatus,
      requestedBy,
      startedAtMs: Date.now(),
      finishedAtMs: null,
      calls: 0,
      changedCalls: 0,
      enquiries: 0,
      changedEnquiries: 0,
      creditRows: 0,
      markovModelId: '',
      error: '',
      cancelled: false,
      done: Promise.resolve(),
    };
    job.done = (previous?.done ?? Promise.resolve()).then(() => this.run(job, settings));
    this.jobs.set(job.jobId, job);
    this.running.set(siteId, job);
    return view(job);
  }

  private async run(job: RecomputeJob & { cancelled: boolean }, settings: SiteSettings): Promise<void> {
    const { siteId } = job;
    try {
      await this.record(job);
      // Judged as of the job's start, so call-back windows are the same in every step.
      const asOfMs = job.startedAtMs;
      const model = await this.markov.compute(siteId, asOfMs);
      job.markovModelId = model.modelId;
      const markov = new Map([[siteId, learntWeightsOf(model)]]);
      const pinned = new Map([[siteId, settings]]);
      const pages = await this.lookups.pagesOf(siteId, this.batch);
      for (const [step, page] of pages.entries()) {
        if (job.cancelled || this.stopping) break;
        await this.lock.exclusive(async () => {
          const rows = await this.lookups.callsBetween(siteId, page.fromMs, page.toMs);
          if (rows.length === 0) return;
          const plans = await this.calls.recomputeStored(rows, `recompute:${siteId}:${job.settingsRevision}:${step}`, {
            nowMs: asOfMs,
            markov,
            settings: pinned,
          });
          job.calls += rows.length;
          job.changedCalls += plans.length;
          job.creditRows += plans.reduce((a, p) => a + p.credits.length, 0);
        });
      }
      // Then the enquiries, against the calls just recomputed (a form joins a call's lead and vice versa).
      for (const page of await this.lookups.pagesOf(siteId, this.batch, 'enquiries')) {
        if (job.cancelled || this.stopping) break;
        const done = await this.enquiries.reevaluateBetween(siteId, page.fromMs, page.toMs, settings);
        job.enquiries += done.enquiries;
        job.changedEnquiries += done.changed;
      }
      job.status = job.cancelled || this.stopping ? 'superseded' : 'done';
    } catch (err) {
      job.status = 'failed';
      job.error = (err as Error).message;
      this.logger.error({ event: 'recompute_failed', site_id: siteId, job_id: job.jobId, err });
    } finally {
      job.finishedAtMs = Date.now();
      if (this.running.get(siteId)?.jobId === job.jobId) this.running.delete(siteId);
      await this.record(job).catch((err: Error) => this.logger.warn({ event: 'recompute_record_failed', job_id: job.jobId, err: err.message }));
      this.logger.info({
        event: 'recompute_finished',
        site_id: siteId,
        job_id: job.jobId,
        status: job.status,
        calls: job.calls,
        changed_calls: job.changedCalls,
        duration_ms: job.finishedAtMs - job.startedAtMs,
      });
    }
  }

  private versions = 0;

  private async record(job: RecomputeJob): Promise<void> {
    const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());
    // Later states of a job outrank earlier ones, even within one millisecond.
    this.versions = Math.max(this.versions + 1, Date.now());
    const row: RecomputeRunRow = {
      site_id: job.siteId,
      job_id: job.jobId,
      settings_revision: job.settingsRevision,
      status: job.status,
      requested_by: job.requestedBy,
      started_at: iso(job.startedAtMs)!,
      finished_at: iso(job.finishedAtMs),
      calls: job.calls,
      changed_calls: job.changedCalls,
      credit_rows: job.creditRows,
      enquiries: job.enquiries,
      changed_enquiries: job.changedEnquiries,
      markov_model_id: job.markovModelId,
      error: job.error,
      version: this.versions,
    };
    await this.store.write('recompute_runs', [row], `run:${job.jobId}:${row.version}`);
  }

  /** A job of a site: this instance's, else as recorded in ClickHouse (another instance ran it). */
  async status(siteId: string, jobId: string): Promise<RecomputeJob | undefined> {
    const own = this.jobs.get(jobId);
    if (own?.siteId === siteId) return view(own);
    const rows = await this.store.query<Record<string, unknown>>(
      `SELECT settings_revision, status, requested_by, toUnixTimestamp64Milli(started_at) AS started_ms, toUnixTimestamp64Milli(finished_at) AS finished_ms,
              calls, changed_calls, credit_rows, enquiries, changed_enquiries, markov_model_id, error
       FROM recompute_runs FINAL WHERE site_id = {site:String} AND job_id = {job:String}`,
      { site: siteId, job: jobId },
    );
    const r = rows[0];
    if (!r) return undefined;
    return {
      siteId,
      jobId,
      settingsRevision: num(r['settings_revision']),
      status: str(r['status']) as RecomputeStatus,
      requestedBy: str(r['requested_by']),
      startedAtMs: num(r['started_ms']),
      finishedAtMs: nullableNum(r['finished_ms']),
      calls: num(r['calls']),
      changedCalls: num(r['changed_calls']),
      creditRows: num(r['credit_rows']),
      enquiries: num(r['enquiries']),
      changedEnquiries: num(r['changed_enquiries']),
      markovModelId: str(r['markov_model_id']),
      error: str(r['error']),
    };
  }
}

function view(job: RecomputeJob): RecomputeJob {
  const {
    siteId,
    jobId,
    settingsRevision,
    status,
    requestedBy,
    startedAtMs,
    finishedAtMs,
    calls,
    changedCalls,
    creditRows,
    enquiries,
    changedEnquiries,
    markovModelId,
    error,
  } = job;
  return {
    siteId,
    jobId,
    settingsRevision,
    status,
    requestedBy,
    startedAtMs,
    finishedAtMs,
    calls,
    changedCalls,
    creditRows,
    enquiries,
    changedEnquiries,
    markovModelId,
    error,
  };
}
