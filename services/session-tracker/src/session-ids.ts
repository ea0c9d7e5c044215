/**
 * session-tracker keeps no sessions: a session id is the UUIDv7 it minted when the
 * visit started, so the id itself says when (its first 48 bits are the start time in
 * unix ms). An id that is not such a UUID, or whose start is in the future or older
 * than a visit can be, was never issued for a live visit.
 */
const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/i;

/** How long after its start a visit may still be ended (the longest lease tail, 24 h). */
export const SESSION_END_WINDOW_MS = 24 * 3600_000;
/** Clock skew between instances tolerated for a start time "in the future". */
const SKEW_MS = 60_000;

/** The start time a session id carries, or undefined when it is not a session id session-tracker issues. */
export function sessionStartOf(sessionId: string): number | undefined {
  if (!UUID_V7.test(sessionId)) return undefined;
  return parseInt(sessionId.slice(0, 8) + sessionId.slice(9, 13), 16);
}

/** Whether an end (or other reference) to this session id can name a visit that session-tracker started. */
export function mayBeLiveSession(sessionId: string, nowMs: number): boolean {
  const started = sessionStartOf(sessionId);
  return started !== undefined && started <= nowMs + SKEW_MS && started >= nowMs - SESSION_END_WINDOW_MS;
}
