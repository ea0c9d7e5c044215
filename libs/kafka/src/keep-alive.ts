/** How often a long flush tells the group coordinator it is alive (kafkajs sends at most one per heartbeat interval). */
export const KEEP_ALIVE_MS = 1000;

/**
 * Runs `work` while heartbeating the consumer group in the background, so that time
 * spent waiting (for the evaluation lock, a ClickHouse query, state still in flight)
 * never counts against the session timeout. A failed background beat (a rebalance began)
 * is only remembered: the caller's own heartbeat between chunks throws it, so the
 * batch stops at a chunk boundary instead of being cut in the middle of a write.
 */
export async function withKeepAlive<T>(heartbeat: (() => Promise<void>) | undefined, work: () => Promise<T>): Promise<T> {
  if (!heartbeat) return work();
  let beating: Promise<void> | undefined;
  const timer = setInterval(() => {
    beating ??= heartbeat()
      .catch(() => undefined)
      .finally(() => (beating = undefined));
  }, KEEP_ALIVE_MS);
  try {
    return await work();
  } finally {
    clearInterval(timer);
    await beating;
  }
}
