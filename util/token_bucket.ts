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
  /**
   * Tokens `background` callers leave in the bucket for `normal` ones; default all but one (`burst - 1`):
   * background work then takes only the tokens that would overflow a full bucket, so it keeps the whole rate
   * while nobody else calls, and a burst of normal callers (100 Services created at once) finds the burst
   * waiting. Without a reserve, background work that always waits drains every token as it refills, so each
   * normal caller waits up to a whole refill period (100 ms at 10 qps) although it has priority.
   */
  backgroundReserve?: number;
  clock?: Clock;
}

/**
 * Who waits for a token: `normal` callers reserve in arrival order; `background` callers (work that can wait,
 * such as BGP backfill) take a token only when no normal caller is waiting for one and more than the
 * background reserve is left, so normal callers arriving one at a time find a token at once.
 */
export type AcquirePriority = "normal" | "background";

interface BackgroundWaiter {
  resolve(): void;
  reject(reason: unknown): void;
  signal?: AbortSignal;
  onAbort?: () => void;
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
  readonly backgroundReserve: number;
  #clock: Clock;
  /** Tokens available at `#last`; negative when callers have reserved future tokens. */
  #tokens: number;
  #last: number;
  #background: BackgroundWaiter[] = [];
  #pumping = false;

  constructor(options: TokenBucketOptions) {
    if (!(options.qps > 0)) {
      throw new Error(`Invalid qps "${options.qps}": must be greater than 0 (Infinity disables limiting)`);
    }
    if (!(options.burst >= 1) || !Number.isFinite(options.burst)) {
      throw new Error(`Invalid burst "${options.burst}": must be a finite number of at least 1`);
    }
    const reserve = options.backgroundReserve ?? Math.floor(options.burst - 1);
    if (!(reserve >= 0 && reserve <= options.burst - 1)) {
      throw new Error(
        `Invalid backgroundReserve "${reserve}": must be between 0 and burst - 1 (${options.burst - 1})`,
      );
    }
    this.qps = options.qps;
    this.burst = options.burst;
    this.backgroundReserve = reserve;
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
   * given back and the promise rejects with `signal.reason`. A `background` caller yields to every `normal`
   * caller, including those that arrive while it waits.
   */
  async acquire(signal?: AbortSignal, priority: AcquirePriority = "normal"): Promise<void> {
    signal?.throwIfAborted();
    if (priority === "background") return await this.#acquireBackground(signal);
    const waitMs = this.reserve();
    if (waitMs === 0) return;
    try {
      await this.#clock.sleep(waitMs, signal);
    } catch (err) {
      this.#tokens += 1;
      throw err;
    }
  }

  /** Background callers wait unreserved, in arrival order, until a whole token is free (see `#pump`). */
  #acquireBackground(signal: AbortSignal | undefined): Promise<void> {
    if (this.qps === Infinity) return Promise.resolve();
    if (this.#background.length === 0 && this.available() >= 1 + this.backgroundReserve) {
      this.#tokens -= 1;
      return Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => {
      const waiter: BackgroundWaiter = { resolve, reject, signal };
      if (signal) {
        waiter.onAbort = () => {
          const at = this.#background.indexOf(waiter);
          if (at >= 0) this.#background.splice(at, 1);
          reject(signal.reason);
        };
        signal.addEventListener("abort", waiter.onAbort, { once: true });
      }
      this.#background.push(waiter);
      void this.#pump();
    });
  }

  /**
   * Hands tokens beyond the reserve to background waiters; sleeps until the next whole one while normal callers
   * hold them.
   */
  async #pump(): Promise<void> {
    if (this.#pumping) return;
    this.#pumping = true;
    try {
      while (this.#background.length > 0) {
        const available = this.available() - this.backgroundReserve;
        if (available >= 1) {
          const waiter = this.#background.shift()!;
          if (waiter.onAbort) waiter.signal?.removeEventListener("abort", waiter.onAbort);
          this.#tokens -= 1;
          waiter.resolve();
          continue;
        }
        await this.#clock.sleep(Math.max(1, Math.ceil(((1 - available) / this.qps) * 1000)));
      }
    } finally {
      this.#pumping = false;
    }
  }

  /** Background callers waiting for a token. */
  backgroundWaiting(): number {
    return this.#background.length;
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
