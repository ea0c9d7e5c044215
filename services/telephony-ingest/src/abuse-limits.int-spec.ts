// Floods against telephony-ingest on the real broker: webhooks, enquiries and admin
// routes answer 429 with Retry-After past their per-site and per-address limits, the
// refusals are counted, and a flood of forged webhooks writes one log line per site,
// reason and minute. Also: bearer scheme case, two Authorization headers, security headers.
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { createEvent, encodeEvent, siteKey } from '@calltrack/contracts';
import { startService, type RunningService } from '@calltrack/service-kit';
import { createLogger, type Logger } from '@calltrack/telemetry';
import { createKafkaTestEnv, http, produceRaw, signGenericWebhook, waitFor, type KafkaTestEnv } from '@calltrack/testing';
import { loadTelephonyIngestConfig, SERVICE_NAME } from './config.js';
import { TelephonyIngestModule } from './telephony-ingest.module.js';

const ADMIN_TOKEN = 'abuse-admin-token-0123456789';
const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };
const SECRET = 'whsec_abuse_0123456789abcdefghijklmnop';
const SITES = ['flood-a', 'flood-b', 'quiet'];

/** A logger of the service whose warning lines the test reads (and nobody else sees). */
function capturingLogger(): { logger: Logger; warnings: Array<Record<string, unknown>> } {
  const real = createLogger(SERVICE_NAME, 'silent');
  const warnings: Array<Record<string, unknown>> = [];
  const logger = Object.create(real) as Logger;
  // pino's overloads: the wrapper is typed as the method it replaces.
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-assertion
  logger.warn = ((fields: unknown, ...rest: unknown[]) => {
    if (typeof fields === 'object' && fields !== null) warnings.push(fields as Record<string, unknown>);
    // The call goes through as pino's overloads take it; the casts only widen its parameter types.
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-assertion
    return (real.warn as (...a: unknown[]) => void)(fields, ...rest);
  }) as Logger['warn'];
  return { logger, warnings };
}

