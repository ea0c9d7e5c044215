// Plays a traffic plan against the real services in compressed real time: visits through
// the session API as the tracker would (start, heartbeats while the page is visible, a last
// heartbeat on pagehide), calls through the signed generic telephony webhook (ringing,
// answered, then completed or missed). Keeps what each visit was shown, which is the
// ground truth the accuracy report needs.
import { http, signGenericWebhook } from '@calltrack/testing';

const sleep = (ms) => new Promise((r) => setTimeout(r, Math.max(0, ms)));

const RETRYABLE = new Set([429, 502, 503, 504]);

/**
 * POST, with a few retries on overload where the real sender retries: a telephony provider
 * resends its webhook. The tracker does not retry a session start (its visitor keeps the site's
 * own number and the next page asks again) nor a heartbeat (the next one follows): a retried
 * start would be a second session and a second lease that no real visitor makes.
 */
async function post(url, options, counters, label, retries = 0) {
  for (let attempt = 0; ; attempt += 1) {
    let res;
    try {
      res = await http('POST', url, options);
    } catch (err) {
      res = { status: 0, body: String(err) };
    }
    if ((res.status === 0 || RETRYABLE.has(res.status)) && attempt < retries) {
      counters.retries += 1;
      const why = `${label} ${res.status}`;
      counters.retriesBy[why] = (counters.retriesBy[why] ?? 0) + 1;
      if (counters.retrySamples.length < 5) counters.retrySamples.push({ label, status: res.status, body: res.body });
      await sleep(100 * 2 ** attempt);
      continue;
    }
    if (res.status < 200 || res.status >= 300) {
      counters.errors[`${label} ${res.status}`] = (counters.errors[`${label} ${res.status}`] ?? 0) + 1;
      if (counters.errorSamples.length < 5) counters.errorSamples.push({ label, status: res.status, body: res.body });
    }
    return res;
  }
}

/**
 * One site's run: the plan's visits and calls for `site`, real time = start + simulated
 * time / compression. Returns the visits as played (session id, visitor id, number shown,
 * channel as the service classified it) and the calls as reported.
 */
export class SiteDriver {
  constructor({ site, plan, urls, compression, heartbeatRealMs, webhookSecret }) {
    this.site = site;
    this.plan = plan;
    this.urls = urls;
    this.compression = compression;
    this.heartbeatRealMs = heartbeatRealMs;
    this.secret = webhookSecret;
    this.visits = new Map(); // plan visit id -> promise of the played visit
    this.played = new Map(); // plan visit id -> played visit
    this.calls = [];
    this.visitorIds = new Map(); // plan device id -> the service's visitor id
    this.background = new Set(); // heartbeats of visits still open
    this.counters = {
      sessions: 0,
      fallbacks: {},
      heartbeats: 0,
      webhooks: 0,
      retries: 0,
      retriesBy: {},
      retrySamples: [],
      errors: {},
      errorSamples: [],
      lateStartsMs: [],
    };
  }

