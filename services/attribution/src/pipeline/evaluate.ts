// The pure decision core of the call pipeline: what the facts say of each report (its
// match, classification, lead and origin), with nothing read or written. The pipeline
// runs the same two steps with ClickHouse reads between them (the visits of the decided
// matches); tests give the facts directly (evaluate.spec.ts).
import { evaluateCalls, type CallReport, type EvaluatedCall, type EvaluationLookups } from './call-evaluation.js';
import { decideMatches } from './calls/decide-matches.js';

/** Facts + reports → the evaluated calls, in call order: decide the match, then classify and group into leads. */
export function evaluate(reports: readonly CallReport[], facts: EvaluationLookups): EvaluatedCall[] {
  return evaluateCalls(decideMatches(reports, facts), facts);
}
