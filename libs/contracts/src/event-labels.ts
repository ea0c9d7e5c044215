import { calltrack } from '@calltrack/proto';

const { CallStatus, CallDirection, Verdict, MatchMethod } = calltrack.events.v1;

/** Lower-case name of a protobuf enum value without its prefix: CALL_STATUS_COMPLETED → "completed". */
function label(values: object, value: number | null | undefined, prefix: string): string {
  const entry = Object.entries(values).find(([, v]) => v === (value ?? 0));
  return (entry?.[0] ?? `${prefix}UNSPECIFIED`).slice(prefix.length).toLowerCase();
}

// The words reports, APIs and exports use for enum values (ClickHouse columns, JSON bodies).
export const callStatusLabel = (v: number | null | undefined): string => label(CallStatus, v, 'CALL_STATUS_');
export const callDirectionLabel = (v: number | null | undefined): string => label(CallDirection, v, 'CALL_DIRECTION_');
export const verdictLabel = (v: number | null | undefined): string => label(Verdict, v, 'VERDICT_');
export const matchMethodLabel = (v: number | null | undefined): string => label(MatchMethod, v, 'MATCH_METHOD_');