  /** The actions of this site, for the shared scheduler: [simulated time, function]. */
  actions() {
    const out = [];
    for (const v of this.plan.visits) out.push([v.at, () => this.#visit(v)]);
    for (const c of this.plan.calls) out.push([c.at, () => this.#call(c)]);
    return out;
  }

  async #visit(v) {
    const promise = this.#playVisit(v);
    this.visits.set(v.id, promise);
    return promise;
  }

  async #playVisit(v) {
    const visitorId = this.visitorIds.get(v.deviceId);
    const body = { siteId: this.site.siteId, landingPage: v.landingPage, referrer: v.referrer, userAgent: v.userAgent, ...(visitorId ? { visitorId } : {}) };
    const startedAtMs = Date.now();
    const r = await post(
      `${this.urls.tracker}/v1/sessions`,
      { body, headers: { 'x-forwarded-for': v.ip, 'user-agent': v.userAgent } },
      this.counters,
      'session',
    );
    if (r.status !== 201) {
      const failed = { planned: v, ok: false };
      this.played.set(v.id, failed);
      return failed;
    }
    this.counters.sessions += 1;
    const s = r.body;
    if (!v.bot) this.visitorIds.set(v.deviceId, s.visitorId);
    if (s.fallback) this.counters.fallbacks[s.reason ?? 'unknown'] = (this.counters.fallbacks[s.reason ?? 'unknown'] ?? 0) + 1;
    const played = {
      planned: v,
      ok: true,
      sessionId: s.sessionId,
      visitorId: s.visitorId,
      number: s.number,
      leaseId: s.leaseId,
      channel: s.channel,
      fallback: s.fallback,
      reason: s.reason,
      startedAtMs,
    };
    this.played.set(v.id, played);
    if (s.leaseId) {
      const alive = this.#keepAlive(v, played).catch(() => undefined);
      this.background.add(alive);
      void alive.finally(() => this.background.delete(alive));
    }
    return played;
  }

  /** Heartbeats while the page is visible, and the last one on pagehide (the tracker's sendBeacon). */
  async #keepAlive(v, played) {
    const endAtMs = played.startedAtMs + v.durationMs / this.compression;
    const beat = () =>
      post(
        `${this.urls.tracker}/v1/sessions/${played.sessionId}/heartbeat`,
        { body: { siteId: this.site.siteId, leaseId: played.leaseId }, headers: { 'x-forwarded-for': v.ip } },
        this.counters,
        'heartbeat',
      ).then(() => {
        this.counters.heartbeats += 1;
      });
    for (let next = played.startedAtMs + this.heartbeatRealMs; next < endAtMs; next += this.heartbeatRealMs) {
      await sleep(next - Date.now());
      await beat();
    }
    await sleep(endAtMs - Date.now());
    await beat();
  }

  async #call(c) {
    // The visit started earlier in simulated time; its answer may still be on the way.
    const visit = await (this.visits.get(c.visitId) ?? Promise.resolve(undefined));
    if (!visit?.ok) {
      this.calls.push({ planned: c, placed: false });
      return;
    }
    const callId = `${this.site.siteId}-${c.id}`;
    const startedAtMs = Date.now();
    const record = { planned: c, placed: true, callId: `generic:${callId}`, dialled: visit.number, startedAtMs, endedAtMs: 0, finalPostedAtMs: 0 };
    this.calls.push(record);
    const send = (report) => {
      const raw = JSON.stringify({ callId, trackingNumber: visit.number, callerNumber: c.phone, direction: 'inbound', ...report });
      this.counters.webhooks += 1;
      return post(
        `${this.urls.telephony}/v1/webhooks/generic/${this.site.siteId}`,
        { rawBody: raw, headers: signGenericWebhook(this.secret, raw) },
        this.counters,
        'webhook',
        3,
      );
    };
    await send({ status: 'ringing', startedAt: startedAtMs });
    await sleep(c.ringMs / this.compression);
    if (c.missed) {
      record.endedAtMs = Date.now();
      await send({ status: 'missed', startedAt: startedAtMs, endedAt: record.endedAtMs });
    } else {
      const answeredAtMs = Date.now();
      await send({ status: 'answered', startedAt: startedAtMs, answeredAt: answeredAtMs });
      await sleep(c.talkMs / this.compression);
      record.endedAtMs = Date.now();
      await send({ status: 'completed', startedAt: startedAtMs, answeredAt: answeredAtMs, endedAt: record.endedAtMs });
    }
    record.finalPostedAtMs = Date.now();
  }
}

/**
 * Runs every site's actions on one clock: simulated time t happens at realStart + t /
 * compression. Actions run concurrently; the scheduler never waits for one to finish.
 */
export async function playAll(drivers, { compression, startMs = 0, onProgress }) {
  const actions = drivers.flatMap((d) => d.actions()).sort((a, b) => a[0] - b[0]);
  const realStart = Date.now() + 200;
  const running = new Set();
  let lastReport = 0;
  for (const [simAt, act] of actions) {
    const due = realStart + (simAt - startMs) / compression;
    const wait = due - Date.now();
    if (wait > 0) await sleep(wait);
    else if (-wait > 250) drivers[0].counters.lateStartsMs.push(-wait);
    const p = act().catch((err) => {
      drivers[0].counters.errors[`action ${err?.message ?? err}`] = (drivers[0].counters.errors[`action ${err?.message ?? err}`] ?? 0) + 1;
    });
    running.add(p);
    void p.finally(() => running.delete(p));
    if (onProgress && Date.now() - lastReport > 10_000) {
      lastReport = Date.now();
      onProgress(simAt, running.size);
    }
  }
  await Promise.all([...running]);
  await Promise.all(drivers.flatMap((d) => [...d.background]));
  return { realStart, realEnd: Date.now() };
}