/** A request with the given raw header lines (fetch folds repeated headers into one). */
function rawGet(url: string, headers: Array<[string, string]>): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    // Raw header lists get no Host header of their own.
    const flat: string[] = [['host', u.host], ...headers].flat();
    const req = httpRequest({ host: u.hostname, port: u.port, path: u.pathname, method: 'GET', headers: flat as unknown as Record<string, string> }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('telephony-ingest abuse limits (integration)', () => {
  let env: KafkaTestEnv;
  let svc: RunningService;
  const captured = capturingLogger();

  const webhook = (site: string, body: string, headers: Record<string, string>) =>
    http('POST', `${svc.url}/v1/webhooks/generic/${site}`, { rawBody: body, headers });
  const call = (id: string) =>
    JSON.stringify({
      callId: id,
      callerNumber: '+79161234567',
      trackingNumber: '+74951234567',
      startedAt: new Date(Date.now() - 60_000).toISOString(),
      status: 'completed',
      answeredAt: new Date(Date.now() - 50_000).toISOString(),
      endedAt: new Date(Date.now() - 10_000).toISOString(),
    });
  const webhookStats = async (site: string) => (await http('GET', `${svc.url}/v1/admin/sites/${site}/webhook-stats`, { headers: admin })).body;

  before(async () => {
    env = await createKafkaTestEnv('abuse-ingest');
    await produceRaw(
      env,
      'sites',
      SITES.map((s) => ({
        key: siteKey(s),
        value: encodeEvent(
          createEvent('SiteConfigured', { name: s, country: 'RU', timeZone: 'Europe/Moscow', defaultNumber: '+74950000000' }, { siteId: s, producer: 'test' }),
        ),
      })),
    );
    const config = {
      ...loadTelephonyIngestConfig({
        ...env.env,
        HTTP_HOST: '127.0.0.1',
        ADMIN_TOKEN,
        // Small limits so that a test-sized flood reaches them; per address high enough for the setup.
        WEBHOOK_RATE_LIMIT_PER_SITE_PER_MINUTE: '40',
        WEBHOOK_RATE_LIMIT_PER_ADDRESS_PER_MINUTE: '1000',
        ENQUIRY_RATE_LIMIT_PER_SITE_PER_MINUTE: '1000',
        ENQUIRY_RATE_LIMIT_PER_ADDRESS_PER_MINUTE: '5',
        ADMIN_RATE_LIMIT_PER_SITE_PER_MINUTE: '30',
        ADMIN_RATE_LIMIT_PER_ADDRESS_PER_MINUTE: '1000',
      }),
      PORT: 0,
    };
    svc = await startService({
      name: SERVICE_NAME,
      module: TelephonyIngestModule.register(config, captured.logger),
      logger: captured.logger,
      host: config.HTTP_HOST,
      port: 0,
    });
    await waitFor(async () => (await http('GET', `${svc.url}/readyz`)).status === 200, { what: 'telephony-ingest ready' });
    for (const site of SITES) {
      await waitFor(
        async () => (await http('PUT', `${svc.url}/v1/admin/sites/${site}/webhook-secret`, { body: { secret: SECRET }, headers: admin })).status === 200,
        { what: `secret of ${site}` },
      );
    }
  });

  after(async () => {
    await svc?.close();
  });

  it('a flood of forged webhooks: 401s counted, one warning line per site and reason, then 429 with Retry-After past the site limit', async () => {
    const statuses: number[] = [];
    let retryAfter: string | null = null;
    for (let i = 0; i < 60; i += 1) {
      const body = call(`forged-${i}`);
      const r = await webhook('flood-a', body, signGenericWebhook('whsec_not_the_secret_0123456789abcdef', body));
      statuses.push(r.status);
      if (r.status === 429) {
        retryAfter = r.headers.get('retry-after');
        assert.equal(r.body.error.code, 'rate_limited');
      }
    }
    assert.deepEqual([...new Set(statuses)], [401, 429], statuses.join(','));
    assert.equal(statuses.filter((s) => s === 401).length, 40, 'the site limit (40 a minute) let 40 through to the signature check');
    assert.ok(Number(retryAfter) >= 1 && Number(retryAfter) <= 60, `Retry-After ${retryAfter}`);

    // Another site is not starved by the flood on flood-a.
    const body = call('honest-1');
    const honest = await webhook('quiet', body, signGenericWebhook(SECRET, body));
    assert.equal(honest.status, 202, JSON.stringify(honest.body));

    const stats = await webhookStats('flood-a');
    assert.equal(stats.rejected.signature_mismatch, 40);
    assert.deepEqual(stats.rateLimited.webhooks, { rate_limited_site: 20 });

    const lines = captured.warnings.filter((w) => w['site_id'] === 'flood-a');
    const keys = lines.map((w) => `${String(w['scope'])}/${String(w['reason'])}`);
    // The flood may straddle a minute boundary: then each key may have a second line, never more.
    for (const key of new Set(keys)) assert.ok(keys.filter((k) => k === key).length <= 2, `${key}: ${keys.join(', ')}`);
    assert.ok(keys.includes('webhooks.generic/signature_mismatch'), keys.join(', '));
    assert.ok(keys.includes('webhooks/rate_limited_site'), keys.join(', '));
    assert.ok(lines.length <= 4, `${lines.length} lines for 60 refusals`);
  });

  it('enquiries past the per-address limit: 429 with Retry-After, counted', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 8; i += 1) {
      const raw = JSON.stringify({ enquiryId: `enq-${i}`, kind: 'form', occurredAt: new Date(Date.now() - 1000).toISOString(), phone: '+79161234567' });
      const r = await http('POST', `${svc.url}/v1/sites/flood-b/enquiries`, { rawBody: raw, headers: signGenericWebhook(SECRET, raw) });
      statuses.push(r.status);
      if (r.status === 429) assert.ok(Number(r.headers.get('retry-after')) >= 1);
    }
    assert.deepEqual(statuses, [200, 200, 200, 200, 200, 429, 429, 429]);
    assert.deepEqual((await webhookStats('flood-b')).rateLimited.enquiries, { rate_limited_address: 3 });
  });

  it('admin routes past the per-site limit: 429 with Retry-After, refused before the token is checked', async () => {
    let first429: { status: number; headers: Headers; body: { error: { code: string } } } | undefined;
    let ok = 0;
    for (let i = 0; i < 40 && !first429; i += 1) {
      const r = await http('GET', `${svc.url}/v1/admin/sites/quiet/webhook-stats`, { headers: admin });
      if (r.status === 429) first429 = r;
      else ok += 1;
    }
    assert.ok(first429, 'the per-site admin limit was reached');
    assert.ok(ok <= 30, `${ok} answered within a limit of 30`);
    assert.ok(Number(first429.headers.get('retry-after')) >= 1);
    assert.equal(first429.body.error.code, 'rate_limited');
    const wrongToken = await http('GET', `${svc.url}/v1/admin/sites/quiet/webhook-stats`, { headers: { authorization: 'Bearer wrong-token-0123456789' } });
    assert.equal(wrongToken.status, 429, 'a token guess is throttled too');
    // Other sites' admin routes are untouched.
    assert.equal((await http('GET', `${svc.url}/v1/admin/sites/flood-b/webhook-stats`, { headers: admin })).status, 200);
  });

  it('accepts a lowercase bearer scheme and refuses two Authorization headers', async () => {
    const lower = await http('GET', `${svc.url}/v1/admin/sites/flood-b/webhook-stats`, { headers: { authorization: `bearer ${ADMIN_TOKEN}` } });
    assert.equal(lower.status, 200);
    const url = `${svc.url}/v1/admin/sites/flood-b/webhook-stats`;
    const two = await rawGet(url, [
      ['authorization', `Bearer ${ADMIN_TOKEN}`],
      ['authorization', 'Bearer something-else-0123456789'],
    ]);
    assert.equal(two.status, 400, two.body);
    assert.equal((JSON.parse(two.body) as { error: { code: string } }).error.code, 'duplicate_authorization');
    const folded = await http('GET', url, { headers: { authorization: `Bearer ${ADMIN_TOKEN}, Bearer something-else-0123456789` } });
    assert.equal(folded.status, 400);
    const one = await rawGet(url, [['authorization', `Bearer ${ADMIN_TOKEN}`]]);
    assert.equal(one.status, 200);
  });

  it('JSON answers (success and error) carry nosniff and no-store', async () => {
    const okAnswer = await http('GET', `${svc.url}/v1/admin/sites/flood-b/webhook-stats`, { headers: admin });
    const errorAnswer = await http('GET', `${svc.url}/v1/admin/sites/flood-b/webhook-stats`);
    const notFound = await http('GET', `${svc.url}/v1/nothing-here`);
    for (const r of [okAnswer, errorAnswer, notFound]) {
      assert.equal(r.headers.get('x-content-type-options'), 'nosniff');
      assert.equal(r.headers.get('cache-control'), 'no-store');
    }
    assert.equal(errorAnswer.status, 401);
  });
});
