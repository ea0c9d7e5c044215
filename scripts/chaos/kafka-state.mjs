// What the chaos checks read from the broker: consumer groups of the run's prefix with their
// lag, "quiet" (nothing left to consume anywhere), and whole topics read back raw (dead
// letters with their headers).
import { randomUUID } from 'node:crypto';
import { listTopics, readTopicsToEnd } from '@calltrack/kafka';

const UUID_TAIL = /[.-][0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
export const READER_GROUP = 'chaos-reader.';

/**
 * Per-instance groups (`<group>.<uuid>`: each process reads a whole topic into memory) and
 * services' replay groups (`replay-<client>-<uuid>`) belong to one process. A process that was
 * SIGKILLed never leaves its group: the group stays behind, empty, with whatever lag it had.
 * Such a group has no reader any more, so its lag is nobody's backlog: it is reported (leftover
 * groups), not counted as lag. A shared group (no uuid) is the service's work queue: its lag
 * counts whether it has members or not.
 */
export const isPerInstanceGroup = (groupId) => UUID_TAIL.test(groupId);

async function highWatermarks(admin, topics) {
  const out = new Map();
  for (const topic of topics) {
    for (const p of await admin.fetchTopicOffsets(topic)) out.set(`${topic}:${p.partition}`, { high: BigInt(p.high), low: BigInt(p.low) });
  }
  return out;
}

/** Every consumer group of the prefix: state, members, lag per topic (committed vs high watermark). */
export async function consumerGroups(admin, prefix) {
  const { groups } = await admin.listGroups();
  const ids = groups
    .map((g) => g.groupId)
    .filter((id) => id.startsWith(prefix) && !id.startsWith(`${prefix}${READER_GROUP}`))
    .sort();
  if (ids.length === 0) return { groups: [], highs: new Map() };
  const described = new Map((await admin.describeGroups(ids)).groups.map((g) => [g.groupId, g]));
  const committed = new Map();
  const topics = new Set();
  for (const groupId of ids) {
    const byTopic = await admin.fetchOffsets({ groupId });
    const names = byTopic.map((t) => t.topic);
    // Ask again with the topics named: partitions the group never committed come back as -1.
    const full = names.length > 0 ? await admin.fetchOffsets({ groupId, topics: names }) : [];
    committed.set(groupId, full);
    for (const n of names) topics.add(n);
  }
  const highs = await highWatermarks(admin, [...topics]);
  const out = [];
  for (const groupId of ids) {
    const d = described.get(groupId);
    let lag = 0n;
    const lagByTopic = {};
    for (const t of committed.get(groupId)) {
      for (const p of t.partitions) {
        const w = highs.get(`${t.topic}:${p.partition}`);
        if (!w) continue;
        // Never committed: a shared group reads from the beginning, so all of it is backlog. A
        // per-instance group may start at the end (session-tracker's lease replies): a partition
        // that got no record since it joined has nothing for it, and this cannot tell the two
        // kinds apart, so it counts only what such a group committed.
        if (BigInt(p.offset) < 0n && isPerInstanceGroup(groupId)) continue;
        const at = BigInt(p.offset) < 0n ? w.low : BigInt(p.offset);
        const l = w.high > at ? w.high - at : 0n;
        if (l > 0n) lagByTopic[t.topic.slice(prefix.length)] = Number(BigInt(lagByTopic[t.topic.slice(prefix.length)] ?? 0) + l);
        lag += l;
      }
    }
    out.push({
      groupId,
      name: groupId.slice(prefix.length),
      perInstance: isPerInstanceGroup(groupId),
      state: d?.state ?? 'Unknown',
      members: d?.members?.length ?? 0,
      lag: Number(lag),
      lagByTopic,
      topics: committed.get(groupId).map((t) => t.topic),
    });
  }
  return { groups: out, highs };
}

/** The groups whose lag counts: shared groups always, per-instance groups while they have members. */
export const countedGroups = (groups) => groups.filter((g) => !g.perInstance || g.members > 0);

/**
 * One look at the broker: quiet when every counted group has lag 0 and no topic of the
 * prefix grew while the offsets were being read (a consumer that published its output and
 * then committed between two reads would otherwise look done while its output is unread).
 */
export async function quietSnapshot(admin, prefix) {
  const topics = (await listTopics(admin)).filter((t) => t.startsWith(prefix));
  const before = await highWatermarks(admin, topics);
  const { groups } = await consumerGroups(admin, prefix);
  const after = await highWatermarks(admin, topics);
  const grew = [...after].filter(([k, v]) => before.get(k)?.high !== v.high).map(([k]) => k.slice(prefix.length));
  const lagging = countedGroups(groups).filter((g) => g.lag > 0);
  return { quiet: grew.length === 0 && lagging.length === 0, grew, lagging, groups };
}

/** Reads whole topics (up to their end when called) with a throw-away group; records with key, value and headers. */
export async function readTopics(kafka, prefix, topics) {
  const records = [];
  await readTopicsToEnd(kafka, topics, (m) => void records.push({ ...m, key: m.key?.toString('utf8') ?? null }), {
    groupId: `${prefix}${READER_GROUP}${randomUUID()}`,
  });
  return records;
}
