-- Views for BI tools (docs/reports.md): the current state of each row without FINAL or
-- version columns to remember, and the daily source report the dashboards start from.
CREATE VIEW IF NOT EXISTS calls_current AS SELECT * EXCEPT (version, ingested_at) FROM calls FINAL;
CREATE VIEW IF NOT EXISTS visits_current AS SELECT * EXCEPT (ingested_at) FROM visits FINAL;
CREATE VIEW IF NOT EXISTS credits_current AS SELECT * EXCEPT (version, is_deleted, ingested_at) FROM attribution_credits FINAL WHERE is_deleted = 0;
CREATE VIEW IF NOT EXISTS ad_costs_current AS SELECT * EXCEPT (version, ingested_at) FROM ad_costs FINAL;

-- One row per day and call source (UTC days): inbound non-spam calls in their current state.
CREATE VIEW IF NOT EXISTS calls_daily AS
SELECT site_id, day, f.channel AS channel, f.utm_source AS utm_source, f.utm_medium AS utm_medium, f.utm_campaign AS utm_campaign, f.utm_term AS utm_term,
       count() AS calls,
       uniqExact(f.caller_number) AS unique_callers,
       countIf(f.caller_type = 'first') AS first_calls,
       countIf(f.is_target = 1) AS target_calls,
       countIf(f.is_missed = 1) AS missed_calls,
       countIf(f.callback_status = 'not_called_back') AS missed_not_called_back
FROM (SELECT site_id, day, call_id, argMaxMerge(facts) AS f FROM call_facts GROUP BY site_id, day, call_id)
WHERE f.direction != 'outbound' AND f.verdict != 'spam'
GROUP BY site_id, day, channel, utm_source, utm_medium, utm_campaign, utm_term;

-- Visits, calls and cost per day and source down to keyword (last-touch: each call counts
-- under the visit it was matched to); ROMI needs revenue per model: see docs/reports.md.
CREATE VIEW IF NOT EXISTS sources_daily AS
SELECT site_id, day, channel, utm_source, utm_medium, utm_campaign, utm_term,
       sum(visits) AS visits, sum(calls) AS calls, sum(target_calls) AS target_calls, sum(missed_calls) AS missed_calls,
       sum(cost) AS cost, sum(clicks) AS clicks, sum(impressions) AS impressions
FROM
(
    SELECT site_id, day, channel, utm_source, utm_medium, utm_campaign, utm_term, uniqExactMerge(visits) AS visits,
           toUInt64(0) AS calls, toUInt64(0) AS target_calls, toUInt64(0) AS missed_calls, 0. AS cost, toUInt64(0) AS clicks, toUInt64(0) AS impressions
    FROM visits_daily GROUP BY site_id, day, channel, utm_source, utm_medium, utm_campaign, utm_term
    UNION ALL
    SELECT site_id, day, channel, utm_source, utm_medium, utm_campaign, utm_term, 0, calls, target_calls, missed_calls, 0., 0, 0
    FROM calls_daily
    UNION ALL
    SELECT site_id, day, channel, source, medium, campaign, keyword, 0, 0, 0, 0, cost, clicks, impressions
    FROM ad_costs FINAL
)
GROUP BY site_id, day, channel, utm_source, utm_medium, utm_campaign, utm_term;
