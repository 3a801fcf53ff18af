/**
 * Exponential backoff with client-go's jitter rule (`wait.Backoff`, `wait.Jitter`): each delay is the current
 * base stretched by a random fraction of at most `jitter`, so the base is a lower bound and clients that fail
 * together spread out above it. The base grows by `factor` per failure until it reaches `maxMs`.
 *
 * @module
 */

/** Options of {@linkcode Backoff} and {@linkcode backoffDelayMs}. */
export interface BackoffOptions {
  /** Base of the first delay (client-go `Duration`). */
  initialMs: number;
  /** The base stops growing here (client-go `Cap`); jitter still stretches it. */
  maxMs: number;
  /**
   * Growth of the base per failure (client-go `Factor`).
   *
   * @default {2}
   */
  factor?: number;
  /**
   * A delay is the base × (1 + `jitter` × random), so up to `jitter` × base longer (client-go `Jitter`); 0 for
   * none.
   *
   * @default {0}
   */
  jitter?: number;
  /** Random source in [0, 1); injectable for tests. */
  random?: () => number;
}

/**
 * `ms` stretched by up to `maxFactor` × `ms` at random: `ms × (1 + maxFactor × random())` (client-go
 * `wait.Jitter`). A `maxFactor` of 0 or less leaves `ms` as it is.
 *
 * @example
 * ```ts
 * const wait = jitter(2_000, 1.2); // between 2 s and 4.4 s
 * ```
 */
export function jitter(ms: number, maxFactor: number, random: () => number = Math.random): number {
  return maxFactor > 0 ? ms * (1 + maxFactor * random()) : ms;
}

/**
 * The delay before retry number `retry` (0 for the first): base `min(maxMs, initialMs × factor^retry)`,
 * jittered as {@linkcode jitter}, rounded to whole milliseconds. For callers that count retries themselves;
 * {@linkcode Backoff} counts them for you.
 */
export function backoffDelayMs(retry: number, options: BackoffOptions): number {
  const base = Math.min(options.maxMs, options.initialMs * (options.factor ?? 2) ** Math.max(0, retry));
  return Math.round(jitter(base, options.jitter ?? 0, options.random));
}

/**
 * Delays for consecutive failures, as {@linkcode backoffDelayMs} with a failure count.
 *
 * @example
 * ```ts
 * const backoff = new Backoff({ initialMs: 1_000, maxMs: 60_000 });
 * backoff.next(); // 1000, then 2000, 4000, … 60000
 * backoff.reset(); // after a success
 * ```
 */
export class Backoff {
  readonly #options: BackoffOptions;
  #failures = 0;

  constructor(options: BackoffOptions) {
    this.#options = { ...options };
  }

  /** The delay before the next attempt; each call counts one more failure. */
  next(): number {
    return backoffDelayMs(this.#failures++, this.#options);
  }

  /** Consecutive failures so far. */
  get failures(): number {
    return this.#failures;
  }

  /** Starts over after a success. */
  reset(): void {
    this.#failures = 0;
  }
}
