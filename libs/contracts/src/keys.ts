// Record keys, one function per key shape of the registry, so producers cannot disagree on them.

export const siteKey = (siteId: string): string => siteId;
export const visitorKey = (siteId: string, visitorId: string): string => `${siteId}:${visitorId}`;
export const callKey = (siteId: string, callId: string): string => `${siteId}:${callId}`;
export const phoneKey = (siteId: string, phone: string): string => `${siteId}:${phone}`;
