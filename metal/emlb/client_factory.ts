/**
 * {@linkcode createLbaasClient}: the LBaaS client with its token exchange and the `ccm_emlb_*` metrics, as
 * both the EMLB implementation (`emlb:///<metro>`) and the control-plane load balancer manager
 * (`METAL_LOAD_BALANCER_ID`) use it.
 *
 * @module
 */
import type { Registry } from "prom-client";
import type { Clock } from "../../util/clock.ts";
import { LbaasClient } from "./lbaas_client.ts";
import { DEFAULT_LBAAS_URL, DEFAULT_TOKEN_EXCHANGE_URL } from "./locations.ts";
import { emlbMetrics } from "./metrics.ts";
import { ExchangeTokenSource } from "./token_source.ts";

/** Options of {@linkcode createLbaasClient}. */
export interface CreateLbaasClientOptions {
  projectId: string;
  /** Metal API key, exchanged for LBaaS tokens. Never logged. */
  apiKey: string;
  /** LBaaS base URL; default {@linkcode DEFAULT_LBAAS_URL}. */
  lbaasUrl?: string;
  /** Token exchange URL; default {@linkcode DEFAULT_TOKEN_EXCHANGE_URL}. */
  tokenExchangeUrl?: string;
  /** Registry for the `ccm_emlb_*` metrics. */
  metrics?: Registry;
  userAgent?: string;
  /** Injected for tests. */
  fetch?: (request: Request) => Promise<Response>;
  /** Injected for tests (token expiry and retry backoff). */
  clock?: Clock;
  /** Injected for tests (retry jitter). */
  random?: () => number;
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
    random: options.random,
    onExchange: (result) => metrics.tokenExchanges.inc({ result }),
  });
  return new LbaasClient({
    baseUrl: options.lbaasUrl || DEFAULT_LBAAS_URL,
    projectId: options.projectId,
    tokens,
    userAgent: options.userAgent,
    fetch: options.fetch,
    clock: options.clock,
    random: options.random,
    observe: (operation, code, seconds) => {
      metrics.requests.inc({ operation, code });
      metrics.duration.observe({ operation }, seconds);
    },
  });
}
