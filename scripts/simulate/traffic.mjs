// The traffic plan: people, their visits and their calls over several simulated days,
// drawn from a seeded random source. Times are simulated milliseconds from the start of
// day 1 (00:00 in the site's time zone). The plan is the ground truth: every call names
// the visit whose number the caller dialled. Which number that is only becomes known when
// the visit is played against the real services (driver.mjs).
import { createRandom } from './random.mjs';

export const SIM_MINUTE = 60_000;
export const SIM_HOUR = 60 * SIM_MINUTE;
export const SIM_DAY = 24 * SIM_HOUR;

/** Share of arrivals per hour of the local day: quiet nights, a late-morning and an evening peak. */
export const HOURLY_CURVE = [
  0.15, 0.08, 0.05, 0.04, 0.04, 0.08, 0.25, 0.55, 0.9, 1.2, 1.4, 1.5, 1.45, 1.4, 1.35, 1.3, 1.25, 1.2, 1.3, 1.45, 1.5, 1.2, 0.75, 0.35,
];

const CAMPAIGNS = {
  sofas: ['buy sofa', 'corner sofa', 'sofa bed', 'leather sofa moscow'],
  beds: ['double bed', 'bed with storage', 'orthopedic bed'],
  kitchens: ['kitchen to order', 'modular kitchen', 'kitchen price'],
  sale: ['furniture sale', 'cheap furniture', 'furniture discount'],
};

/**
 * Channels, their share of first visits and the chance that a visit from them leads to a
 * call: paid search and e-mail bring people ready to buy; social brings browsers.
 */
export const CHANNELS = {
  paid_search: { share: 0.3, callRate: 0.1 },
  organic_search: { share: 0.24, callRate: 0.06 },
  direct: { share: 0.14, callRate: 0.07 },
  social: { share: 0.1, callRate: 0.02 },
  referral: { share: 0.08, callRate: 0.05 },
  email: { share: 0.06, callRate: 0.09 },
  paid_social: { share: 0.08, callRate: 0.03 },
};

/** Where a returning person comes from: mostly typed in or bookmarked, then search and ads. */
const RETURN_CHANNELS = [
  ['direct', 0.42],
  ['organic_search', 0.2],
  ['paid_search', 0.22],
  ['email', 0.1],
  ['social', 0.06],
];

export const HUMAN_USER_AGENTS = {
  desktop: [
    'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36',
    'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36',
    'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:127.0) Gecko/20100101 Firefox/127.0',
  ],
  mobile: [
    'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.6478.71 Mobile Safari/537.36',
    'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1',
    'Mozilla/5.0 (Linux; Android 13; SM-A546B) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/125.0.6422.165 Mobile Safari/537.36 YaBrowser/24.6',
  ],
};

/** Crawlers and automation (all recognised by isbot): they see the site's own number and never call. */
export const BOT_USER_AGENTS = [
  'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)',
  'Mozilla/5.0 (compatible; YandexBot/3.0; +http://yandex.com/bots)',
  'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/126.0.0.0 Safari/537.36',
  'python-requests/2.32.3',
  'Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)',
];

export const DEFAULT_TRAFFIC = {
  days: 2,
  /** Local hour of day 1 the simulation starts at (a short run can start in the busy hours). */
  startHour: 0,
  /** Human visits per site per day (first visits and returns together). */
  visitsPerDay: 800,
  /** Bot visits as a share of human visits. */
  botShare: 0.08,
  /** Chance that a person comes back after a visit (again after each return, times 0.75). */
  returnRate: 0.4,
  /** Chance that a return visit is made on another device: a new visitor id, the same phone. */
  newDeviceRate: 0.3,
  /** When a visit leads to a call: during the visit, right after leaving it (within the lease tail), or hours to days later. */
  callTiming: { during: 0.72, after: 0.13, late: 0.15 },
  /** Chance that a call is not answered. */
  missedRate: 0.15,
  /** Chance that a caller calls the same number again later (redials from the phone's call log). */
  redialRate: 0.2,
};

const landing = (path, params) => {
  const url = new URL(`https://shop.example${path}`);
  for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
  return url.toString();
};

