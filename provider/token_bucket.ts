/**
 * A token bucket rate limiter (client-go's `flowcontrol.NewTokenBucketRateLimiter`): tokens refill at `qps` per
 * second up to `burst`; each request takes one, waiting its turn when the bucket is empty.
 *
 * @module
 */
import { type Clock, systemClock } from "./clock.ts";

/** Options of {@linkcode TokenBucket}. */
export interface TokenBucketOptions {
  /** Sustained rate in tokens per second; `Infinity` disables limiting. */
  qps: number;
  /** Bucket size: how many tokens can be taken at once after a quiet period. */
  burst: number;
  clock?: Clock;
}

/**
 * Token bucket with first-come-first-served reservations: a caller that must wait reserves the next token at
 * once, so later callers queue behind it rather than racing for refills.
 *
 * @example
 * ```ts
 * const limiter = new TokenBucket({ qps: 20, burst: 30 });
 * await limiter.acquire(); // resolves at once while tokens remain, later otherwise
 * ```
 */
export class TokenBucket {
  readonly qps: number;
  readonly burst: number;
  #clock: Clock;
  /** Tokens available at `#last`; negative when callers have reserved future tokens. */
  #tokens: number;
  #last: number;

  constructor(options: TokenBucketOptions) {
    if (!(options.qps > 0)) {
      throw new Error(`Invalid qps "${options.qps}": must be greater than 0 (Infinity disables limiting)`);
    }
    if (!(options.burst >= 1) || !Number.isFinite(options.burst)) {
      throw new Error(`Invalid burst "${options.burst}": must be a finite number of at least 1`);
    }
    this.qps = options.qps;
    this.burst = options.burst;
    this.#clock = options.clock ?? systemClock;
    this.#tokens = options.burst;
    this.#last = this.#clock.now();
  }

  /**
   * Takes a token now and returns how many milliseconds the caller must wait before using it (0 when one was
   * available). Use {@linkcode acquire} to wait; this suits callers that schedule instead (work queues).
   */
  reserve(): number {
    if (this.qps === Infinity) return 0;
    this.#refill();
    this.#tokens -= 1;
    return this.#tokens >= 0 ? 0 : Math.ceil((-this.#tokens / this.qps) * 1000);
  }

  /**
   * Waits until a token is available and takes it. If `signal` aborts while waiting, the reserved token is
   * given back and the promise rejects with `signal.reason`.
   */
  async acquire(signal?: AbortSignal): Promise<void> {
    signal?.throwIfAborted();
    const waitMs = this.reserve();
    if (waitMs === 0) return;
    try {
      await this.#clock.sleep(waitMs, signal);
    } catch (err) {
      this.#tokens += 1;
      throw err;
    }
  }

  /** Tokens available now (fractional; negative while callers wait). */
  available(): number {
    if (this.qps === Infinity) return Infinity;
    this.#refill();
    return this.#tokens;
  }

  #refill(): void {
    const now = this.#clock.now();
    const elapsed = Math.max(0, now - this.#last);
    this.#last = now;
    this.#tokens = Math.min(this.burst, this.#tokens + (elapsed / 1000) * this.qps);
  }
}
