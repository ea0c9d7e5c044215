import { botReason, calltrack } from '@calltrack/contracts';
import type { BlockEntry } from './blocklist-state.js';

const { Verdict } = calltrack.events.v1;

/** A call is spam when its caller is on the site's blocklist. */
export function callVerdict(block: BlockEntry | undefined): { verdict: calltrack.events.v1.Verdict; reason: string } {
  return block
    ? { verdict: Verdict.VERDICT_SPAM, reason: `blocklisted: ${block.reason || 'no reason given'}` }
    : { verdict: Verdict.VERDICT_CLEAN, reason: '' };
}

/** A session is a bot's when the user agent is missing or a known crawler/automation agent (isbot's list). */
export function sessionVerdict(userAgent: string): { verdict: calltrack.events.v1.Verdict; reason: string } {
  const reason = botReason(userAgent);
  return reason ? { verdict: Verdict.VERDICT_BOT, reason } : { verdict: Verdict.VERDICT_CLEAN, reason: '' };
}