/** A visit's landing page and referrer for a channel, as the browser would send them. */
function arrival(rnd, channel) {
  const campaign = rnd.pick(Object.keys(CAMPAIGNS));
  const path = rnd.weighted([
    ['/', 3],
    [`/${campaign}`, 4],
    ['/catalog', 2],
    ['/contacts', 1],
  ]);
  switch (channel) {
    case 'paid_search': {
      const keyword = rnd.pick(CAMPAIGNS[campaign]);
      return rnd.chance(0.55)
        ? {
            landingPage: landing(path, {
              utm_source: 'google',
              utm_medium: 'cpc',
              utm_campaign: campaign,
              utm_term: keyword,
              gclid: `Cj0K${rnd.int(1e8, 9e8)}`,
            }),
            referrer: 'https://www.google.com/',
          }
        : {
            landingPage: landing(path, {
              utm_source: 'yandex',
              utm_medium: 'cpc',
              utm_campaign: campaign,
              utm_term: keyword,
              yclid: String(rnd.int(1e9, 9e9)),
            }),
            referrer: 'https://yandex.ru/',
          };
    }
    case 'organic_search':
      return { landingPage: landing(path, {}), referrer: rnd.pick(['https://www.google.com/', 'https://yandex.ru/', 'https://www.bing.com/']) };
    case 'direct':
      return { landingPage: landing(path, {}), referrer: '' };
    case 'social':
      return { landingPage: landing(path, {}), referrer: rnd.pick(['https://vk.com/', 'https://ok.ru/', 'https://www.facebook.com/']) };
    case 'referral':
      return { landingPage: landing(path, {}), referrer: rnd.pick(['https://interior-blog.example/best-sofas', 'https://furniture-reviews.example/shops']) };
    case 'email':
      return { landingPage: landing(path, { utm_source: 'newsletter', utm_medium: 'email', utm_campaign: 'weekly' }), referrer: '' };
    case 'paid_social':
      return { landingPage: landing(path, { utm_source: 'vk', utm_medium: 'cpc', utm_campaign: `retarget-${campaign}` }), referrer: 'https://vk.com/' };
    default:
      throw new Error(`unknown channel ${channel}`);
  }
}

/** Arrival times of a non-homogeneous Poisson process following the hourly curve (thinning). */
function arrivals(rnd, perDay, start, end, curve) {
  const mean = curve.reduce((a, b) => a + b, 0) / curve.length;
  const peak = Math.max(...curve);
  const peakRatePerMs = (perDay / SIM_DAY) * (peak / mean);
  const out = [];
  let t = start;
  for (;;) {
    t += rnd.exponential(1 / peakRatePerMs);
    if (t >= end) return out;
    const hour = Math.floor((t % SIM_DAY) / SIM_HOUR);
    if (rnd.chance(curve[hour] / peak)) out.push(t);
  }
}

const phoneOf = (n) =>
  `+7916${String(1_000_000 + n)
    .padStart(7, '0')
    .slice(-7)}`;

/**
 * The whole plan for one site. Deterministic: the same seed and options give the same
 * people, visits and calls (so sites with different pools can be fed the same traffic).
 */
