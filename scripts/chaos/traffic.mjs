// The chaos run's clients: visitors through the session API (start, heartbeats while the
// page is open) and a telephony provider through the signed generic webhook (ringing,
// answered, then completed or missed; final reports resent as providers do; spam callers
// from the site's blocklist). Every request and its answer is recorded: these records are
// what the checks compare the system's outputs with.
import { signGenericWebhook } from '@calltrack/testing';

const sleep = (ms) => new Promise((r) => setTimeout(r, Math.max(0, ms)));

/** One HTTP request with a time limit; status 0 = no answer (refused, reset), -1 = no answer in time (a hang). */
async function request(method, url, { body, rawBody, headers = {}, timeoutMs }) {
  const started = Date.now();
  const h = { ...headers };
  let payload = rawBody;
  if (payload === undefined && body !== undefined) {
    payload = JSON.stringify(body);
    h['content-type'] ??= 'application/json';
  }
  try {
    const res = await fetch(url, { method, headers: h, body: payload, signal: AbortSignal.timeout(timeoutMs) });
    const text = await res.text();
    let parsed;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = text;
    }
    return { status: res.status, body: parsed, ms: Date.now() - started, retryAfter: res.headers.get('retry-after') };
  } catch (err) {
    const timedOut = err?.name === 'TimeoutError';
    return { status: timedOut ? -1 : 0, body: String(err?.cause?.code ?? err?.message ?? err), ms: Date.now() - started };
  }
}

const statusLabel = (s) => (s === -1 ? 'no answer in time' : s === 0 ? 'connection failed' : String(s));

export class ChaosTraffic {
  /**
   * @param {object} o  trackerUrl, telephonyUrl, siteId, defaultNumber, webhookSecret, spamCallers,
   *   visitsPerSecond, callsPerSecond, spamShare, duplicateShare, heartbeatMs, requestTimeoutMs,
   *   answerLimitMs, providerRetryMs, random
   * @param {() => number} o.random  seeded source of [0, 1)
   */
  constructor(o) {
    Object.assign(this, o);
    /** sessionId → what the visitor was shown */
    this.sessions = new Map();
    /** every session start: when it was asked, how it was answered */
    this.sessionStarts = [];
    /** provider call id → the call as the provider reported it */
    this.calls = new Map();
    this.counters = {
      sessionAnswers: {},
      heartbeatAnswers: {},
      webhookAnswers: {},
      slowestMs: { session: 0, heartbeat: 0, webhook: 0 },
      slow: { session: 0, heartbeat: 0, webhook: 0 },
      resends: 0,
      providerRetries: 0,
    };
    this.inFlight = new Set();
    this.running = false;
    this.callSeq = 0;
  }

