/**
 * client-go's REST client metrics, fed from {@linkcode RequestStats}.
 *
 * @module
 */
import { Counter, Histogram, type Registry } from "prom-client";
import type { RequestStats } from "./transport.ts";

/** Registers `rest_client_requests_total{code,method,host}` and `rest_client_request_duration_seconds{verb,host}`. */
export function registerRequestMetrics(registry: Registry, stats: RequestStats): () => void {
  const total = new Counter({
    name: "rest_client_requests_total",
    help: "Number of HTTP requests, partitioned by status code, method, and host.",
    labelNames: ["code", "method", "host"] as const,
    registers: [registry],
  });
  const duration = new Histogram({
    name: "rest_client_request_duration_seconds",
    help: "Request latency in seconds. Broken down by verb, and host.",
    labelNames: ["verb", "host"] as const,
    // client-go's buckets.
    buckets: [0.005, 0.025, 0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30, 60],
    registers: [registry],
  });
  return stats.onRequest((r) => {
    total.inc({ code: r.code, method: r.method, host: r.host });
    // Time to response headers, so a long-lived watch counts only its start.
    duration.observe({ verb: r.method, host: r.host }, r.durationSeconds);
  });
}
