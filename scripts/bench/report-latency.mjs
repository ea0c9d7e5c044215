// How long the reports take over a large history in the embedded ClickHouse engine.
// Starts attribution in this process (it creates the schema), fills one site's tables with
// a synthetic history generated inside ClickHouse (INSERT ... SELECT FROM numbers(): visits
// over 90 days, one call per 100 visits with classification, credits of 7 models over two
// touches, ad costs per day and keyword), then times every report through the REST API:
// the first request (cold) and the median of 5 more (warm), over the last 30 and 90 days.
// Prints figures; asserts nothing.  BENCH_VISITS (default 10 000 000) sets the size.
import { http } from '@calltrack/testing';
import { startAttributionInProcess } from './attribution-in-process.mjs';

const VISITS = Number(process.env.BENCH_VISITS ?? 10_000_000);
const CHUNK = 1_000_000;
const SITE = 'bench-reports';
const DAY = 86_400_000;
const say = (s) => process.stdout.write(`${s}\n`);

const { service, auth, clickhouse, stop } = await startAttributionInProcess({
  name: 'reports',
  siteId: SITE,
  site: { name: 'Bench', country: 'RU', timeZone: 'Europe/Moscow', defaultNumber: '+74950000000', poolNumbers: ['+74951000001'] },
});

