/**
 * Get-or-create for Prometheus metrics: components that may be built more than once over one registry (a
 * restarted controller, several clients) share the metric registered first instead of failing to register a
 * second one with the same name.
 *
 * @module
 */
import {
  Counter,
  type CounterConfiguration,
  Gauge,
  type GaugeConfiguration,
  Histogram,
  type HistogramConfiguration,
  type Registry,
} from "prom-client";

/** A metric's configuration without `registers`: the registry is the helper's first argument. */
export type MetricOptions<C> = Omit<C, "registers">;

/**
 * The counter named `options.name` in `registry`, registering a new one from `options` when there is none.
 * Without a registry the counter is created unregistered (for components whose metrics are optional).
 *
 * @throws {TypeError} When `registry` holds a metric of that name that is not a counter.
 *
 * @example
 * ```ts
 * const gc = getOrCreateCounter(registry, {
 *   name: "ccm_equinixmetal_loadbalancer_gc_total",
 *   help: "Load balancer implementation garbage collections, by result (success or error)",
 *   labelNames: ["result"],
 * });
 * gc.inc({ result: "success" });
 * ```
 */
export function getOrCreateCounter<L extends string>(
  registry: Registry | undefined,
  options: MetricOptions<CounterConfiguration<L>>,
): Counter<L> {
  return existing(registry, options.name, Counter) ??
    new Counter<L>({ ...options, registers: registry ? [registry] : [] });
}

/** Like {@linkcode getOrCreateCounter}, for a gauge. */
export function getOrCreateGauge<L extends string>(
  registry: Registry | undefined,
  options: MetricOptions<GaugeConfiguration<L>>,
): Gauge<L> {
  return existing(registry, options.name, Gauge) ??
    new Gauge<L>({ ...options, registers: registry ? [registry] : [] });
}

/** Like {@linkcode getOrCreateCounter}, for a histogram. */
export function getOrCreateHistogram<L extends string>(
  registry: Registry | undefined,
  options: MetricOptions<HistogramConfiguration<L>>,
): Histogram<L> {
  return existing(registry, options.name, Histogram) ??
    new Histogram<L>({ ...options, registers: registry ? [registry] : [] });
}

function existing<M>(
  registry: Registry | undefined,
  name: string,
  kind: new (...args: never[]) => M,
): M | undefined {
  const metric = registry?.getSingleMetric(name);
  if (metric === undefined) return undefined;
  if (!(metric instanceof kind)) {
    throw new TypeError(
      `Cannot reuse metric '${name}': it is registered as a ${metric.constructor.name}, not a ${kind.name}`,
    );
  }
  return metric;
}
