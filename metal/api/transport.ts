/**
 * {@linkcode MetalTransport}: sends one Metal API request with the token and user agent, a per-attempt timeout,
 * the shared client-side rate limiter, retries with backoff, typed errors, metrics and trace logging.
 * `HttpMetalClient` builds its calls on it.
 *
 * @module
 */
import { STATUS_CODES } from "node:http";
import { getLogger, type Logger } from "@logtape/logtape";
import { type Clock, systemClock } from "../../util/clock.ts";
import { errorMessage } from "../../util/errors.ts";
import { type AcquirePriority, TokenBucket } from "../../util/token_bucket.ts";
import {
  MetalApiError,
  MetalForbiddenError,
  MetalInvalidError,
  MetalNotFoundError,
  MetalRateLimitedError,
  type MetalRequestInfo,
  MetalResponseError,
  MetalTransientError,
  MetalUnauthorizedError,
} from "./errors.ts";
import type { MetalApiObserver } from "./metrics.ts";
import { backoffDelayMs, DEFAULT_RETRY_POLICY, retryAfterMs, type RetryPolicy } from "./retry.ts";

/** The public Equinix Metal API. */
export const DEFAULT_METAL_BASE_URL = "https://api.equinix.com/metal/v1";

/** Default client-side limit shared by every controller: 10 requests/s sustained, bursts of 20. */
export const DEFAULT_METAL_RATE_LIMIT = Object.freeze({ qps: 10, burst: 20 });

/** Options of {@linkcode MetalTransport}. */
export interface MetalTransportOptions {
  /** Metal API key, sent as `X-Auth-Token`. Never logged. */
  apiKey: string;
  /** API base URL; default {@linkcode DEFAULT_METAL_BASE_URL}. */
  baseUrl?: string;
  /** CCM version for the user agent `cloud-provider-equinix-metal/<version> ccm`. */
  version?: string;
  /** Per-attempt timeout, covering the response body too; default 30 s. */
  timeoutMs?: number;
  /** Retry tuning; missing fields take {@linkcode DEFAULT_RETRY_POLICY} values. */
  retry?: Partial<RetryPolicy>;
  /**
   * Client-side rate limiter, shared by everything that uses this client; default
   * {@linkcode DEFAULT_METAL_RATE_LIMIT}.
   */
  rateLimiter?: TokenBucket;
  /** Receives per-request metrics, usually a `MetalApiMetrics`. */
  observer?: MetalApiObserver;
  /** Default category `["ccm", "metal", "api"]`; every request is logged at trace level (-v=5). */
  logger?: Logger;
  /** Injected for tests; default the global `fetch`. */
  fetch?: (request: Request) => Response | Promise<Response>;
  /**
   * Called right before every attempt of a request that is not a GET (after the rate limiter); throwing
   * fails the request unsent. Leader-election fencing: a deposed leader must not write.
   */
  beforeWrite?: () => void;
  /** Injected for tests; times backoff, pauses and the rate limiter. */
  clock?: Clock;
  /** Uniform random numbers in [0, 1) for jitter; injected for tests. */
  random?: () => number;
}

/** When a request may be sent again after a failure. */
export type RetryMode =
  /** Safe to repeat (GET, PUT, PATCH, DELETE, or a POST whose duplicate the API rejects harmlessly). */
  | "idempotent"
  /**
   * Not safe to repeat once it may have reached the server; retried only on 429, which the API answers before
   * doing anything.
   */
  | "rate-limit-only";

/** One logical request. */
export interface RequestSpec {
  /** Stable operation name for metrics, logs and errors, for example `get_device`. */
  operation: string;
  method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
  /** Path below the base URL, ids already encoded. */
  path: string;
  query?: URLSearchParams;
  /** Sent as JSON when present. */
  body?: unknown;
  retry: RetryMode;
  signal: AbortSignal | undefined;
  /** Place at the shared rate limiter; default `normal`. */
  priority?: AcquirePriority;
}

/** Outcome of one attempt that may be retried. */
interface RetryableFailure {
  error: MetalApiError;
  /** Metric label: status code, `timeout` or `network`. */
  reason: string;
  /** Server-requested delay. */
  waitMs?: number;
}

/**
 * Sends Metal API requests. Retries with exponential backoff and jitter on 429 (honouring `Retry-After` /
 * `X-RateLimit-Reset`), 5xx, timeouts and connection errors — for requests that are safe to repeat; others only
 * on 429. A 429, or a 5xx with `Retry-After`, pauses every request of this transport until the server's delay
 * has passed — also requests that were already waiting for the rate limiter.
 */
export class MetalTransport {
  #apiKey: string;
  #baseUrl: string;
  #userAgent: string;
  #timeoutMs: number;
  #retry: RetryPolicy;
  #limiter: TokenBucket;
  #observer: MetalApiObserver | undefined;
  #logger: Logger;
  #fetch: (request: Request) => Response | Promise<Response>;
  #clock: Clock;
  #random: () => number;
  #beforeWrite: (() => void) | undefined;
  /** Until when (clock ms) every request waits, after a 429. */
  #pausedUntil = 0;

