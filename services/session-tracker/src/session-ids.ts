import { Inject, Injectable } from '@nestjs/common';
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { CONFIG, LOGGER } from '@calltrack/service-kit';
import type { Logger } from '@calltrack/telemetry';
import type { SessionTrackerConfig } from './config.js';

/**
 * session-tracker keeps no sessions, so a session id proves itself: it is a UUIDv7
 * (its first 48 bits are the start time in unix ms) whose last 32 bits are a keyed MAC
 * of the rest. An end naming an id this service did not mint, whose start is in the
 * future, or older than a visit can be, is refused without a lookup and publishes
 * nothing. (A heartbeat needs no such check: number-pool extends a lease only for the
 * session it was granted to.) 42 random bits remain, so two sessions started in the same
 * millisecond still get different ids.
 */
const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/** How long after its start a visit may still be ended (the longest lease tail, 24 h). */
export const SESSION_END_WINDOW_MS = 24 * 3600_000;
/** Clock skew between instances tolerated for a start time "in the future". */
const SKEW_MS = 60_000;
/** Hex digits of the MAC at the end of an id (32 bits: a guess passes once in four billion). */
const MAC_HEX = 8;

/** The start time a session id carries, or undefined when it is not shaped like the ids session-tracker mints. */
export function sessionStartOf(sessionId: string): number | undefined {
  if (!UUID_V7.test(sessionId)) return undefined;
  return parseInt(sessionId.slice(0, 8) + sessionId.slice(9, 13), 16);
}

/** Mints and recognises session ids under one key (SESSION_ID_KEY, the same on every instance). */
export class SessionIdSigner {
  constructor(private readonly key: Buffer) {}

  mint(nowMs: number): string {
    const random = randomBytes(8);
    const hex =
      nowMs.toString(16).padStart(12, '0').slice(-12) +
      '7' +
      random.toString('hex', 0, 2).slice(0, 3) +
      (0x8 | (random[2]! & 0x3)).toString(16) +
      random.toString('hex', 3, 7).slice(0, 7);
    // 12 + 1 + 3 + 1 + 7 = 24 hex digits; the MAC makes the last 8.
    const body = hex.slice(0, 24);
    const full = body + this.mac(body);
    return `${full.slice(0, 8)}-${full.slice(8, 12)}-${full.slice(12, 16)}-${full.slice(16, 20)}-${full.slice(20)}`;
  }

  /** Whether this id was minted under this key for a visit that may still be live at `nowMs`. */
  issued(sessionId: string, nowMs: number): boolean {
    const started = sessionStartOf(sessionId);
    if (started === undefined || started > nowMs + SKEW_MS || started < nowMs - SESSION_END_WINDOW_MS) return false;
    const hex = sessionId.replaceAll('-', '');
    return timingSafeEqual(Buffer.from(hex.slice(24)), Buffer.from(this.mac(hex.slice(0, 24))));
  }

  private mac(body: string): string {
    return createHmac('sha256', this.key).update(`calltrack-session-id:v1:${body}`).digest('hex').slice(0, MAC_HEX);
  }
}

@Injectable()
export class SessionIds extends SessionIdSigner {
  constructor(@Inject(CONFIG) config: SessionTrackerConfig, @Inject(LOGGER) logger: Logger) {
    if (config.SESSION_ID_KEY) super(Buffer.from(config.SESSION_ID_KEY, 'utf8'));
    else {
      super(randomBytes(32));
      // Only this instance recognises its ids: an end reaching another instance, or sent after a restart, is refused and
      // the lease then runs out its tail from the last heartbeat instead of from the end (nearly the same).
      logger.warn({
        event: 'session_id_key_random',
        hint: 'set SESSION_ID_KEY (the same on every instance) so that every instance recognises the session ids the others minted, also after a restart',
      });
    }
  }
}
