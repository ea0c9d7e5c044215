import { Controller, Inject } from '@nestjs/common';
import { GrpcMethod, RpcException } from '@nestjs/microservices';
import { status, type Metadata } from '@grpc/grpc-js';
import { createHash, timingSafeEqual } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { SITE_ID_PATTERN, type VisitOrigin } from '@calltrack/contracts';
import { bearerToken, CONFIG } from '@calltrack/service-kit';
import { AttributionStore } from '../store/attribution-store.js';
import { originOfColumns } from '../store/origin-columns.js';
import type { AttributionConfig } from '../config.js';

/** The contract bid managers (K50, Alytics) call: proto/calltrack/api/v1/conversions_api.proto. */
export const CONVERSIONS_API_PROTO = fileURLToPath(new URL('../../../../proto/calltrack/api/v1/conversions_api.proto', import.meta.url));
/** Where its imports (calltrack/events/v1/origin.proto) resolve from: the loader's includeDirs. */
export const CONVERSIONS_API_INCLUDE_DIRS = [fileURLToPath(new URL('../../../../proto', import.meta.url))];
export const CONVERSIONS_API_PACKAGE = 'calltrack.api.v1';

interface ListCallsRequest {
  siteId?: string;
  fromMs?: number;
  toMs?: number;
  pageSize?: number;
  pageToken?: string;
}

const MAX_RANGE_MS = 366 * 86_400_000;
const digest = (s: string): Buffer => createHash('sha256').update(s).digest();

const fail = (code: status, message: string): never => {
  throw new RpcException({ code, message });
};

/** Keyset cursor: the last row of a page (start time and call id), opaque to clients. */
function encodeToken(startedAtMs: number, callId: string): string {
  return Buffer.from(JSON.stringify([startedAtMs, callId])).toString('base64url');
}

function decodeToken(token: string): { startedAtMs: number; callId: string } {
  try {
    const [startedAtMs, callId] = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as [unknown, unknown];
    if (typeof startedAtMs === 'number' && Number.isFinite(startedAtMs) && typeof callId === 'string') return { startedAtMs, callId };
  } catch {
    // falls through to the error below
  }
  return fail(status.INVALID_ARGUMENT, 'page_token is not one this API issued');
}

/**
 * A row's origin: `origin` and the deprecated flat copies that clients of the first version
 * read (filled until calltrack.api.v2, docs/attribution.md#grpc-api). `calls` keeps no
 * analytics ids, so origin.analytics_ids stays empty.
 */
export function originFields(o: VisitOrigin): object {
  return {
    origin: { utm: o.utm, referrer: o.referrer, landingPage: o.landingPage, clickIds: o.clickIds, channel: o.channel },
    utmSource: o.utm.source,
    utmMedium: o.utm.medium,
    utmCampaign: o.utm.campaign,
    utmContent: o.utm.content,
    utmTerm: o.utm.term,
    channel: o.channel,
    clickIds: o.clickIds,
    landingPage: o.landingPage,
    referrer: o.referrer,
  };
}

@Controller()
export class ConversionsApiGrpcController {
  constructor(
    private readonly store: AttributionStore,
    @Inject(CONFIG) private readonly config: AttributionConfig,
  ) {}

  private authorize(metadata: Metadata): void {
    // The HTTP admin API's rule: scheme case-insensitive, exactly one authorization entry.
    const bearer = bearerToken(metadata.get('authorization').map(String));
    if (!bearer.ok && bearer.reason === 'duplicate') return fail(status.INVALID_ARGUMENT, 'send exactly one "authorization" metadata entry');
    if (!bearer.ok) return fail(status.UNAUTHENTICATED, 'send metadata "authorization: Bearer <token>"');
    if (!timingSafeEqual(digest(bearer.token), digest(this.config.GRPC_API_TOKEN ?? ''))) fail(status.PERMISSION_DENIED, 'the token is not valid');
  }

  @GrpcMethod('ConversionsService', 'ListCalls')
  async listCalls(request: ListCallsRequest, metadata: Metadata): Promise<object> {
    this.authorize(metadata);
    const siteId = request.siteId ?? '';
    if (!SITE_ID_PATTERN.test(siteId)) fail(status.INVALID_ARGUMENT, 'site_id: 1-63 lowercase letters, digits, "-" or "_"');
    const toMs = Number(request.toMs) || Date.now() + 60_000;
    const fromMs = Number(request.fromMs) || toMs - 30 * 86_400_000;
    if (fromMs >= toMs) fail(status.INVALID_ARGUMENT, 'from_ms must be before to_ms');
    if (toMs - fromMs > MAX_RANGE_MS) fail(status.INVALID_ARGUMENT, 'a range is at most 366 days');
    const pageSize = request.pageSize || 100;
    if (pageSize > 1000) fail(status.INVALID_ARGUMENT, 'page_size: at most 1000');
    const after = request.pageToken ? decodeToken(request.pageToken) : undefined;
    const rows = await this.store.callsPage(siteId, fromMs, toMs, pageSize, after);
    const calls = rows.map((r) => ({
      callId: String(r['call_id']),
      startedAtMs: Number(r.started_at_ms),
      callerNumber: String(r['caller_number']),
      trackingNumber: String(r['tracking_number']),
      status: String(r['status']),
      talkSeconds: Number(r['talk_seconds']),
      matchMethod: String(r['match_method']),
      ...originFields(originOfColumns(r)),
      verdict: String(r['verdict']),
      sourceLabel: String(r['source_label']),
      sessionId: String(r['session_id']),
      visitorId: String(r['visitor_id']),
      matchConfidence: Number(r['match_confidence'] ?? 0),
      matchReason: String(r['match_reason']),
      direction: String(r['direction']),
      callerType: String(r['caller_type']),
      isTarget: Number(r['is_target']) === 1,
      isMissed: Number(r['is_missed']) === 1,
      callbackStatus: String(r['callback_status']),
      isOutsideHours: Number(r['is_outside_hours']) === 1,
      isHoliday: Number(r['is_holiday']) === 1,
      leadId: String(r['lead_id']),
      waitSeconds: Number(r['wait_seconds'] ?? 0),
      answeredAtMs: r.answered_at_ms === null ? 0 : Number(r.answered_at_ms),
      endedAtMs: r.ended_at_ms === null ? 0 : Number(r.ended_at_ms),
      promoCode: String(r['promo_code']),
      calledNumber: String(r['called_number']),
      isFinal: Number(r['is_final']) === 1,
    }));
    const last = calls[calls.length - 1];
    return { calls, nextPageToken: calls.length === pageSize && last ? encodeToken(last.startedAtMs, last.callId) : '' };
  }
}
