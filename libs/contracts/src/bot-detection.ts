import { isbot } from 'isbot';

/**
 * Why a user agent is a bot's, or undefined for a browser: a missing user agent,
 * or a crawler / automation agent on isbot's maintained list. Shared by
 * session-tracker (bots take no tracking number) and antifraud (verdicts).
 */
export function botReason(userAgent: string | undefined): 'empty user agent' | 'bot user agent' | undefined {
  if (!userAgent?.trim()) return 'empty user agent';
  return isbot(userAgent) ? 'bot user agent' : undefined;
}
