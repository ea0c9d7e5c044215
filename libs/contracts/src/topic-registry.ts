// The one topic registry. Services, the provisioning CLI (libs/kafka) and the
// Helm topic job all read these definitions; nothing else names a topic.

/** Logical topic names used in code. */
export type TopicKey =
  | 'sites'
  | 'sessions'
  | 'poolCommands'
  | 'poolEvents'
  | 'poolSnapshots'
  | 'calls'
  | 'screenedCalls'
  | 'antifraudBlocklist'
  | 'antifraudVerdicts'
  | 'attributedCalls'
  | 'exportDeliveries'
  | 'telephonySecrets'
  | 'attributionSettings'
  | 'callAnnotations'
  | 'enquiries'
  | 'adCosts';

export interface TopicSpec {
  /** Broker-side name without the environment prefix. */
  readonly name: string;
  readonly partitions: number;
  /** What the record key is; ordering holds per key. */
  readonly key: string;
  readonly cleanupPolicy: 'delete' | 'compact';
  /** -1 keeps records forever (event logs that state is rebuilt from). */
  readonly retentionMs: number;
  /** segment.ms: how soon a compacted topic's superseded records can be cleaned (default: the broker's, 7 days). */
  readonly segmentMs?: number;
  /** Payload message names (calltrack.events.v1.*) that may appear on the topic. */
  readonly events: readonly string[];
  /**
   * Delays of the retry tier, for consumers whose work can fail for longer than
   * in-process retries last (a partner endpoint down): a record whose retries ran
   * out goes to `<name>.retry` and is tried again after each delay in turn, then
   * to the dead-letter topic.
   */
  readonly retryDelaysMs?: readonly number[];
  readonly description: string;
}

const DAY = 24 * 60 * 60 * 1000;

export const TOPICS: Readonly<Record<TopicKey, TopicSpec>> = {
  sites: {
    name: 'calltrack.sites.v1',
    partitions: 3,
    key: 'site_id',
    cleanupPolicy: 'compact',
    retentionMs: -1,
    events: ['SiteConfigured'],
    description: 'Tracking configuration of each site; the latest record per site is its configuration.',
  },
  sessions: {
    name: 'calltrack.sessions.v1',
    partitions: 6,
    key: 'site_id:visitor_id',
    cleanupPolicy: 'delete',
    retentionMs: 400 * DAY,
    events: ['SessionStarted', 'SessionEnded'],
    description: 'Visits started on tracked sites, with source, UTM tags and analytics ids.',
  },
  poolCommands: {
    name: 'calltrack.pool-commands.v1',
    partitions: 6,
    key: 'site_id',
    cleanupPolicy: 'delete',
    retentionMs: 1 * DAY,
    events: ['LeaseRequested', 'LeaseExtendRequested', 'LeaseReleaseRequested', 'NumberCallReported'],
    description: 'Requests to number-pool; keyed by site so one partition owner decides for a site.',
  },
  poolEvents: {
    name: 'calltrack.pool-events.v1',
    partitions: 6,
    key: 'site_id',
    cleanupPolicy: 'delete',
    retentionMs: -1,
    events: [
      'LeaseGranted',
      'LeaseRejected',
      'LeaseExtended',
      'LeaseExpired',
      'NumberCallObserved',
      'NumberQuarantineEnded',
      'PromoCodeRedeemed',
      'PoolWriterClaimed',
    ],
    description: "number-pool's event log (leases); its state is rebuilt from this topic (from the latest snapshot on).",
  },
  poolSnapshots: {
    name: 'calltrack.pool-snapshots.v1',
    partitions: 1,
    key: 'partition:snapshot_id:chunk',
    cleanupPolicy: 'compact',
    retentionMs: -1,
    segmentMs: 60 * 60 * 1000,
    events: ['PoolSnapshotChunk'],
    description: "number-pool's state of each pool-events partition up to an offset, in chunks; a superseded snapshot is deleted with tombstones.",
  },
  calls: {
    name: 'calltrack.calls.v1',
    partitions: 6,
    key: 'site_id:call_id',
    cleanupPolicy: 'delete',
    retentionMs: 400 * DAY,
    events: ['CallReported'],
    description: "Call reports from telephony providers, normalised; one call's reports stay ordered.",
  },
  screenedCalls: {
    name: 'calltrack.screened-calls.v1',
    partitions: 6,
    key: 'site_id:call_id',
    cleanupPolicy: 'delete',
    retentionMs: 400 * DAY,
    events: ['CallScreened'],
    description: 'Every reported call with its antifraud verdict; attribution reads calls only from here.',
  },
  antifraudBlocklist: {
    name: 'calltrack.antifraud-blocklist.v1',
    partitions: 3,
    key: 'site_id:phone',
    cleanupPolicy: 'compact',
    retentionMs: -1,
    events: ['CallerBlocked', 'CallerUnblocked'],
    description: "antifraud's caller blocklist; the latest record per site and phone wins.",
  },
  antifraudVerdicts: {
    name: 'calltrack.antifraud-verdicts.v1',
    partitions: 6,
    key: 'site_id:visitor_id',
    cleanupPolicy: 'delete',
    retentionMs: 400 * DAY,
    events: ['SessionScreened'],
    description: 'Verdicts on sessions (bots).',
  },
  attributedCalls: {
    name: 'calltrack.attributed-calls.v1',
    partitions: 6,
    key: 'site_id:call_id',
    cleanupPolicy: 'delete',
    retentionMs: 400 * DAY,
    events: ['CallAttributed'],
    retryDelaysMs: [30_000, 5 * 60_000, 30 * 60_000],
    description: 'Calls with their origin (session, source, UTM) and verdict.',
  },
  exportDeliveries: {
    name: 'calltrack.export-deliveries.v1',
    partitions: 6,
    key: 'site_id:call_id',
    cleanupPolicy: 'delete',
    retentionMs: -1,
    events: ['ConversionDelivered', 'ConversionFailed', 'ConversionSkipped'],
    description: "conversion-export's delivery log; what was delivered is rebuilt from it.",
  },
  telephonySecrets: {
    name: 'calltrack.telephony-secrets.v1',
    partitions: 3,
    key: 'site_id',
    cleanupPolicy: 'compact',
    retentionMs: -1,
    events: ['WebhookSecretSet'],
    description: "telephony-ingest's webhook signing secrets per site (restrict with ACLs in production).",
  },
  attributionSettings: {
    name: 'calltrack.attribution-settings.v1',
    partitions: 3,
    key: 'site_id',
    cleanupPolicy: 'compact',
    retentionMs: -1,
    events: ['AttributionSettingsChanged'],
    description: "attribution's per-site settings (lookback, models, classification, working hours); the latest record per site wins.",
  },
  callAnnotations: {
    name: 'calltrack.call-annotations.v1',
    partitions: 6,
    key: 'site_id:call_id',
    cleanupPolicy: 'delete',
    retentionMs: -1,
    events: ['CallTagAdded', 'CallTagRemoved', 'CallCommentAdded', 'ConversionRevenueRecorded'],
    description: 'Tags, comments and revenue people put on calls and enquiries (attribution admin API); projected into ClickHouse.',
  },
  adCosts: {
    name: 'calltrack.ad-costs.v1',
    partitions: 3,
    key: 'site_id',
    cleanupPolicy: 'delete',
    retentionMs: -1,
    events: ['AdCostsImported'],
    description: "What a site's ads cost per day, source, campaign and keyword (attribution admin API); projected into ClickHouse ad_costs.",
  },
  // Not the calls topic: an enquiry is no call report (no number dialled, no status), and
  // antifraud and conversion-export read calls; attribution consumes this one directly.
  enquiries: {
    name: 'calltrack.enquiries.v1',
    partitions: 6,
    key: 'site_id:enquiry_id',
    cleanupPolicy: 'delete',
    retentionMs: 400 * DAY,
    events: ['EnquiryReceived'],
    description: 'Web forms, callback requests and chats sites report (telephony-ingest enquiry API); attributed like calls.',
  },
};