export function generateTraffic(seed, options = {}) {
  const o = { ...DEFAULT_TRAFFIC, ...options, callTiming: { ...DEFAULT_TRAFFIC.callTiming, ...(options.callTiming ?? {}) } };
  const rnd = createRandom(`traffic:${seed}`);
  const start = o.startHour * SIM_HOUR;
  const end = start + o.days * SIM_DAY;
  const meanVisitsPerPerson = 1 / (1 - o.returnRate * 0.75 * 0.9);
  const people = [];
  const visits = [];
  const calls = [];

  const firstVisits = arrivals(rnd.fork('arrivals'), o.visitsPerDay / meanVisitsPerPerson, start, end, HOURLY_CURVE);
  const channelShares = Object.entries(CHANNELS).map(([name, c]) => [name, c.share]);
  for (const [n, firstAt] of firstVisits.entries()) {
    const r = rnd.fork(`person:${n}`);
    const person = { id: `p${n}`, phone: phoneOf(n), ip: `10.${r.int(0, 255)}.${r.int(0, 255)}.${r.int(1, 254)}`, devices: [] };
    people.push(person);
    const newDevice = () => {
      const kind = r.chance(0.55) ? 'mobile' : 'desktop';
      person.devices.push({ id: `${person.id}d${person.devices.length}`, userAgent: r.pick(HUMAN_USER_AGENTS[kind]) });
      return person.devices[person.devices.length - 1];
    };
    let at = firstAt;
    let device = newDevice();
    let channel = r.weighted(channelShares);
    let returnChance = o.returnRate;
    let calledBefore = false;
    for (let k = 0; at < end; k += 1) {
      const visit = {
        id: `${person.id}v${k}`,
        personId: person.id,
        deviceId: device.id,
        userAgent: device.userAgent,
        ip: person.ip,
        at,
        // Median 3 minutes on the site, a long tail of readers.
        durationMs: Math.min(45 * SIM_MINUTE, Math.max(15_000, r.logNormal(3 * SIM_MINUTE, 0.9))),
        channel,
        ...arrival(r, channel),
        bot: false,
      };
      visits.push(visit);
      // Someone who already called is less likely to call again from a new visit.
      if (r.chance(CHANNELS[channel].callRate * (calledBefore ? 0.5 : 1))) {
        const timing = r.weighted(Object.entries(o.callTiming));
        const visitEnd = visit.at + visit.durationMs;
        const callAt =
          timing === 'during'
            ? visit.at + r.uniform(0.15, 0.95) * visit.durationMs
            : timing === 'after'
              ? visitEnd + r.uniform(0.2, 8) * SIM_MINUTE
              : visitEnd + SIM_HOUR + r.exponential(10 * SIM_HOUR);
        calledBefore = true;
        let call = addCall(r, calls, person, visit, callAt, timing, o, end);
        // Calling the same number again later, from the phone's call log.
        while (call && r.chance(o.redialRate)) call = addCall(r, calls, person, visit, call.at + 2 * SIM_HOUR + r.exponential(SIM_DAY), 'redial', o, end);
      }
      if (!r.chance(returnChance)) break;
      returnChance *= 0.75;
      at = visit.at + visit.durationMs + 30 * SIM_MINUTE + r.exponential(20 * SIM_HOUR);
      if (r.chance(o.newDeviceRate)) device = newDevice();
      else device = person.devices[person.devices.length - 1];
      channel = r.weighted(RETURN_CHANNELS);
    }
  }

  // Bots arrive around the clock (crawlers do not sleep); some come through ads (click fraud).
  const humanVisits = visits.length;
  const bots = arrivals(
    rnd.fork('bots'),
    (humanVisits / o.days) * o.botShare,
    start,
    end,
    HOURLY_CURVE.map(() => 1),
  );
  for (const [n, at] of bots.entries()) {
    const r = rnd.fork(`bot:${n}`);
    const channel = r.weighted([
      ['paid_search', 0.4],
      ['direct', 0.4],
      ['organic_search', 0.2],
    ]);
    visits.push({
      id: `b${n}`,
      personId: `bot${n}`,
      deviceId: `bot${n}`,
      userAgent: r.pick(BOT_USER_AGENTS),
      ip: `172.16.${r.int(0, 255)}.${r.int(1, 254)}`,
      at,
      durationMs: r.uniform(2_000, 30_000),
      channel,
      ...arrival(r, channel),
      bot: true,
    });
  }
  visits.sort((a, b) => a.at - b.at || (a.id < b.id ? -1 : 1));
  calls.sort((a, b) => a.at - b.at || (a.id < b.id ? -1 : 1));
  return { seed, options: o, startMs: start, endMs: end, people, visits, calls };
}

function addCall(r, calls, person, visit, at, timing, o, end) {
  if (at >= end) return undefined;
  const missed = r.chance(o.missedRate);
  const ringMs = missed ? r.uniform(10_000, 45_000) : r.uniform(3_000, 25_000);
  const talkMs = missed ? 0 : Math.min(40 * SIM_MINUTE, r.logNormal(150_000, 0.9));
  const call = {
    id: `${visit.id}c${calls.filter((c) => c.visitId === visit.id).length}`,
    personId: person.id,
    phone: person.phone,
    visitId: visit.id,
    at,
    timing,
    missed,
    ringMs,
    talkMs,
  };
  calls.push(call);
  return call;
}

/** Visitors holding (or wanting) a number at once, from each human visit's start to its end plus the tail: mean and peak over the run. */
export function concurrency(plan, tailMs) {
  const edges = [];
  for (const v of plan.visits) {
    if (v.bot) continue;
    edges.push([v.at, 1], [v.at + v.durationMs + tailMs, -1]);
  }
  edges.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let live = 0;
  let peak = 0;
  let area = 0;
  let last = plan.startMs;
  for (const [t, d] of edges) {
    const clamped = Math.min(t, plan.endMs);
    area += live * (clamped - last);
    last = clamped;
    live += d;
    peak = Math.max(peak, live);
  }
  return { mean: area / (plan.endMs - plan.startMs), peak };
}
