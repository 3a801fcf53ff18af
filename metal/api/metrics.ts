/**
 * Prometheus metrics of the Metal API client, labelled by stable operation name (`list_devices`,
 * `get_device`, ...), never by URL. Names follow the in-tree `cloudprovider_<provider>_api_*` pattern.
 *
 * @module
 */
import type { Counter, Histogram, Registry } from "prom-client";
import { getOrCreateCounter, getOrCreateHistogram } from "../../provider/mod.ts";

/** What the client reports about its requests; {@linkcode MetalApiMetrics} turns it into Prometheus metrics. */
export interface MetalApiObserver {
  /** One HTTP attempt finished; `code` is the HTTP status, or `timeout` / `network` when there was none. */
  request(operation: string, code: string, seconds: number): void;
  /** An attempt failed and will be retried; `reason` is the status code, `timeout` or `network`. */
  retry(operation: string, reason: string): void;
  /** The call waited for the client-side rate limiter or a server-requested pause. */
  rateLimitWait(operation: string, seconds: number): void;
  /** The call failed for good; `error` is the error class name, for example `MetalTransientError`. */
  failure(operation: string, error: string): void;
}

/** Prometheus metric names, exported for dashboards and tests. */
export const METAL_API_METRIC_NAMES = Object.freeze({
  duration: "cloudprovider_equinixmetal_api_request_duration_seconds",
  requests: "cloudprovider_equinixmetal_api_requests_total",
  retries: "cloudprovider_equinixmetal_api_request_retries_total",
  errors: "cloudprovider_equinixmetal_api_request_errors_total",
  rateLimitWaits: "cloudprovider_equinixmetal_api_rate_limit_waits_total",
  rateLimitWaitSeconds: "cloudprovider_equinixmetal_api_rate_limit_wait_seconds_total",
});

/**
 * Metal API metrics on a given registry. Constructing it twice on one registry reuses the registered metrics.
 *
 * @example
 * ```ts
 * const registry = new Registry();
 * const client = new HttpMetalClient({ apiKey, observer: new MetalApiMetrics(registry) });
 * ```
 */
export class MetalApiMetrics implements MetalApiObserver {
  #duration: Histogram<"request">;
  #requests: Counter<"request" | "code">;
  #retries: Counter<"request" | "reason">;
  #errors: Counter<"request" | "error">;
  #waits: Counter<"request">;
  #waitSeconds: Counter<"request">;

  constructor(registry: Registry) {
    const n = METAL_API_METRIC_NAMES;
    this.#duration = getOrCreateHistogram(registry, {
      name: n.duration,
      help: "Latency of Equinix Metal API requests (each HTTP attempt), by operation",
      labelNames: ["request"] as const,
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    });
    this.#requests = getOrCreateCounter(registry, {
      name: n.requests,
      help: "Equinix Metal API requests (each HTTP attempt), by operation and status code",
      labelNames: ["request", "code"] as const,
    });
    this.#retries = getOrCreateCounter(registry, {
      name: n.retries,
      help: "Equinix Metal API requests retried, by operation and reason",
      labelNames: ["request", "reason"] as const,
    });
    this.#errors = getOrCreateCounter(registry, {
      name: n.errors,
      help: "Equinix Metal API calls that failed after retries, by operation and error class",
      labelNames: ["request", "error"] as const,
    });
    this.#waits = getOrCreateCounter(registry, {
      name: n.rateLimitWaits,
      help: "Equinix Metal API requests that waited for the rate limiter or a server-requested pause",
      labelNames: ["request"] as const,
    });
    this.#waitSeconds = getOrCreateCounter(registry, {
      name: n.rateLimitWaitSeconds,
      help: "Time Equinix Metal API requests spent waiting for the rate limiter or a server-requested pause",
      labelNames: ["request"] as const,
    });
  }

  request(operation: string, code: string, seconds: number): void {
    this.#requests.inc({ request: operation, code });
    this.#duration.observe({ request: operation }, seconds);
  }

  retry(operation: string, reason: string): void {
    this.#retries.inc({ request: operation, reason });
  }

  rateLimitWait(operation: string, seconds: number): void {
    this.#waits.inc({ request: operation });
    this.#waitSeconds.inc({ request: operation }, seconds);
  }

  failure(operation: string, error: string): void {
    this.#errors.inc({ request: operation, error });
  }
}