try {
  const ch = clickhouse();
  const end = Math.floor(Date.now() / DAY) * DAY;
  const T0 = end - 90 * DAY;
  const spacing = (90 * DAY) / VISITS;
  // Sources: [channel, source, medium, campaign count, keyword count] — paid search has campaigns and keywords.
  const at = (n) => `fromUnixTimestamp64Milli(toInt64(${T0} + ${n} * ${spacing}), 'UTC')`;
  const source = (n) =>
    `[('paid_search','google','cpc'),('paid_search','yandex','cpc'),('organic_search','google','organic'),('direct','',''),` +
    `('paid_social','vk','cpc'),('email','newsletter','email'),('referral','partner.example','referral')][(${n}) % 7 + 1]`;
  const campaign = (n) => `if(${source(n)}.3 = 'cpc', concat('campaign-', toString((${n}) % 20)), '')`;
  const keyword = (n) => `if(${source(n)}.3 = 'cpc', concat('keyword-', toString((${n}) % 200)), '')`;

  const began = Date.now();
  for (let from = 0; from < VISITS; from += CHUNK) {
    const n = `(number + ${from})`;
    await ch.command(
      `INSERT INTO visits (event_id, site_id, session_id, visitor_id, started_at, channel, utm_source, utm_medium, utm_campaign, utm_term,
                           referrer, landing_page, user_agent, client_ip, click_ids, device_type, browser, os, country, region, city)
       SELECT concat('v', toString(${n})), '${SITE}', concat('s', toString(${n})), concat('u', toString(intDiv(${n}, 3))), ${at(n)},
              ${source(n)}.1, ${source(n)}.2, ${source(n)}.3, ${campaign(n)}, ${keyword(n)}, '',
              concat('https://bench.example/p', toString(${n} % 50), '?utm_source=x'),
              'Mozilla/5.0', '', map(), ['desktop','mobile','tablet'][${n} % 3 + 1], ['Chrome','Safari','Firefox'][${n} % 3 + 1],
              ['Windows','iOS','Android'][${n} % 3 + 1],
              'RU', ['Moscow','Saint Petersburg','Novosibirsk Oblast','Sverdlovsk Oblast'][${n} % 4 + 1],
              ['Moscow','Saint Petersburg','Novosibirsk','Yekaterinburg'][${n} % 4 + 1]
       FROM numbers(${Math.min(CHUNK, VISITS - from)})`,
    );
  }
  say(`seeded ${VISITS.toLocaleString('en')} visits in ${((Date.now() - began) / 1000).toFixed(1)} s`);

  // One call per 100 visits, 3 minutes into the visit; a caller in four calls again later.
  const CALLS = Math.floor(VISITS / 100);
  const callsBegan = Date.now();
  const v = '(number * 100 + 2)';
  await ch.command(
    `INSERT INTO calls (event_id, site_id, call_id, provider, provider_call_id, tracking_number, caller_number, called_number, direction, status,
                        started_at, answered_at, ended_at, talk_seconds, wait_seconds, recording_url, verdict, verdict_reason, match_method,
                        match_reason, match_confidence, channel, session_id, visitor_id, lease_id, session_started_at, utm_source, utm_medium,
                        utm_campaign, utm_content, utm_term, referrer, landing_page, click_ids, is_final, caller_type, is_target, is_missed,
                        callback_status, lead_id, version, report_version)
     SELECT concat('c', toString(number)), '${SITE}', concat('bench:', toString(number)), 'bench', toString(number), '+74951000001',
            concat('+7916', leftPad(toString(intDiv(number * 3, 4)), 7, '0')), '+74951000001', 'inbound', if(number % 10 = 0, 'missed', 'completed'),
            ${at(v)} + INTERVAL 3 MINUTE, if(number % 10 = 0, NULL, ${at(v)} + INTERVAL 185 SECOND), ${at(v)} + INTERVAL 300 SECOND,
            if(number % 10 = 0, 0, number % 240), 5, '', 'clean', '', 'dynamic', '', 1, ${source(v)}.1, concat('s', toString(${v})),
            concat('u', toString(intDiv(${v}, 3))), '',
            ${at(v)}, ${source(v)}.2, ${source(v)}.3, ${campaign(v)}, '', ${keyword(v)}, '',
            concat('https://bench.example/p', toString(${v} % 50), '?utm_source=x'), map(), 1,
            if(number % 4 = 3, 'repeat', 'first'), toUInt8(number % 10 != 0 AND number % 240 >= 30), toUInt8(number % 10 = 0),
            if(number % 10 = 0, if(number % 20 = 0, 'called_back', 'not_called_back'), ''), concat('bench:', toString(number)), 1, 1
     FROM numbers(${CALLS})`,
  );
  // Credits: every model over two touches (the visitor's first visit of its three, then the called one).
  const first = '(intDiv(number * 100 + 2, 3) * 3)';
  await ch.command(
    `INSERT INTO attribution_credits (site_id, call_id, call_started_at, model, session_id, visitor_id, touch_index, touch_count, touch_at,
                                      channel, utm_source, utm_medium, utm_campaign, utm_content, utm_term, credit, settings_revision, version,
                                      is_deleted, conversion_kind)
     SELECT '${SITE}', concat('bench:', toString(number)), ${at(v)} + INTERVAL 3 MINUTE, model, concat('s', toString(t.2)),
            concat('u', toString(intDiv(${v}, 3))), t.1, 2,
            ${at('t.2')}, ${source('t.2')}.1, ${source('t.2')}.2, ${source('t.2')}.3, ${campaign('t.2')}, '', ${keyword('t.2')}, 0.5, 0, 1, 0, 'call'
     FROM numbers(${CALLS})
     ARRAY JOIN ['last_non_direct_click','last_click','first_click','linear','time_decay','position_based','data_driven','shapley'] AS model
     ARRAY JOIN [(0, ${first}), (1, ${v})] AS t`,
  );
  await ch.command(
    `INSERT INTO ad_costs (site_id, day, channel, source, medium, campaign, keyword, cost, clicks, impressions, currency, import_id, imported_by, version)
     SELECT '${SITE}', toDate(${T0 / 1000} + intDiv(number, 400) * 86400), 'paid_search', ['google','yandex'][number % 2 + 1], 'cpc',
            concat('campaign-', toString(number % 20)), concat('keyword-', toString(number % 200)), 10 + number % 90, 5 + number % 20,
            100 + number % 500, 'RUB', 'bench', 'bench', 1
     FROM numbers(${90 * 400})`,
  );
  say(
    `seeded ${CALLS.toLocaleString('en')} calls, ${(CALLS * 14).toLocaleString('en')} credit rows, ${(90 * 400).toLocaleString('en')} cost rows ` +
      `in ${((Date.now() - callsBegan) / 1000).toFixed(1)} s`,
  );
  // Parts merged as a steady system's would be (background merges catch up between inserts).
  const optimizeBegan = Date.now();
  for (const table of ['visits', 'calls', 'attribution_credits']) await ch.command(`OPTIMIZE TABLE ${table} FINAL`);
  say(`merged parts in ${((Date.now() - optimizeBegan) / 1000).toFixed(1)} s`);
  await ch.close();

  const reports = [
    ['sources (keyword, default model)', 'reports/sources?level=keyword'],
    ['sources (channel, linear)', 'reports/sources?level=channel&model=linear'],
    ['day by hour', 'reports/day-by-hour'],
    ['segments: city', 'reports/segments?by=city'],
    ['segments: landing page', 'reports/segments?by=landing_page'],
    ['multi-channel paths', 'reports/paths'],
    ['missed, not called back', 'reports/missed'],
    ['models side by side', 'reports/models'],
    ['visitor card (by phone)', `visitors?phone=${encodeURIComponent('+79160000042')}`],
  ];
  const time = async (path) => {
    const t = process.hrtime.bigint();
    const r = await http('GET', `${service.url}/v1/sites/${SITE}/${path}`, { headers: auth });
    if (r.status !== 200) throw new Error(`${path}: ${r.status} ${JSON.stringify(r.body).slice(0, 300)}`);
    return Number(process.hrtime.bigint() - t) / 1e6;
  };
  say(`\nreport latency over ${VISITS.toLocaleString('en')} visits (embedded engine, one site, 2 cores shared with the broker):`);
  say('| report | range | cold ms | warm p50 ms | warm max ms |');
  say('|---|---|---|---|---|');
  for (const days of [30, 90]) {
    const range = `from=${encodeURIComponent(new Date(end - days * DAY).toISOString())}&to=${encodeURIComponent(new Date(end).toISOString())}`;
    for (const [label, path] of reports) {
      // The visitor card has no range: one person's whole history.
      if (path.startsWith('visitors') && days !== 30) continue;
      const full = path.startsWith('visitors') ? path : `${path}${path.includes('?') ? '&' : '?'}${range}`;
      const cold = await time(full);
      const warm = [];
      for (let i = 0; i < 5; i += 1) warm.push(await time(full));
      warm.sort((a, b) => a - b);
      say(`| ${label} | ${path.startsWith('visitors') ? 'all' : `${days} d`} | ${cold.toFixed(0)} | ${warm[2].toFixed(0)} | ${warm[4].toFixed(0)} |`);
    }
  }
} finally {
  await stop();
}
