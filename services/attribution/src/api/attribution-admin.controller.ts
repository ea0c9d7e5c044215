import { Body, Controller, Get, Headers, HttpCode, Param, Post, Put, Res, UseGuards, type PipeTransform } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { AdminTokenGuard, ApiError, SiteDirectory, siteIdPipe, ZodValidationPipe } from '@calltrack/service-kit';
import { z } from 'zod';
import { settingsBodySchema, settingsFromBody, settingsView, type SettingsBody, type SiteSettings } from '../settings/attribution-settings.js';
import { AttributionSettingsService, etagOf } from '../settings/attribution-settings.service.js';
import { learntModelView, MarkovModelService } from '../models/markov-model.service.js';
import { RecomputeService, type RecomputeJob } from '../replay/recompute.service.js';

// POST bodies here are optional: a request without a body is an empty object.
const emptyBodyAsObject: PipeTransform = { transform: (value: unknown) => value ?? {} };
const noFields = z.strictObject({});
const jobIdPipe = new ZodValidationPipe(z.uuid('job id must be a UUID'), 'job id');
const operatorOf = (header: string | undefined): string => (header ?? '').slice(0, 200) || 'admin-api';
const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

function settingsAnswer(siteId: string, s: SiteSettings, reply: FastifyReply): object {
  void reply.header('etag', etagOf(s));
  return { siteId, revision: s.revision, changedAt: s.revision > 0 ? iso(s.changedAtMs) : null, changedBy: s.changedBy || null, settings: settingsView(s) };
}

function jobView(job: RecomputeJob): object {
  return {
    siteId: job.siteId,
    jobId: job.jobId,
    settingsRevision: job.settingsRevision,
    status: job.status,
    requestedBy: job.requestedBy,
    startedAt: iso(job.startedAtMs),
    finishedAt: iso(job.finishedAtMs),
    durationMs: job.finishedAtMs === null ? null : job.finishedAtMs - job.startedAtMs,
    calls: job.calls,
    changedCalls: job.changedCalls,
    creditRows: job.creditRows,
    enquiries: job.enquiries,
    changedEnquiries: job.changedEnquiries,
    dataDrivenModelId: job.markovModelId || null,
    error: job.error || null,
    statusUrl: `/v1/admin/sites/${job.siteId}/attribution/recompute/${job.jobId}`,
  };
}

/**
 * Attribution admin API: per-site settings (event-sourced on attribution-settings), the
 * recompute of a site's history, and its data-driven model. Every change of settings
 * starts a recompute under the new revision; `POST …/attribution/recompute` starts one
 * under the current settings.
 */
@Controller('v1/admin/sites/:siteId')
@UseGuards(AdminTokenGuard)
export class AttributionAdminController {
  constructor(
    private readonly settings: AttributionSettingsService,
    private readonly recompute: RecomputeService,
    private readonly markov: MarkovModelService,
    private readonly sites: SiteDirectory,
  ) {}

  private requireSite(siteId: string): void {
    if (!this.sites.get(siteId)) throw new ApiError(404, 'unknown_site', `site ${siteId} is not configured`);
  }

  @Get('attribution-settings')
  get(@Param('siteId', siteIdPipe) siteId: string, @Res({ passthrough: true }) reply: FastifyReply): object {
    this.requireSite(siteId);
    return settingsAnswer(siteId, this.settings.get(siteId), reply);
  }

  /** Replaces the site's settings (fields left out take their defaults) and recomputes its history under them. */
  @Put('attribution-settings')
  @HttpCode(200)
  async put(
    @Param('siteId', siteIdPipe) siteId: string,
    @Body(new ZodValidationPipe(settingsBodySchema)) body: SettingsBody,
    @Headers('if-match') ifMatch: string | undefined,
    @Headers('x-operator') operator: string | undefined,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<object> {
    this.requireSite(siteId);
    const next = settingsFromBody(body);
    const by = operatorOf(operator);
    const saved = await this.settings.change(siteId, ifMatch, by, () => next);
    const job = this.recompute.start(siteId, saved, by);
    return { ...settingsAnswer(siteId, saved, reply), recompute: jobView(job) };
  }

  /**
   * Recomputes the site's history under its current settings (after late data, a new
   * data-driven model or an upgrade). Under the same settings and data it writes nothing.
   */
  @Post('attribution/recompute')
  @HttpCode(202)
  startRecompute(
    @Param('siteId', siteIdPipe) siteId: string,
    @Body(emptyBodyAsObject, new ZodValidationPipe(noFields)) _body: object,
    @Headers('x-operator') operator: string | undefined,
  ): object {
    this.requireSite(siteId);
    return jobView(this.recompute.start(siteId, this.settings.get(siteId), operatorOf(operator)));
  }

  @Get('attribution/recompute/:jobId')
  async recomputeStatus(@Param('siteId', siteIdPipe) siteId: string, @Param('jobId', jobIdPipe) jobId: string): Promise<object> {
    const job = await this.recompute.status(siteId, jobId);
    if (!job) throw new ApiError(404, 'not_found', `no recompute ${jobId} of site ${siteId}`);
    return jobView(job);
  }

  @Get('attribution/data-driven-model')
  async model(@Param('siteId', siteIdPipe) siteId: string): Promise<object> {
    this.requireSite(siteId);
    const model = await this.markov.latest(siteId);
    if (!model) throw new ApiError(404, 'not_found', `no data-driven model of site ${siteId} yet: POST here to compute one`);
    return learntModelView(model);
  }

  /** Learns the site's data-driven model now; live calls are credited with it from now on (history: recompute). */
  @Post('attribution/data-driven-model')
  @HttpCode(200)
  async computeModel(@Param('siteId', siteIdPipe) siteId: string, @Body(emptyBodyAsObject, new ZodValidationPipe(noFields)) _body: object): Promise<object> {
    this.requireSite(siteId);
    return learntModelView(await this.markov.compute(siteId));
  }
}
