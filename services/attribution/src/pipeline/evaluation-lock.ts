import { Injectable } from '@nestjs/common';

/**
 * One writer of calls and enquiries per process: the call pipeline, the enquiry pipeline,
 * the sweeps and a recompute all run their read-decide-write sections through here, so the
 * versions of one call (or one person's contacts) never race in this process.
 */
@Injectable()
export class EvaluationLock {
  private chain: Promise<unknown> = Promise.resolve();

  /** Runs `fn` after every section started before it finished. A section must not call exclusive() itself. */
  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.chain.then(fn);
    this.chain = run.catch(() => undefined);
    return run;
  }
}
