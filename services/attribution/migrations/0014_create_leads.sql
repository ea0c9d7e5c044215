-- One row per lead: one person's calls and enquiries within the site's lead window
-- (docs/enquiries.md). The lead id is the id of its first contact, so `first_contact_at`
-- never changes for a lead id and can be in the key. Rewritten whenever one of its
-- contacts is stored; a lead whose contacts all moved to another one (a late, earlier
-- contact) gets is_deleted = 1. `version` is the time of the computation (ms). Read with FINAL.
CREATE TABLE IF NOT EXISTS leads
(
    site_id            LowCardinality(String),
    lead_id            String,
    person_key         String,
    first_contact_at   DateTime64(3, 'UTC'),
    last_contact_at    DateTime64(3, 'UTC'),
    first_contact_kind LowCardinality(String),
    calls              UInt32,
    target_calls       UInt32,
    missed_calls       UInt32,
    enquiries          UInt32,
    channel            LowCardinality(String),
    utm_source         String,
    utm_medium         String,
    utm_campaign       String,
    utm_term           String,
    visitor_id         String,
    version            UInt64,
    is_deleted         UInt8,
    ingested_at        DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree(version, is_deleted)
PARTITION BY toYYYYMM(first_contact_at)
ORDER BY (site_id, toDate(first_contact_at), lead_id)
SETTINGS non_replicated_deduplication_window = 1000;
