-- Daily aggregates for dashboards and BI, kept up to date by materialized views on insert.
-- Days are UTC days (toDate(started_at)); the REST reports count in the site's time zone.
--
-- visits_daily: distinct sessions and visitors per day and source down to keyword. uniqExact
-- states make it exact and idempotent: a visit inserted twice (a replay) counts once.
CREATE TABLE IF NOT EXISTS visits_daily
(
    site_id      LowCardinality(String),
    day          Date,
    channel      LowCardinality(String),
    utm_source   String,
    utm_medium   String,
    utm_campaign String,
    utm_term     String,
    visits       AggregateFunction(uniqExact, String),
    visitors     AggregateFunction(uniqExact, String)
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(day)
ORDER BY (site_id, day, channel, utm_source, utm_medium, utm_campaign, utm_term);

CREATE MATERIALIZED VIEW IF NOT EXISTS visits_daily_mv TO visits_daily AS
SELECT site_id, toDate(started_at) AS day, channel, utm_source, utm_medium, utm_campaign, utm_term,
       uniqExactState(session_id) AS visits, uniqExactState(visitor_id) AS visitors
FROM visits
GROUP BY site_id, day, channel, utm_source, utm_medium, utm_campaign, utm_term;

INSERT INTO visits_daily
SELECT site_id, toDate(started_at) AS day, channel, utm_source, utm_medium, utm_campaign, utm_term,
       uniqExactState(session_id), uniqExactState(visitor_id)
FROM visits
GROUP BY site_id, day, channel, utm_source, utm_medium, utm_campaign, utm_term;

-- call_facts: each call's latest state on its day, as argMax states over the row version.
-- A call re-evaluated into another channel moves there (a sum over inserts would count it
-- in both); merging the states gives one current row per call, as calls FINAL does, from
-- a narrow table. The calls_daily view (0021) groups it by day and source.
CREATE TABLE IF NOT EXISTS call_facts
(
    site_id LowCardinality(String),
    day     Date,
    call_id String,
    facts   AggregateFunction(argMax, Tuple(channel String, utm_source String, utm_medium String, utm_campaign String, utm_term String,
                                            direction String, verdict String, caller_number String, caller_type String,
                                            is_final UInt8, is_target UInt8, is_missed UInt8, callback_status String,
                                            talk_seconds UInt32, wait_seconds UInt32, match_method String), UInt64)
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(day)
ORDER BY (site_id, day, call_id);

CREATE MATERIALIZED VIEW IF NOT EXISTS call_facts_mv TO call_facts AS
SELECT site_id, toDate(started_at) AS day, call_id,
       argMaxState(CAST((toString(channel), utm_source, utm_medium, utm_campaign, utm_term, toString(direction), toString(verdict), caller_number,
                         toString(caller_type), is_final, is_target, is_missed, toString(callback_status), talk_seconds, wait_seconds, toString(match_method)),
                        'Tuple(channel String, utm_source String, utm_medium String, utm_campaign String, utm_term String, direction String, verdict String, caller_number String, caller_type String, is_final UInt8, is_target UInt8, is_missed UInt8, callback_status String, talk_seconds UInt32, wait_seconds UInt32, match_method String)'),
                   version) AS facts
FROM calls
GROUP BY site_id, day, call_id;

INSERT INTO call_facts
SELECT site_id, toDate(started_at) AS day, call_id,
       argMaxState(CAST((toString(channel), utm_source, utm_medium, utm_campaign, utm_term, toString(direction), toString(verdict), caller_number,
                         toString(caller_type), is_final, is_target, is_missed, toString(callback_status), talk_seconds, wait_seconds, toString(match_method)),
                        'Tuple(channel String, utm_source String, utm_medium String, utm_campaign String, utm_term String, direction String, verdict String, caller_number String, caller_type String, is_final UInt8, is_target UInt8, is_missed UInt8, callback_status String, talk_seconds UInt32, wait_seconds UInt32, match_method String)'),
                   version)
FROM calls
GROUP BY site_id, day, call_id;
