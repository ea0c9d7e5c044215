import { calltrack, createEvent, type DomainEvent } from '@calltrack/contracts';

const { CallStatus, CallDirection, Verdict, MatchMethod } = calltrack.events.v1;

/** A final, clean, dynamically matched inbound call of site `shop` from google: what conversion-export delivers. */
export function attributedCall(callId: string): DomainEvent<'CallAttributed'> {
  return createEvent(
    'CallAttributed',
    {
      call: {
        callId,
        callerNumber: '+79165554433',
        trackingNumber: '+74951000001',
        status: CallStatus.CALL_STATUS_COMPLETED,
        startedAtMs: Date.now() - 60_000,
        answeredAtMs: Date.now() - 55_000,
        endedAtMs: Date.now(),
        direction: CallDirection.CALL_DIRECTION_INBOUND,
      },
      verdict: Verdict.VERDICT_CLEAN,
      method: MatchMethod.MATCH_METHOD_DYNAMIC,
      origin: { utm: { source: 'google' } },
      final: true,
    },
    { siteId: 'shop', producer: 'test' },
  );
}
