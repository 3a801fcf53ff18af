/**
 * A {@linkcode Clock} for tests: time only moves when the test calls {@linkcode ManualClock.advance}.
 *
 * @module
 */
import type { Clock } from "../clock.ts";

interface Sleeper {
  at: number;
  resolve(): void;
}

/**
 * A clock that stands still until advanced; sleepers wake in time order.
 *
 * @example Usage
 * ```ts
 * const clock = new ManualClock();
 * const done = clock.sleep(1000);
 * await clock.advance(1000);
 * await done;
 * ```
 */
export class ManualClock implements Clock {
  #now: number;
  #sleepers: Sleeper[] = [];

  constructor(start = 1_700_000_000_000) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise((resolve, reject) => {
      const sleeper: Sleeper = {
        at: this.#now + Math.max(0, ms),
        resolve: () => {
          signal?.removeEventListener("abort", onAbort);
          resolve();
        },
      };
      const onAbort = () => {
        this.#sleepers = this.#sleepers.filter((s) => s !== sleeper);
        reject(signal?.reason);
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.#sleepers.push(sleeper);
    });
  }

  /** Number of sleeps not yet woken. */
  get pendingSleeps(): number {
    return this.#sleepers.length;
  }

  /** Moves time forward by `ms`, waking sleepers in order and letting their continuations run. */
  async advance(ms: number): Promise<void> {
    const target = this.#now + ms;
    await settle();
    for (;;) {
      const next = this.#sleepers.reduce<Sleeper | undefined>(
        (min, s) => (s.at <= target && (min === undefined || s.at < min.at) ? s : min),
        undefined,
      );
      if (next === undefined) break;
      this.#sleepers = this.#sleepers.filter((s) => s !== next);
      this.#now = Math.max(this.#now, next.at);
      next.resolve();
      await settle();
    }
    this.#now = target;
    await settle();
  }
}

/** Lets pending promise continuations run (one macrotask turn). */
export function settle(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}