  constructor(options: MetalTransportOptions) {
    if (!options.apiKey) {
      throw new Error("Cannot create Metal API client: the API key is empty; set METAL_API_KEY or 'apiKey'");
    }
    this.#apiKey = options.apiKey;
    const baseUrl = options.baseUrl || DEFAULT_METAL_BASE_URL;
    try {
      new URL(baseUrl);
    } catch {
      throw new Error(
        `Cannot create Metal API client: invalid base URL "${baseUrl}"; use an absolute URL such as "${DEFAULT_METAL_BASE_URL}"`,
      );
    }
    this.#baseUrl = baseUrl.replace(/\/+$/, "");
    this.#userAgent = `cloud-provider-equinix-metal/${options.version ?? "dev"} ccm`;
    this.#timeoutMs = options.timeoutMs ?? 30_000;
    this.#retry = { ...DEFAULT_RETRY_POLICY, ...options.retry };
    this.#clock = options.clock ?? systemClock;
    this.#limiter = options.rateLimiter ??
      new TokenBucket({ ...DEFAULT_METAL_RATE_LIMIT, clock: this.#clock });
    this.#observer = options.observer;
    this.#logger = options.logger ?? getLogger(["ccm", "metal", "api"]);
    this.#fetch = options.fetch ?? ((request) => fetch(request));
    this.#random = options.random ?? Math.random;
    this.#beforeWrite = options.beforeWrite;
  }

  /** The base URL requests go to, without trailing slash. */
  get baseUrl(): string {
    return this.#baseUrl;
  }

  /** Sends one logical request with retries; resolves with the parsed JSON body (`undefined` when empty). */
  async request(spec: RequestSpec): Promise<unknown> {
    try {
      return await this.#attempts(spec);
    } catch (err) {
      if (err instanceof MetalApiError) this.#observer?.failure(spec.operation, err.name);
      throw err;
    }
  }

  async #attempts(spec: RequestSpec): Promise<unknown> {
    for (let retry = 0;; retry++) {
      await this.#waitForTurn(spec);
      if (spec.method !== "GET") this.#beforeWrite?.();
      const outcome = await this.#attempt(spec);
      if (!("error" in outcome)) return outcome.body;
      const { error, reason, waitMs } = outcome;
      const rateLimited = error instanceof MetalRateLimitedError;
      const mayRetry = spec.retry === "idempotent" || rateLimited;
      const delayMs = waitMs ?? backoffDelayMs(retry, this.#retry, this.#random);
      // The server asked everyone to wait (a rate limit, or "unavailable, retry after"): pause every call,
      // whether or not this one is tried again.
      const serverDelay = rateLimited || waitMs !== undefined;
      if (serverDelay && delayMs <= this.#retry.maxRetryAfterMs) {
        this.#pausedUntil = Math.max(this.#pausedUntil, this.#clock.now() + delayMs);
      }
      if (!mayRetry || retry >= this.#retry.maxRetries || (waitMs ?? 0) > this.#retry.maxRetryAfterMs) {
        throw error;
      }
      this.#observer?.retry(spec.operation, reason);
      this.#logger.debug("Retrying Metal API request after {reason}", {
        operation: spec.operation,
        method: spec.method,
        path: spec.path,
        reason,
        retry: retry + 1,
        delayMs,
      });
      if (!serverDelay) await this.#clock.sleep(delayMs, spec.signal);
    }
  }

