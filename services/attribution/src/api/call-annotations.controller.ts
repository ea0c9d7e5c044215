import { Body, Controller, Delete, Get, HttpCode, Param, Post, Put, UseGuards, type PipeTransform } from '@nestjs/common';
import { AdminTokenGuard, ApiError, SiteDirectory, siteIdPipe, ZodValidationPipe } from '@calltrack/service-kit';
import { z } from 'zod';
import { AttributionStore } from '../store/attribution-store.js';
import { CallAnnotationsService } from './call-annotations.service.js';

const emptyBodyAsObject: PipeTransform = { transform: (value: unknown) => value ?? {} };
const tagPipe = new ZodValidationPipe(z.string().regex(/^[a-z0-9][a-z0-9_-]{0,39}$/, '1-40 of a-z, 0-9, "-", "_", starting with a letter or digit'), 'tag');
const callIdPipe = new ZodValidationPipe(z.string().min(1, 'is empty').max(256, 'at most 256 characters'), 'call id');
export const tagBody = z.strictObject({ author: z.string().max(200, 'author: at most 200 characters').default('') });
export const commentBody = z.strictObject({
  text: z.string().trim().min(1, 'text must not be empty').max(2000, 'text: at most 2000 characters'),
  author: z.string().max(200, 'author: at most 200 characters').default(''),
});

/**
 * Tags (lead, spam, non-target, repeat…) and comments people put on a call. The call
 * id comes last in the path (URL-encoded, like GET /v1/sites/:site/calls/:id), since
 * ids may hold a "/" or outgrow the router's parameter length.
 */
@Controller('v1/admin/sites/:siteId')
@UseGuards(AdminTokenGuard)
export class CallAnnotationsController {
  constructor(
    private readonly annotations: CallAnnotationsService,
    private readonly store: AttributionStore,
    private readonly sites: SiteDirectory,
  ) {}

  private async requireCall(siteId: string, callId: string): Promise<void> {
    if (!this.sites.get(siteId)) throw new ApiError(404, 'unknown_site', `site ${siteId} is not configured`);
    if (!(await this.store.call(siteId, callId))) throw new ApiError(404, 'not_found', `no call ${callId} on site ${siteId}`);
  }

  @Get('call-annotations/*')
  async get(@Param('siteId', siteIdPipe) siteId: string, @Param('*', callIdPipe) callId: string): Promise<object> {
    await this.requireCall(siteId, callId);
    return { siteId, callId, ...(await this.annotations.annotations(siteId, callId)) };
  }

  @Put('call-tags/:tag/*')
  @HttpCode(200)
  async addTag(
    @Param('siteId', siteIdPipe) siteId: string,
    @Param('tag', tagPipe) tag: string,
    @Param('*', callIdPipe) callId: string,
    @Body(emptyBodyAsObject, new ZodValidationPipe(tagBody)) body: z.infer<typeof tagBody>,
  ): Promise<object> {
    await this.requireCall(siteId, callId);
    await this.annotations.tag(siteId, callId, tag, body.author, true);
    return { siteId, callId, tag, tagged: true };
  }

  @Delete('call-tags/:tag/*')
  @HttpCode(200)
  async removeTag(
    @Param('siteId', siteIdPipe) siteId: string,
    @Param('tag', tagPipe) tag: string,
    @Param('*', callIdPipe) callId: string,
    @Body(emptyBodyAsObject, new ZodValidationPipe(tagBody)) body: z.infer<typeof tagBody>,
  ): Promise<object> {
    await this.requireCall(siteId, callId);
    await this.annotations.tag(siteId, callId, tag, body.author, false);
    return { siteId, callId, tag, tagged: false };
  }

  @Post('call-comments/*')
  @HttpCode(201)
  async comment(
    @Param('siteId', siteIdPipe) siteId: string,
    @Param('*', callIdPipe) callId: string,
    @Body(new ZodValidationPipe(commentBody)) body: z.infer<typeof commentBody>,
  ): Promise<object> {
    await this.requireCall(siteId, callId);
    return { siteId, callId, ...(await this.annotations.comment(siteId, callId, body.text, body.author)), text: body.text, author: body.author };
  }
}
