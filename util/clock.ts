/**
 * Time as a dependency: logic with timers takes a {@linkcode Clock} so unit tests can drive it with a
 * {@linkcode FakeClock} instead of waiting.
 *
 * @module
 */

/** Wall-clock time and cancellable sleeping. */
export interface Clock {
  /** Milliseconds since the Unix epoch. */
  now(): number;
  /** Resolves after `ms` milliseconds; rejects with `signal.reason` as soon as `signal` aborts. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

/** The real clock: `Date.now()` and `setTimeout`. */
export const systemClock: Clock = {
  now: () => Date.now(),
  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        clearTimeout(timer);
        reject(signal?.reason);
      };
      const timer = setTimeout(() => {
        signal?.removeEventListener("abort", onAbort);
        resolve();
      }, Math.max(0, ms));
      signal?.addEventListener("abort", onAbort, { once: true });
    });
  },
};

interface Sleeper {
  wakeAt: number;
  resolve(): void;
}

/**
 * A clock that only moves when told to. {@linkcode FakeClock.advance} wakes every sleeper whose deadline has
 * passed, in deadline order, letting promise chains run between wake-ups.
 *
 * @example
 * ```ts
 * const clock = new FakeClock(0);
 * const slept = clock.sleep(1000);
 * await clock.advance(1000); // `slept` is now resolved
 * ```
 */
export class FakeClock implements Clock {
  #now: number;
  #sleepers: Sleeper[] = [];

  constructor(startMs = 0) {
    this.#now = startMs;
  }

  now(): number {
    return this.#now;
  }

  /** Number of pending sleeps; lets tests wait until the code under test is blocked on the clock. */
  get pendingSleeps(): number {
    return this.#sleepers.length;
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise((resolve, reject) => {
      const sleeper: Sleeper = {
        wakeAt: this.#now + Math.max(0, ms),
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

  /** Moves time forward by `ms`, waking due sleepers one by one (each followed by a macrotask turn). */
  async advance(ms: number): Promise<void> {
    const target = this.#now + ms;
    for (;;) {
      const due = this.#sleepers
        .filter((s) => s.wakeAt <= target)
        .sort((a, b) => a.wakeAt - b.wakeAt)[0];
      if (!due) break;
      this.#sleepers = this.#sleepers.filter((s) => s !== due);
      this.#now = Math.max(this.#now, due.wakeAt);
      due.resolve();
      await settle();
    }
    this.#now = target;
    await settle();
  }
}

/** Lets pending promise callbacks run (one macrotask turn). */
export function settle(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

/**
 * Lets the code under test run until it waits on something: `turns` macrotask turns (so every promise chain
 * that is not blocked moves on), each first waking the sleepers of `clock` that are due now. For tests; use
 * {@linkcode until} when there is a condition to wait for.
 *
 * @example
 * ```ts
 * informer.upsert(node("n1"));
 * await flush(clock);
 * assert.deepEqual(writer.writes, []); // nothing happened, and nothing is still about to
 * ```
 */
export async function flush(clock?: FakeClock, turns = 10): Promise<void> {
  for (let i = 0; i < turns; i++) {
    if (clock) await clock.advance(0);
    else await settle();
  }
}

/** Options of {@linkcode until}. */
export interface UntilOptions {
  /**
   * Real time to wait before failing.
   *
   * @default {5000}
   */
  timeoutMs?: number;
  /** Woken at each turn as in {@linkcode flush}; fake time does not move. */
  clock?: FakeClock | undefined;
  /** What is awaited, for the timeout error. */
  message?: string;
}

/**
 * Resolves as soon as `predicate` holds, checking it once per macrotask turn; rejects after `timeoutMs` of
 * real time. For tests: it replaces fixed sleeps and loops of {@linkcode settle} before an assertion.
 *
 * @throws {Error} When `predicate` still fails after `timeoutMs`.
 *
 * @example
 * ```ts
 * await until(() => recorder.reasons().includes("Synced"), { message: "the Synced event" });
 * ```
 */
export async function until(predicate: () => boolean, options: UntilOptions = {}): Promise<void> {
  const timeoutMs = options.timeoutMs ?? 5_000;
  const deadline = performance.now() + timeoutMs;
  while (!predicate()) {
    if (performance.now() >= deadline) {
      throw new Error(`Timed out after ${timeoutMs} ms waiting for ${options.message ?? "the condition"}`);
    }
    if (options.clock) await options.clock.advance(0);
    else await settle();
  }
}
