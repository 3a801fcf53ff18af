/**
 * Checks over the simulator's request log (pure functions): whether a client waited out every `Retry-After`,
 * and whether its request rate stayed within a token bucket's bounds.
 *
 * @module
 */
import type { LoggedRequest } from "./bed.ts";

/** A request sent sooner than the `Retry-After` of the answer before it. */
export interface RetryAfterViolation {
  /** The answer that asked to wait. */
  answer: LoggedRequest;
  /** The next request for the same method, path and query. */
  next: LoggedRequest;
  /** How much too early, in milliseconds. */
  earlyMs: number;
}

function keyOf(r: LoggedRequest): string {
  return `${r.userAgent} ${r.method} ${r.path}?${r.query}`;
}

/** Options of {@linkcode retryAfterViolations}. */
export interface RetryAfterOptions {
  /**
   * Requests arriving this soon after the answer was sent are not counted: the client sent them before it
   * could have read the answer (default 250 ms: on a busy two-core machine a burst of requests the client
   * released at once reaches the simulator's log spread over a few hundred milliseconds).
   */
  inFlightMs?: number;
  /**
   * Earliness up to this much is clock granularity, not a violation (default 2 ms: client and simulator both
   * read whole milliseconds).
   */
  granularityMs?: number;
  /** Answers that took this long or longer never reached the client: it had given up (default 30 s). */
  clientTimeoutMs?: number;
}

/**
 * Every answer with a `Retry-After` (seconds) whose next request for the same method, path and query (from the
 * same user agent) arrived sooner than that many seconds after the answer was sent (arrival + duration, by the
 * simulator's clock); the client read the answer no sooner, so a client that waits from it is never early.
 */
export function retryAfterViolations(
  requests: readonly LoggedRequest[],
  options: RetryAfterOptions = {},
): RetryAfterViolation[] {
  const inFlightMs = options.inFlightMs ?? 250;
  const granularityMs = options.granularityMs ?? 2;
  const clientTimeoutMs = options.clientTimeoutMs ?? 30_000;
  const sorted = [...requests].sort((a, b) => a.seq - b.seq);
  const pending = new Map<string, LoggedRequest>();
  const violations: RetryAfterViolation[] = [];
  for (const r of sorted) {
    const key = keyOf(r);
    const answer = pending.get(key);
    if (answer !== undefined) {
      pending.delete(key);
      const sent = Date.parse(answer.time) + answer.durationMs;
      const due = sent + Number(answer.retryAfter) * 1000;
      const at = Date.parse(r.time);
      if (at >= sent + inFlightMs && at < due - granularityMs) {
        violations.push({ answer, next: r, earlyMs: due - at });
      }
    }
    const seen = r.retryAfter !== undefined && /^\d+$/.test(r.retryAfter) && r.durationMs < clientTimeoutMs;
    if (seen) pending.set(key, r);
  }
  return violations;
}

/** The most requests that arrived within any `windowMs` (a sliding window over arrival times). */
export function peakCount(requests: readonly LoggedRequest[], windowMs: number): number {
  const times = requests.map((r) => Date.parse(r.time)).sort((a, b) => a - b);
  let peak = 0;
  let start = 0;
  for (let end = 0; end < times.length; end++) {
    while (times[end]! - times[start]! >= windowMs) start++;
    peak = Math.max(peak, end - start + 1);
  }
  return peak;
}

/** A window in which more requests arrived than a token bucket allows. */
export interface RateViolation {
  windowMs: number;
  count: number;
  allowed: number;
}

/**
 * Windows (of each length in `windowsMs`) with more requests than a token bucket of `qps` and `burst` lets
 * through — `burst + qps × window` — plus `slack` for arrival jitter on a loaded machine.
 */
export function rateViolations(
  requests: readonly LoggedRequest[],
  options: { qps: number; burst: number; slack: number; windowsMs: readonly number[] },
): RateViolation[] {
  const violations: RateViolation[] = [];
  for (const windowMs of options.windowsMs) {
    const allowed = Math.floor(options.burst + options.qps * windowMs / 1000) + options.slack;
    const count = peakCount(requests, windowMs);
    if (count > allowed) violations.push({ windowMs, count, allowed });
  }
  return violations;
}
