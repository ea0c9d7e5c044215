import type { RawBodyRequest } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { SITE_ID_PATTERN } from '@calltrack/contracts';
import { ApiError } from '@calltrack/service-kit';
import type { SiteView } from '../../sites/ingest-state.js';
import type { IngestStateService } from '../../sites/ingest-state.service.js';
import { SIGNATURE_HEADER, TIMESTAMP_HEADER, verifyWebhookSignature, type SignatureFailure } from './webhook-signature.js';

/** Why a signed request was refused before its body was read, for the caller's counters. */
export type SignedRequestRejection = 'no_secret' | SignatureFailure;

export interface SignedJsonRequestCheck {
  state: IngestStateService;
  toleranceSeconds: number;
  /** What the endpoint takes, in messages: "webhooks", "enquiries". */
  noun: string;
  /** The document that describes the signature. */
  docs: string;
  /** Counts and logs a refusal (only for a known site: unknown sites are not counted). */
  reject: (reason: SignedRequestRejection) => void;
}

/**
 * The checks before a body signed with the site's generic-webhook secret is read (the
 * generic call webhook and the enquiry API), in a fixed order: service ready, JSON, site
 * known with a secret, signature valid. An unsigned request never learns anything about
 * validation. Returns the site and the raw body the signature covered.
 */
export function verifySignedJsonRequest(
  siteId: string,
  req: RawBodyRequest<FastifyRequest>,
  check: SignedJsonRequestCheck,
): { site: SiteView; rawBody: Buffer } {
  if (!check.state.isRebuilt()) throw new ApiError(503, 'not_ready', 'the service is starting; retry shortly');
  // Fastify already refuses unknown media types; text/plain and form bodies have parsers of their own, so check here.
  const mediaType = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (mediaType !== 'application/json') throw new ApiError(415, 'unsupported_media_type', `${check.noun} must be sent as Content-Type: application/json`);

  const site = SITE_ID_PATTERN.test(siteId) ? check.state.site(siteId) : undefined;
  if (!site?.secret) {
    if (site) check.reject('no_secret');
    throw new ApiError(404, 'unknown_site', `site ${siteId} does not accept ${check.noun} (unknown site or no webhook secret set)`);
  }
  const rawBody = req.rawBody;
  if (!rawBody) throw new ApiError(400, 'invalid_json', 'request body is missing');
  const verdict = verifyWebhookSignature({
    secret: site.secret,
    timestamp: req.headers[TIMESTAMP_HEADER],
    signature: req.headers[SIGNATURE_HEADER],
    rawBody,
    nowMs: Date.now(),
    toleranceSeconds: check.toleranceSeconds,
  });
  if (!verdict.ok) {
    check.reject(verdict.reason);
    if (verdict.reason === 'stale_timestamp') {
      throw new ApiError(401, 'stale_timestamp', `X-Calltrack-Timestamp is more than ${check.toleranceSeconds} s away from the server clock`);
    }
    throw new ApiError(401, 'invalid_signature', `X-Calltrack-Signature is missing, malformed or does not match the body (see ${check.docs})`, {
      reason: verdict.reason,
    });
  }
  return { site, rawBody };
}
