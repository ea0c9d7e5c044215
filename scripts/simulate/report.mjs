// Reads attribution's verdict on every simulated call back over REST and scores it
// against the ground truth: the visit whose number the caller dialled.
import { http, sleep } from '@calltrack/testing';

/** Calls whose truth a number can carry: made during the visit or right after it, while the lease should still hold. */
export const IN_WINDOW = new Set(['during', 'after']);

/** Every placed call's row, once final (or the last state seen when the deadline passes). */
export async function fetchAttributed({ attributionUrl, auth, siteId, calls, timeoutMs = 120_000, concurrency = 8 }) {
  const pending = calls.filter((c) => c.placed);
  const rows = new Map();
  const deadline = Date.now() + timeoutMs;
  while (pending.length > 0) {
    const batch = [...pending];
    pending.length = 0;
    let next = 0;
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < batch.length) {
          const call = batch[next++];
          const r = await http('GET', `${attributionUrl}/v1/sites/${siteId}/calls/${encodeURIComponent(call.callId)}`, { headers: auth });
          if (r.status === 200) rows.set(call.callId, r.body);
          if (r.status !== 200 || !r.body.is_final) pending.push(call);
        }
      }),
    );
    if (pending.length === 0 || Date.now() > deadline) break;
    await sleep(1000);
  }
  return { rows, missing: pending.map((c) => c.callId) };
}

const share = (n, d) => (d === 0 ? null : n / d);

/** Scores one site's calls: right session, right channel, unmatched, wrong visit — over all calls and over in-window calls. */
export function scoreSite(driver, rows) {
  const tally = () => ({ calls: 0, rightSession: 0, rightChannel: 0, unmatched: 0, wrongSession: 0, notStored: 0 });
  const all = tally();
  const inWindow = tally();
  const byTiming = {};
  const methods = {};
  const reasons = {};
  for (const call of driver.calls) {
    if (!call.placed) continue;
    const truth = driver.played.get(call.planned.visitId);
    const row = rows.get(call.callId);
    const buckets = [all, (byTiming[call.planned.timing] ??= tally())];
    if (IN_WINDOW.has(call.planned.timing)) buckets.push(inWindow);
    for (const b of buckets) {
      b.calls += 1;
      if (!row) {
        b.notStored += 1;
        continue;
      }
      if (row.session_id && row.session_id === truth.sessionId) b.rightSession += 1;
      if (row.channel && row.channel === truth.channel) b.rightChannel += 1;
      if (row.match_method === 'unmatched') b.unmatched += 1;
      else if (row.session_id && row.session_id !== truth.sessionId) b.wrongSession += 1;
    }
    if (row) {
      methods[row.match_method] = (methods[row.match_method] ?? 0) + 1;
      const reason = `${row.match_method}/${row.match_reason}`;
      reasons[reason] = (reasons[reason] ?? 0) + 1;
    }
  }
  const shares = (t) => ({
    ...t,
    rightSessionShare: share(t.rightSession, t.calls),
    rightChannelShare: share(t.rightChannel, t.calls),
    unmatchedShare: share(t.unmatched, t.calls),
    wrongSessionShare: share(t.wrongSession, t.calls),
  });
  return {
    all: shares(all),
    inWindow: shares(inWindow),
    byTiming: Object.fromEntries(Object.entries(byTiming).map(([k, v]) => [k, shares(v)])),
    methods,
    reasons,
  };
}

/**
 * The smallest pool whose in-window right-session share reaches the target; else an
 * estimate from the two largest pools, assuming the miss rate falls geometrically with
 * each added number (the tail of a queue's overflow probability does).
 */
export function poolNeeded(results, target = 0.99) {
  const sorted = [...results].filter((r) => r.score.inWindow.calls > 0).sort((a, b) => a.poolSize - b.poolSize);
  const reached = sorted.find((r) => r.score.inWindow.rightSessionShare >= target);
  if (reached) return { poolSize: reached.poolSize, measured: true };
  if (sorted.length < 2) return { poolSize: null, measured: false };
  const [a, b] = sorted.slice(-2);
  const ea = 1 - a.score.inWindow.rightSessionShare;
  const eb = 1 - b.score.inWindow.rightSessionShare;
  if (!(eb > 0 && ea > eb)) return { poolSize: null, measured: false, note: 'the miss rate did not fall between the two largest pools' };
  const perNumber = Math.log(eb / ea) / (b.poolSize - a.poolSize);
  const n = b.poolSize + Math.log((1 - target) / eb) / perNumber;
  return { poolSize: Math.ceil(n), measured: false };
}

const pct = (x) => (x === null || x === undefined ? '-' : `${(100 * x).toFixed(1)}%`);