/** Every source topic has a dead-letter twin: same key, original bytes, reason in headers. */
export const DEAD_LETTER_SUFFIX = '.dlq';
export const DEAD_LETTER_PARTITIONS = 1;
export const DEAD_LETTER_RETENTION_MS = 30 * DAY;

/** Prefix for every topic and consumer group of one environment (tests use a unique one per run). */
export function topicPrefix(env: NodeJS.ProcessEnv = process.env): string {
  return env['KAFKA_TOPIC_PREFIX'] ?? '';
}

export function topicName(key: TopicKey, prefix: string = topicPrefix()): string {
  return `${prefix}${TOPICS[key].name}`;
}

export function deadLetterTopicName(sourceTopic: string): string {
  return `${sourceTopic}${DEAD_LETTER_SUFFIX}`;
}

export const RETRY_SUFFIX = '.retry';

export function retryTopicName(sourceTopic: string): string {
  return `${sourceTopic}${RETRY_SUFFIX}`;
}

/** All topics to provision: the registry, a dead-letter topic for each, and the retry tiers. */
export function provisionedTopics(prefix: string = topicPrefix()): Array<{
  name: string;
  partitions: number;
  config: Record<string, string>;
}> {
  const out: Array<{ name: string; partitions: number; config: Record<string, string> }> = [];
  for (const key of Object.keys(TOPICS) as TopicKey[]) {
    const spec = TOPICS[key];
    const name = topicName(key, prefix);
    out.push({
      name,
      partitions: spec.partitions,
      config: {
        'cleanup.policy': spec.cleanupPolicy,
        'retention.ms': String(spec.retentionMs),
        ...(spec.segmentMs ? { 'segment.ms': String(spec.segmentMs) } : {}),
      },
    });
    out.push({
      name: deadLetterTopicName(name),
      partitions: DEAD_LETTER_PARTITIONS,
      config: { 'cleanup.policy': 'delete', 'retention.ms': String(DEAD_LETTER_RETENTION_MS) },
    });
    if (spec.retryDelaysMs) {
      out.push({ name: retryTopicName(name), partitions: 1, config: { 'cleanup.policy': 'delete', 'retention.ms': String(7 * DAY) } });
    }
  }
  return out;
}
