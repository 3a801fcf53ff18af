/**
 * Retry timing for the Metal API client: exponential backoff with jitter, and reading the server's
 * "wait this long" headers. Pure functions; the client does the waiting.
 *
 * @module
 */
import { backoffDelayMs as sharedBackoffDelayMs } from "../../util/backoff.ts";

/** How the client retries failed requests. */
export interface RetryPolicy {
  /** Retries after the first attempt (so `maxRetries + 1` attempts at most). */
  maxRetries: number;
  /** Longest backoff before the first retry (it waits half to all of it); doubles each retry. */
  baseDelayMs: number;
  /** Upper bound of one backoff delay (a delay this late waits half to all of it). */
  maxDelayMs: number;
  /**
   * Longest `Retry-After` the client waits out itself; a longer one fails the call at once with
   * `MetalRateLimitedError` so the caller's work queue can schedule the retry instead of blocking a worker.
   */
  maxRetryAfterMs: number;
}

/** Default retry policy: up to 4 retries, 250 ms doubling to at most 10 s, `Retry-After` up to 60 s. */
export const DEFAULT_RETRY_POLICY: RetryPolicy = Object.freeze({
  maxRetries: 4,
  baseDelayMs: 250,
  maxDelayMs: 10_000,
  maxRetryAfterMs: 60_000,
});

/**
 * Backoff before retry number `retry` (0 for the first retry): with `limit = min(maxDelayMs, baseDelayMs *
 * 2^retry)`, a uniform random delay between `limit / 2` and `limit` (the shared rule of
 * {@linkcode sharedBackoffDelayMs}: a base of half the limit, jitter 1), so many clients failing together
 * spread out.
 *
 * @param random Source of uniform numbers in [0, 1); injected for tests.
 */
export function backoffDelayMs(
  retry: number,
  policy: Pick<RetryPolicy, "baseDelayMs" | "maxDelayMs">,
  random: () => number = Math.random,
): number {
  return sharedBackoffDelayMs(retry, {
    initialMs: policy.baseDelayMs / 2,
    maxMs: policy.maxDelayMs / 2,
    jitter: 1,
    random,
  });
}

/** Unix time in seconds above which an `X-RateLimit-Reset` value is read as a timestamp, not a delay. */
const UNIX_SECONDS_THRESHOLD = 1_000_000_000;

/**
 * How long the server asked us to wait, in milliseconds, or `undefined` when it did not say: `Retry-After`
 * (delay in seconds or an HTTP date) first, then `X-RateLimit-Reset` (Unix seconds; small values are read as
 * a delay in seconds). Dates in the past give 0.
 */
export function retryAfterMs(headers: Headers, nowMs: number): number | undefined {
  const retryAfter = headers.get("retry-after")?.trim();
  if (retryAfter) {
    if (/^\d+(\.\d+)?$/.test(retryAfter)) return Math.ceil(Number(retryAfter) * 1000);
    const date = Date.parse(retryAfter);
    if (!Number.isNaN(date)) return Math.max(0, date - nowMs);
  }
  const reset = headers.get("x-ratelimit-reset")?.trim();
  if (reset && /^\d+(\.\d+)?$/.test(reset)) {
    const seconds = Number(reset);
    if (seconds < UNIX_SECONDS_THRESHOLD) return Math.ceil(seconds * 1000);
    return Math.max(0, Math.ceil(seconds * 1000 - nowMs));
  }
  return undefined;
}