  #count(kind, res) {
    const bucket = this.counters[`${kind}Answers`];
    const label = statusLabel(res.status);
    bucket[label] = (bucket[label] ?? 0) + 1;
    this.counters.slowestMs[kind] = Math.max(this.counters.slowestMs[kind], res.ms);
    // A connection refused is answered at once (the process is down); an answer that takes longer than the limit, or never comes, is a hang.
    if (res.status === -1 || res.ms > this.answerLimitMs) this.counters.slow[kind] += 1;
  }

  #track(promise) {
    const p = promise.catch((err) => {
      this.counters.driverErrors = (this.counters.driverErrors ?? 0) + 1;
      this.lastDriverError = String(err?.stack ?? err);
    });
    this.inFlight.add(p);
    void p.finally(() => this.inFlight.delete(p));
  }

  start() {
    this.running = true;
    this.loops = [this.#loop(this.visitsPerSecond, () => this.#visit()), this.#loop(this.callsPerSecond, () => this.#call())];
  }

  /** Stops starting visits and calls; resolves when every started one has finished (calls: acknowledged or given up). */
  async stop() {
    this.running = false;
    await Promise.all(this.loops ?? []);
    while (this.inFlight.size > 0) await Promise.all([...this.inFlight]);
  }

  async #loop(perSecond, act) {
    if (perSecond <= 0) return;
    // Poisson arrivals: exponential gaps.
    let next = Date.now();
    while (this.running) {
      next += (-Math.log(1 - this.random()) / perSecond) * 1000;
      await sleep(next - Date.now());
      if (!this.running) break;
      this.#track(act());
    }
  }

  async #visit() {
    const n = this.sessionStarts.length;
    const ip = `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${(n & 255) + 1}`;
    const record = { requestAtMs: Date.now(), status: undefined, answeredAtMs: undefined, sessionId: undefined };
    this.sessionStarts.push(record);
    const campaign = ['sofas', 'beds', 'kitchens'][n % 3];
    const res = await request('POST', `${this.trackerUrl}/v1/sessions`, {
      body: {
        siteId: this.siteId,
        landingPage: `https://shop.example/${campaign}?utm_source=google&utm_medium=cpc&utm_campaign=${campaign}`,
        referrer: 'https://www.google.com/',
        userAgent: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/126.0 Safari/537.36',
      },
      headers: { 'x-forwarded-for': ip, 'user-agent': 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/126.0 Safari/537.36' },
      timeoutMs: this.requestTimeoutMs,
    });
    this.#count('session', res);
    record.status = res.status;
    record.answeredAtMs = Date.now();
    if (res.status !== 201) return;
    const s = res.body;
    record.sessionId = s.sessionId;
    const visit = {
      ...record,
      ip,
      number: s.number,
      leaseId: s.leaseId ?? '',
      fallback: Boolean(s.fallback),
      reason: s.reason ?? '',
      endsAtMs: record.answeredAtMs + 3000 + this.random() * 9000,
    };
    this.sessions.set(s.sessionId, visit);
    if (!visit.leaseId) return;
    // Heartbeats while the page is open, and the last one on pagehide.
    for (;;) {
      const at = Math.min(Date.now() + this.heartbeatMs, visit.endsAtMs);
      await sleep(at - Date.now());
      const beat = await request('POST', `${this.trackerUrl}/v1/sessions/${visit.sessionId}/heartbeat`, {
        body: { siteId: this.siteId, leaseId: visit.leaseId },
        headers: { 'x-forwarded-for': ip },
        timeoutMs: this.requestTimeoutMs,
      });
      this.#count('heartbeat', beat);
      if (at >= visit.endsAtMs) return;
    }
  }

  /** A visitor seen in the last few seconds, still on the page or just gone (a call made while the number is held). */
  #pickVisit() {
    const now = Date.now();
    const recent = [];
    for (const v of [...this.sessions.values()].slice(-200)) if (now - v.answeredAtMs < 15_000) recent.push(v);
    return recent.length > 0 ? recent[Math.floor(this.random() * recent.length)] : undefined;
  }

  async #call() {
    const spam = this.random() < this.spamShare;
    const visit = this.#pickVisit();
    const seq = (this.callSeq += 1);
    const providerCallId = `chaos-${seq}-${Math.floor(this.random() * 1e9).toString(36)}`;
    const call = {
      providerCallId,
      callId: `generic:${providerCallId}`,
      spam,
      callerNumber: spam ? this.spamCallers[seq % this.spamCallers.length] : `+7916${String(1_000_000 + seq).slice(-7)}`,
      dialled: visit?.number ?? this.defaultNumber,
      sessionId: visit?.sessionId,
      finalStatus: this.random() < 0.2 ? 'missed' : 'completed',
      finalAcked: false,
      finalSentAtMs: 0,
      reportsAcked: 0,
      reportsGivenUp: 0,
    };
    this.calls.set(providerCallId, call);
    const startedAt = Date.now();
    const base = {
      callId: providerCallId,
      trackingNumber: call.dialled,
      callerNumber: call.callerNumber,
      direction: 'inbound',
      startedAt: new Date(startedAt).toISOString(),
    };
    await this.#report(call, { ...base, status: 'ringing' }, false);
    await sleep(300 + this.random() * 1200);
    let final;
    if (call.finalStatus === 'missed') {
      final = { ...base, status: 'missed', endedAt: new Date().toISOString() };
    } else {
      const answeredAt = new Date().toISOString();
      await this.#report(call, { ...base, status: 'answered', answeredAt }, false);
      await sleep(500 + this.random() * 2500);
      final = { ...base, status: 'completed', answeredAt, endedAt: new Date().toISOString() };
    }
    call.finalSentAtMs = Date.now();
    await this.#report(call, final, true);
    // A provider that did not see our answer, or resends anyway: the same report again.
    if (this.random() < this.duplicateShare) {
      await sleep(this.random() * 2000);
      this.counters.resends += 1;
      await this.#report(call, final, true);
    }
  }

  /** Sends one report; retried (a provider retries a failed webhook) until acknowledged or providerRetryMs has passed. */
  async #report(call, report, final) {
    const raw = JSON.stringify(report);
    const giveUpAt = Date.now() + this.providerRetryMs;
    for (let attempt = 0; ; attempt += 1) {
      const res = await request('POST', `${this.telephonyUrl}/v1/webhooks/generic/${this.siteId}`, {
        rawBody: raw,
        headers: signGenericWebhook(this.webhookSecret, raw),
        timeoutMs: this.requestTimeoutMs,
      });
      this.#count('webhook', res);
      if (res.status >= 200 && res.status < 300) {
        call.reportsAcked += 1;
        if (final) call.finalAcked = true;
        return;
      }
      // 4xx other than 408/429 is a refusal: resending the same bytes cannot help.
      const retryable = res.status <= 0 || res.status === 408 || res.status === 429 || res.status >= 500;
      if (!retryable || Date.now() > giveUpAt) {
        call.reportsGivenUp += 1;
        if (!retryable) call.refused = `${res.status} ${JSON.stringify(res.body).slice(0, 200)}`;
        return;
      }
      this.counters.providerRetries += 1;
      const hinted = Number(res.retryAfter) * 1000;
      await sleep(Number.isFinite(hinted) && hinted > 0 ? Math.min(hinted, 10_000) : Math.min(8000, 250 * 2 ** attempt));
    }
  }
}
