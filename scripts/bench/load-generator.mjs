// Runs in its own process so the load generator does not share an event loop with what it measures.
import autocannon from 'autocannon';

const input = JSON.parse(
  await new Promise((resolve) => {
    let s = '';
    process.stdin.on('data', (d) => (s += d));
    process.stdin.on('end', () => resolve(s));
  }),
);
let fallbacks = 0;
const result = await autocannon({
  url: input.url,
  method: 'POST',
  headers: { 'content-type': 'application/json' },
  // Round-robin over the sites' bodies.
  requests: input.bodies.map((body) => ({ body })),
  connections: Math.min(200, Math.max(10, Math.ceil(input.rate / 20))),
  overallRate: input.rate,
  duration: input.seconds,
  setupClient: (client) =>
    client.on('body', (b) => {
      if (b.includes('"fallback":true')) fallbacks += 1;
    }),
});
process.stdout.write(
  JSON.stringify({
    throughput: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
    fallbacks,
  }),
);
