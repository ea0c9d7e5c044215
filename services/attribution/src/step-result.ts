/**
 * What a step says of an item when it is not carried on: dropped (an expected outcome, such
 * as a report older than the stored one: logged and counted, nothing written) or
 * dead-lettered (it can never be processed: the consumer hands it to the dead-letter topic).
 * Only unexpected failures throw; a thrown error makes the batch be redone.
 */
export type StepResult<T> = { ok: true; value: T } | { ok: false; outcome: 'drop' | 'dead_letter'; reason: string };

export const ok = <T>(value: T): StepResult<T> => ({ ok: true, value });
export const drop = <T = never>(reason: string): StepResult<T> => ({ ok: false, outcome: 'drop', reason });
export const deadLetter = <T = never>(reason: string): StepResult<T> => ({ ok: false, outcome: 'dead_letter', reason });

/** The result with its value turned into another; a drop or dead letter passes through as it is. */
export const mapResult = <T, U>(result: StepResult<T>, f: (value: T) => U): StepResult<U> => (result.ok ? ok(f(result.value)) : result);