  /**
   * Waits out a server-requested pause and takes a token from the shared rate limiter — then waits out any
   * pause that began while it waited for the token.
   */
  async #waitForTurn(spec: RequestSpec): Promise<void> {
    spec.signal?.throwIfAborted();
    const started = this.#clock.now();
    await this.#waitOutPause(spec.signal);
    await this.#limiter.acquire(spec.signal, spec.priority);
    await this.#waitOutPause(spec.signal);
    const waitedMs = this.#clock.now() - started;
    if (waitedMs > 0) this.#observer?.rateLimitWait(spec.operation, waitedMs / 1000);
  }

  async #waitOutPause(signal: AbortSignal | undefined): Promise<void> {
    for (let pauseMs = this.#pausedUntil - this.#clock.now(); pauseMs > 0;) {
      await this.#clock.sleep(pauseMs, signal);
      pauseMs = this.#pausedUntil - this.#clock.now();
    }
  }

  /** One HTTP attempt: a parsed body, a retryable failure, or a thrown final error. */
  async #attempt(spec: RequestSpec): Promise<{ body: unknown } | RetryableFailure> {
    const url = `${this.#baseUrl}${spec.path}${spec.query?.size ? `?${spec.query}` : ""}`;
    const headers = new Headers({
      "Accept": "application/json",
      "User-Agent": this.#userAgent,
      "X-Auth-Token": this.#apiKey,
    });
    if (spec.body !== undefined) headers.set("Content-Type", "application/json");
    // A plain timer rather than AbortSignal.timeout, so it is cleared as soon as the attempt ends.
    const timeout = new AbortController();
    const timer = setTimeout(
      () => timeout.abort(new DOMException(`No answer within ${this.#timeoutMs} ms`, "TimeoutError")),
      this.#timeoutMs,
    );
    const signal = spec.signal ? AbortSignal.any([spec.signal, timeout.signal]) : timeout.signal;
    const reqInfo: MetalRequestInfo = { operation: spec.operation, method: spec.method, path: pathOf(spec) };
    const started = performance.now();
    let status: number | undefined;
    let text: string;
    let response: Response;
    try {
      response = await this.#fetch(
        new Request(url, {
          method: spec.method,
          headers,
          body: spec.body === undefined ? undefined : JSON.stringify(spec.body),
          signal,
        }),
      );
      status = response.status;
      text = await response.text();
    } catch (err) {
      if (spec.signal?.aborted) throw spec.signal.reason;
      const timedOut = timeout.signal.aborted;
      const reason = timedOut ? "timeout" : "network";
      this.#record(spec, reason, started, status);
      const detail = timedOut
        ? `no answer within ${this.#timeoutMs} ms`
        : `connection failed: ${errorMessage(err)}`;
      return {
        error: new MetalTransientError({ ...reqInfo, status }, detail, {
          kind: timedOut ? "timeout" : "network",
          cause: err,
        }),
        reason,
      };
    } finally {
      clearTimeout(timer);
    }
    this.#record(spec, String(status), started, status);
    reqInfo.status = status;
    if (status >= 200 && status < 300) return { body: parseBody(reqInfo, text) };
    return this.#failure(reqInfo, response, text);
  }

  #failure(reqInfo: MetalRequestInfo, response: Response, text: string): RetryableFailure {
    const status = response.status;
    const detail = `${status} ${STATUS_CODES[status] ?? response.statusText}`.trim();
    const serverMessages = errorMessages(text);
    const options = { serverMessages };
    if (status === 429) {
      const waitMs = retryAfterMs(response.headers, this.#clock.now());
      const retryAfter = waitMs ?? this.#retry.baseDelayMs;
      return {
        error: new MetalRateLimitedError(reqInfo, detail, { ...options, retryAfterMs: retryAfter }),
        reason: "429",
        waitMs: waitMs ?? backoffDelayMs(0, this.#retry, this.#random),
      };
    }
    if (status >= 500) {
      return {
        error: new MetalTransientError(reqInfo, detail, { ...options, kind: "server" }),
        reason: String(status),
        waitMs: retryAfterMs(response.headers, this.#clock.now()),
      };
    }
    switch (status) {
      case 401:
        throw new MetalUnauthorizedError(reqInfo, `${detail} (check the API key)`, options);
      case 403:
        throw new MetalForbiddenError(
          reqInfo,
          `${detail} (the API key may not access this resource)`,
          options,
        );
      case 404:
        throw new MetalNotFoundError(reqInfo, detail, options);
      case 422:
        throw new MetalInvalidError(reqInfo, detail, options);
      default:
        throw new MetalResponseError(reqInfo, `unexpected status ${detail}`, options);
    }
  }

  #record(spec: RequestSpec, code: string, started: number, status: number | undefined): void {
    const durationMs = performance.now() - started;
    this.#observer?.request(spec.operation, code, durationMs / 1000);
    // The token travels only in headers, which are never logged.
    this.#logger.trace("Sent Metal API request", {
      operation: spec.operation,
      method: spec.method,
      path: pathOf(spec),
      status: status ?? code,
      durationMs: Math.round(durationMs),
    });
  }
}

/** What an error says about the request `spec`. */
export function requestInfo(spec: RequestSpec): MetalRequestInfo {
  return { operation: spec.operation, method: spec.method, path: pathOf(spec) };
}

function pathOf(spec: RequestSpec): string {
  return spec.query?.size ? `${spec.path}?${spec.query}` : spec.path;
}

/** Whether `value` is a JSON object. */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function parseBody(reqInfo: MetalRequestInfo, text: string): unknown {
  if (text.trim() === "") return undefined;
  try {
    return JSON.parse(text);
  } catch {
    throw new MetalResponseError(reqInfo, "unexpected response body: not JSON");
  }
}

/** The `errors[]` and `error` strings of an error body; none when the body is not the API's error JSON. */
function errorMessages(text: string): string[] {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return [];
  }
  if (!isRecord(body)) return [];
  const messages = Array.isArray(body.errors) ? body.errors.filter((m) => typeof m === "string") : [];
  if (typeof body.error === "string" && body.error) messages.push(body.error);
  return messages;
}
