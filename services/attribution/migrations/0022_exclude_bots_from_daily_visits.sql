-- Antifraud's bot verdict on a visit arrives after the visit is stored, so visits_daily
-- (aggregated at insert) counts bots. bot_visits_daily counts them per day and source from
-- session_verdicts, and sources_daily subtracts them: its visits are human visits, as in
-- the REST reports. A verdict that arrives later takes the visit out on the next query.
CREATE VIEW IF NOT EXISTS bot_visits_daily AS
SELECT site_id, toDate(started_at) AS day, channel, utm_source, utm_medium, utm_campaign, utm_term,
       uniqExact(session_id) AS bot_visits
FROM visits
WHERE (site_id, session_id) IN (SELECT site_id, session_id FROM session_verdicts FINAL WHERE verdict = 'bot')
GROUP BY site_id, day, channel, utm_source, utm_medium, utm_campaign, utm_term;

CREATE OR REPLACE VIEW sources_daily AS
SELECT site_id, day, channel, utm_source, utm_medium, utm_campaign, utm_term,
       toUInt64(greatest(sum(visits), 0)) AS visits, sum(calls) AS calls, sum(target_calls) AS target_calls, sum(missed_calls) AS missed_calls,
       sum(cost) AS cost, sum(clicks) AS clicks, sum(impressions) AS impressions
FROM
(
    SELECT site_id, day, channel, utm_source, utm_medium, utm_campaign, utm_term, toInt64(uniqExactMerge(visits)) AS visits,
           toUInt64(0) AS calls, toUInt64(0) AS target_calls, toUInt64(0) AS missed_calls, 0. AS cost, toUInt64(0) AS clicks, toUInt64(0) AS impressions
    FROM visits_daily GROUP BY site_id, day, channel, utm_source, utm_medium, utm_campaign, utm_term
    UNION ALL
    SELECT site_id, day, channel, utm_source, utm_medium, utm_campaign, utm_term, -toInt64(bot_visits), 0, 0, 0, 0., 0, 0
    FROM bot_visits_daily
    UNION ALL
    SELECT site_id, day, channel, utm_source, utm_medium, utm_campaign, utm_term, 0, calls, target_calls, missed_calls, 0., 0, 0
    FROM calls_daily
    UNION ALL
    SELECT site_id, day, channel, source, medium, campaign, keyword, 0, 0, 0, 0, cost, clicks, impressions
    FROM ad_costs FINAL
)
GROUP BY site_id, day, channel, utm_source, utm_medium, utm_campaign, utm_term;
