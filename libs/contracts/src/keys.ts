// Record keys, one function per key shape of the registry, so producers cannot disagree on them.

export const siteKey = (siteId: string): string => siteId;
export const visitorKey = (siteId: string, visitorId: string): string => `${siteId}:${visitorId}`;
export const callKey = (siteId: string, callId: string): string => `${siteId}:${callId}`;
export const enquiryKey = (siteId: string, enquiryId: string): string => `${siteId}:${enquiryId}`;
export const phoneKey = (siteId: string, phone: string): string => `${siteId}:${phone}`;

/** Site ids: what number-pool's admin API accepts and every other API checks. */
export const SITE_ID_PATTERN = /^[a-z0-9][a-z0-9_-]{0,62}$/;
export const SITE_ID_RULE = 'site id: 1-63 lowercase letters, digits, "-" or "_"';