/** The accuracy table as Markdown (it goes into notes and docs as it is). */
export function formatTable(results, needed, target = 0.99) {
  const header = [
    'pool',
    'calls',
    'right session',
    'right channel',
    'unmatched',
    'other visit',
    'in-window calls',
    'in-window right session',
    'in-window right channel',
    'visitors per number (mean / peak)',
    'shortages',
    'number-pool recommends',
  ];
  const rows = [...results]
    .sort((a, b) => a.poolSize - b.poolSize)
    .map((r) => {
      const s = r.score;
      return [
        r.poolSize,
        s.all.calls,
        pct(s.all.rightSessionShare),
        pct(s.all.rightChannelShare),
        pct(s.all.unmatchedShare),
        pct(s.all.wrongSessionShare),
        s.inWindow.calls,
        pct(s.inWindow.rightSessionShare),
        pct(s.inWindow.rightChannelShare),
        `${r.concurrentPerNumber.mean.toFixed(2)} / ${r.concurrentPerNumber.peak.toFixed(2)}`,
        r.pool?.shortages ?? '-',
        r.pool?.recommendedPoolSize ?? '-',
      ].map(String);
    });
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
  const line = (cells) => `| ${cells.map((c, i) => c.padStart(widths[i])).join(' | ')} |`;
  const lines = [line(header), `|${widths.map((w) => `${'-'.repeat(w + 1)}:`).join('|')}|`, ...rows.map(line)];
  lines.push('');
  lines.push(
    needed.poolSize === null
      ? `pool for ${target * 100}% right-session on in-window calls: not estimable${needed.note ? ` (${needed.note})` : ''}`
      : needed.measured
        ? `smallest pool reaching ${target * 100}% right-session on in-window calls: ${needed.poolSize} numbers`
        : `no pool reached ${target * 100}% right-session on in-window calls; extrapolated need: about ${needed.poolSize} numbers`,
  );
  return lines.join('\n');
}

const REPORTS = [
  ['sources by keyword', 'reports/sources?level=keyword'],
  ['day by hour', 'reports/day-by-hour'],
  ['segments: device', 'reports/segments?by=device_type'],
  ['segments: landing page', 'reports/segments?by=landing_page'],
  ['multi-channel paths', 'reports/paths'],
  ['missed, not called back', 'reports/missed?status=all'],
  ['models side by side', 'reports/models'],
];

/**
 * The reports on the simulated data: every report must answer, and the source report by
 * channel under last click is compared with the truth (human visits and calls per channel
 * of the visit that truly produced each call).
 */
export async function reportsAgainstTruth({ attributionUrl, auth, siteId, driver, fromMs, toMs }) {
  const range = `from=${encodeURIComponent(new Date(fromMs).toISOString())}&to=${encodeURIComponent(new Date(toMs).toISOString())}`;
  const answers = [];
  for (const [label, path] of REPORTS) {
    const began = Date.now();
    const r = await http('GET', `${attributionUrl}/v1/sites/${siteId}/${path}${path.includes('?') ? '&' : '?'}${range}`, { headers: auth });
    const rows = r.body?.rows ?? r.body?.topPaths ?? r.body?.calls ?? [];
    answers.push({ report: label, status: r.status, ms: Date.now() - began, rows: Array.isArray(rows) ? rows.length : 0 });
  }
  const caller = driver.calls.find((c) => c.placed)?.planned.phone;
  if (caller) {
    const began = Date.now();
    const r = await http('GET', `${attributionUrl}/v1/sites/${siteId}/visitors?phone=${encodeURIComponent(caller)}`, { headers: auth });
    answers.push({ report: 'visitor card', status: r.status, ms: Date.now() - began, rows: r.body?.visits?.length ?? 0 });
  }

  const truth = new Map();
  const bump = (channel, field) => {
    const t = truth.get(channel) ?? { visits: 0, calls: 0 };
    t[field] += 1;
    truth.set(channel, t);
  };
  for (const v of driver.played.values()) if (v.ok && !v.planned.bot) bump(v.channel, 'visits');
  for (const call of driver.calls) if (call.placed) bump(driver.played.get(call.planned.visitId)?.channel ?? '', 'calls');
  const r = await http('GET', `${attributionUrl}/v1/sites/${siteId}/reports/sources?level=channel&model=last_click&${range}`, { headers: auth });
  const reported = new Map((r.body?.rows ?? []).map((row) => [row.key.channel, row]));
  const channels = [...new Set([...truth.keys(), ...reported.keys()])].sort(
    (a, b) => (truth.get(b)?.calls ?? 0) - (truth.get(a)?.calls ?? 0) || a.localeCompare(b),
  );
  const byChannel = channels.map((channel) => ({
    channel: channel || '(not attributed)',
    trueVisits: truth.get(channel)?.visits ?? 0,
    reportedVisits: reported.get(channel)?.visits ?? 0,
    trueCalls: truth.get(channel)?.calls ?? 0,
    reportedCalls: reported.get(channel)?.calls ?? 0,
  }));
  return { answers, byChannel, totals: r.body?.totals ?? null };
}

export function formatReportCheck(siteId, poolSize, check) {
  const lines = [
    `reports on site ${siteId} (pool ${poolSize}): ${check.answers.map((a) => `${a.report} ${a.status} in ${a.ms} ms (${a.rows} rows)`).join('; ')}`,
  ];
  lines.push('| channel | visits (truth) | visits (report) | calls (truth: the visit that produced them) | calls (report, last click) |');
  lines.push('|---|---:|---:|---:|---:|');
  for (const c of check.byChannel) lines.push(`| ${c.channel} | ${c.trueVisits} | ${c.reportedVisits} | ${c.trueCalls} | ${c.reportedCalls} |`);
  return lines.join('\n');
}
