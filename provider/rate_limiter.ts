/**
 * Work-queue rate limiters with client-go semantics: per-item exponential backoff, an overall token bucket, and
 * the maximum of several limiters.
 *
 * @module
 */
import type { Clock } from "../util/clock.ts";
import { TokenBucket, type TokenBucketOptions } from "../util/token_bucket.ts";

/** Decides how long an item waits before it is processed again. */
export interface RateLimiter {
  /** Delay in milliseconds before `item` may be retried; counts a failure for per-item limiters. */
  when(item: string): number;
  /** Clears the failure history of `item` (call after a successful sync). */
  forget(item: string): void;
  /** How many times `item` has been rate limited since it was last forgotten. */
  numRequeues(item: string): number;
}

/** Options for {@linkcode ItemExponentialRateLimiter}. */
export interface ItemExponentialOptions {
  /** Delay after the first failure, in milliseconds. */
  baseMs: number;
  /** Upper bound of the delay, in milliseconds. */
  maxMs: number;
}

/** Per-item exponential backoff: `baseMs * 2^failures`, capped at `maxMs` (client-go `ItemExponentialFailureRateLimiter`). */
export class ItemExponentialRateLimiter implements RateLimiter {
  readonly #baseMs: number;
  readonly #maxMs: number;
  readonly #failures = new Map<string, number>();

  constructor({ baseMs, maxMs }: ItemExponentialOptions) {
    if (!(baseMs > 0) || !(maxMs >= baseMs)) {
      throw new RangeError(
        `Cannot create rate limiter: 'baseMs' must be positive and at most 'maxMs' (got ${baseMs} and ${maxMs})`,
      );
    }
    this.#baseMs = baseMs;
    this.#maxMs = maxMs;
  }

  when(item: string): number {
    const failures = this.#failures.get(item) ?? 0;
    this.#failures.set(item, failures + 1);
    // 2^failures overflows to Infinity long before it matters; min() keeps the cap.
    return Math.min(this.#maxMs, this.#baseMs * 2 ** failures);
  }

  forget(item: string): void {
    this.#failures.delete(item);
  }

  numRequeues(item: string): number {
    return this.#failures.get(item) ?? 0;
  }
}

/**
 * An overall token bucket shared by all items (client-go `BucketRateLimiter`): each call reserves a token and
 * returns how long to wait for it.
 */
export class TokenBucketRateLimiter implements RateLimiter {
  readonly #bucket: TokenBucket;

  constructor(options: TokenBucketOptions) {
    this.#bucket = new TokenBucket(options);
  }

  when(_item: string): number {
    return this.#bucket.reserve();
  }

  forget(_item: string): void {}

  numRequeues(_item: string): number {
    return 0;
  }
}

/** The longest delay of several limiters (client-go `MaxOfRateLimiter`). */
export class MaxOfRateLimiter implements RateLimiter {
  readonly #limiters: RateLimiter[];

  constructor(...limiters: RateLimiter[]) {
    this.#limiters = limiters;
  }

  when(item: string): number {
    return Math.max(0, ...this.#limiters.map((l) => l.when(item)));
  }

  forget(item: string): void {
    for (const l of this.#limiters) l.forget(item);
  }

  numRequeues(item: string): number {
    return Math.max(0, ...this.#limiters.map((l) => l.numRequeues(item)));
  }
}

/** Options for {@linkcode controllerRateLimiter}. */
export interface ControllerRateLimiterOptions {
  /** First per-item retry delay; default 5 ms (client-go default controller limiter). */
  baseMs?: number;
  /** Longest per-item retry delay; default 1000 s. */
  maxMs?: number;
  /** Overall retries per second; default 10. */
  qps?: number;
  /** Overall burst; default 100. */
  burst?: number;
  clock?: Clock;
}

/**
 * The usual controller limiter: max(per-item exponential backoff, overall token bucket). Defaults match
 * client-go's `DefaultControllerRateLimiter` (5 ms → 1000 s, 10 qps, burst 100).
 */
export function controllerRateLimiter(options: ControllerRateLimiterOptions = {}): RateLimiter {
  const { baseMs = 5, maxMs = 1_000_000, qps = 10, burst = 100, clock } = options;
  return new MaxOfRateLimiter(
    new ItemExponentialRateLimiter({ baseMs, maxMs }),
    new TokenBucketRateLimiter({ qps, burst, clock }),
  );
}

/**
 * Longest per-node retry delay of the cloud node controller. Upstream's 1000 s means a node whose device
 * appears in the provider late (still provisioning, or a slow API) can stay tainted for ~16 minutes after the
 * device is there; 30 s keeps that wait short, and one call per failing node per 30 s is cheap.
 */
export const NODE_MAX_BACKOFF_MS = 30_000;

/** The cloud node controller's limiter: per-node backoff 5 ms → 30 s plus the overall token bucket. */
export function nodeRateLimiter(options: { clock?: Clock } = {}): RateLimiter {
  return controllerRateLimiter({ maxMs: NODE_MAX_BACKOFF_MS, clock: options.clock });
}

/**
 * Longest wait of a Service whose sync failed on the cloud API's own trouble (5xx, 429, timeouts). Upstream's
 * 300 s cap means a Service that failed through a long outage got its load balancer up to 5 minutes after the
 * API came back; 30 s bounds that, and one try per failing Service per 30 s is cheap next to the outage
 * itself. Other failures (a Service the cloud refuses) keep backing off to 300 s.
 */
export const SERVICE_TRANSIENT_MAX_BACKOFF_MS = 30_000;

/** The service controller's limiter: per-service backoff 5 s → 300 s plus the overall token bucket. */
export function serviceRateLimiter(options: { clock?: Clock } = {}): RateLimiter {
  return controllerRateLimiter({ baseMs: 5_000, maxMs: 300_000, clock: options.clock });
}
