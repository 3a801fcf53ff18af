/**
 * Metrics of the EMLB implementation: LBaaS requests by operation and outcome, their latency, and token
 * exchanges.
 *
 * @module
 */
import type { Counter, Histogram, Registry } from "prom-client";
import { getOrCreateCounter, getOrCreateHistogram } from "../../provider/mod.ts";

/** The EMLB metrics. */
export interface EmlbMetrics {
  readonly requests: Counter<"operation" | "code">;
  readonly duration: Histogram<"operation">;
  readonly tokenExchanges: Counter<"result">;
}

/** The EMLB metrics in `registry`, created on first use; unregistered when no registry is given. */
export function emlbMetrics(registry?: Registry): EmlbMetrics {
  return {
    requests: getOrCreateCounter(registry, {
      name: "ccm_emlb_requests_total",
      help: "Equinix Metal Load Balancer API requests, by operation and status code (or timeout/network).",
      labelNames: ["operation", "code"] as const,
    }),
    duration: getOrCreateHistogram(registry, {
      name: "ccm_emlb_request_duration_seconds",
      help: "Latency of Equinix Metal Load Balancer API requests, by operation.",
      labelNames: ["operation"] as const,
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    }),
    tokenExchanges: getOrCreateCounter(registry, {
      name: "ccm_emlb_token_exchanges_total",
      help: "Exchanges of the Metal API key for a load balancer API token, by result.",
      labelNames: ["result"] as const,
    }),
  };
}
