/**
 * The LBaaS client of the control-plane load balancer manager: the EMLB implementation's client and token
 * exchange, with the same `ccm_emlb_*` metrics.
 *
 * @module
 */
import type { Registry } from "prom-client";
import type { Clock } from "../../provider/clock.ts";
import { LbaasClient } from "../loadbalancers/emlb/lbaas_client.ts";
import { DEFAULT_LBAAS_URL, DEFAULT_TOKEN_EXCHANGE_URL } from "../loadbalancers/emlb/locations.ts";
import { emlbMetrics } from "../loadbalancers/emlb/metrics.ts";
import { ExchangeTokenSource } from "../loadbalancers/emlb/token_source.ts";

/** Options of {@linkcode createLbaasClient}. */
export interface CreateLbaasClientOptions {
  projectId: string;
  /** Metal API key, exchanged for LBaaS tokens. Never logged. */
  apiKey: string;
  lbaasUrl?: string;
  tokenExchangeUrl?: string;
  metrics?: Registry;
  userAgent?: string;
  /** Injected for tests. */
  fetch?: (request: Request) => Promise<Response>;
  clock?: Clock;
}

/** Builds an LBaaS client that exchanges the API key for tokens (cached until shortly before they expire). */
export function createLbaasClient(options: CreateLbaasClientOptions): LbaasClient {
  const metrics = emlbMetrics(options.metrics);
  const tokens = new ExchangeTokenSource({
    url: options.tokenExchangeUrl || DEFAULT_TOKEN_EXCHANGE_URL,
    apiKey: options.apiKey,
    userAgent: options.userAgent,
    fetch: options.fetch,
    clock: options.clock,
    onExchange: (result) => metrics.tokenExchanges.inc({ result }),
  });
  return new LbaasClient({
    baseUrl: options.lbaasUrl || DEFAULT_LBAAS_URL,
    projectId: options.projectId,
    tokens,
    userAgent: options.userAgent,
    fetch: options.fetch,
    clock: options.clock,
    observe: (operation, code, seconds) => {
      metrics.requests.inc({ operation, code });
      metrics.duration.observe({ operation }, seconds);
    },
  });
}
