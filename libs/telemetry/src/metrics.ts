import {
  collectDefaultMetrics,
  Counter,
  Gauge,
  Histogram,
  Registry,
  type CounterConfiguration,
  type GaugeConfiguration,
  type HistogramConfiguration,
} from 'prom-client';

/**
 * Prometheus metrics of the process (prom-client): one registry per process, shared by the
 * service kit (HTTP), libs/kafka (consumers, producer), libs/clickhouse and the services'
 * domain counters. Every series carries the constant label `service` (set by initMetrics).
 * Metric names are listed in docs/operations.md; labels stay bounded: never a site, call,
 * visitor or any other id.
 */
export const metricsRegistry = new Registry();

let defaultsOn = false;

/** Names the process (`service` label on every series) and turns Node's default metrics on, once. */
export function initMetrics(service: string): void {
  metricsRegistry.setDefaultLabels({ service });
  if (defaultsOn) return;
  defaultsOn = true;
  collectDefaultMetrics({ register: metricsRegistry });
}

/** The registry's exposition (Prometheus text format) and its content type. */
export async function renderMetrics(): Promise<{ contentType: string; body: string }> {
  return { contentType: metricsRegistry.contentType, body: await metricsRegistry.metrics() };
}

// Get-or-create: a metric is defined where it is used (a library, a service), and several
// users in one process (tests start several services in one process) share it.
function existing<T>(name: string, kind: new (...args: never[]) => T): T | undefined {
  const found = metricsRegistry.getSingleMetric(name);
  if (found === undefined) return undefined;
  if (!(found instanceof kind)) throw new Error(`metric ${name} is already registered with another type`);
  return found;
}

export function counter<L extends string = string>(config: Omit<CounterConfiguration<L>, 'registers'>): Counter<L> {
  return existing<Counter<L>>(config.name, Counter) ?? new Counter<L>({ ...config, registers: [metricsRegistry] });
}

export function gauge<L extends string = string>(config: Omit<GaugeConfiguration<L>, 'registers'>): Gauge<L> {
  return existing<Gauge<L>>(config.name, Gauge) ?? new Gauge<L>({ ...config, registers: [metricsRegistry] });
}

export function histogram<L extends string = string>(config: Omit<HistogramConfiguration<L>, 'registers'>): Histogram<L> {
  return existing<Histogram<L>>(config.name, Histogram) ?? new Histogram<L>({ ...config, registers: [metricsRegistry] });
}

/** Seconds buckets for latencies from a millisecond (a cached answer) to a minute (a stuck dependency). */
export const LATENCY_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

/** Seconds elapsed since `startNs` (process.hrtime.bigint()). */
export function secondsSince(startNs: bigint): number {
  return Number(process.hrtime.bigint() - startNs) / 1e9;
}

export type { Counter, Gauge, Histogram };
