import { RateLimitGuard } from '@calltrack/service-kit';
import type { SessionTrackerConfig } from './config.js';

/**
 * Public endpoints are limited per client address (one browser or bot hammering the
 * API) and per site (a site's traffic cannot starve the others), with the service
 * kit's one mechanism (in-memory counters of this instance, 429 with Retry-After).
 */
export const PublicRateLimitGuard = RateLimitGuard((config: SessionTrackerConfig) => ({
  scope: 'sessions',
  perAddress: { points: config.RATE_LIMIT_PER_ADDRESS_PER_MINUTE, seconds: 60 },
  perSite: { points: config.RATE_LIMIT_PER_SITE_PER_SECOND, seconds: 1 },
}));
