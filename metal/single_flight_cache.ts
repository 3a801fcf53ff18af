/**
 * {@linkcode SingleFlightCache}: one value loaded on demand and reused for a TTL, however many callers ask —
 * concurrent callers share the load in flight. The device cache and the IP reservation cache are built on
 * it.
 *
 * @module
 */
import { type Clock, systemClock } from "../util/clock.ts";

/** A loaded value and the clock time its load started. */
export interface Loaded<T> {
  readonly fetchedAt: number;
  readonly value: T;
}

/** Options of {@linkcode SingleFlightCache}. */
export interface SingleFlightCacheOptions<T> {
  /** Loads the value; `startedAt` is the clock time the load started. A rejection is passed on as it is. */
  load: (startedAt: number) => Promise<T>;
  /** How long a loaded value is reused. */
  ttlMs: number;
  /**
   * After a failed load, calls within this time reject at once with its error instead of loading again;
   * default 0 (every call after a failure loads again). At most the TTL.
   */
  failureHoldMs?: number;
  clock?: Clock;
}

/** Options of {@linkcode SingleFlightCache.get}. */
export interface GetOptions {
  /** Stops waiting (the shared load itself keeps going for other callers). */
  signal?: AbortSignal;
  /** Reuse a cached value only when younger than this (capped by the TTL). */
  maxAgeMs?: number;
  /** Only a load started by this call will do (not the cached value, nor a load already in flight). */
  fresh?: boolean;
}

/**
 * See the module documentation. A failed load is never cached as a value (at most its error is remembered
 * for `failureHoldMs`), and nothing older than the TTL is served, so trouble shows up as an error, never as
 * stale data.
 */
export class SingleFlightCache<T> {
  #load: (startedAt: number) => Promise<T>;
  #ttlMs: number;
  #failureHoldMs: number;
  #clock: Clock;
  #loaded: Loaded<T> | undefined;
  #inflight: Promise<Loaded<T>> | undefined;
  /** The last load's error and when it failed, while no load succeeded after it. */
  #failure: { error: unknown; at: number } | undefined;
  /** Bumped by {@linkcode fence} and {@linkcode invalidate}: a load started before is not stored. */
  #generation = 0;
  /** Loads are numbered as they start; {@linkcode #storedLoad} is the number of the stored one. */
  #loadsStarted = 0;
  #storedLoad = 0;

  constructor(options: SingleFlightCacheOptions<T>) {
    this.#load = options.load;
    this.#ttlMs = options.ttlMs;
    this.#failureHoldMs = Math.min(options.failureHoldMs ?? 0, options.ttlMs);
    this.#clock = options.clock ?? systemClock;
  }

  /**
   * The value, loaded when the cached one is older than the TTL (or `maxAgeMs`), or `fresh` is asked for.
   * Within `failureHoldMs` of a failed load, rejects with its error at once.
   */
  get(options?: GetOptions): Promise<Loaded<T>> {
    const now = this.#clock.now();
    if (!options?.fresh) {
      const maxAge = Math.min(options?.maxAgeMs ?? this.#ttlMs, this.#ttlMs);
      const current = this.#loaded;
      if (current && now - current.fetchedAt < maxAge) return Promise.resolve(current);
      const failure = this.#failure;
      if (failure && now - failure.at < this.#failureHoldMs) return Promise.reject(failure.error);
    }
    return abortable(this.#refresh(options?.fresh ?? false), options?.signal);
  }

  /** The cached value whatever its age, if any. */
  get current(): Loaded<T> | undefined {
    return this.#loaded;
  }

  /** Makes loads in flight now not be stored when they finish (a write they may predate is under way). */
  fence(): void {
    this.#generation++;
  }

  /** Replaces the cached value, keeping its time (for writes of our own that the value should show). */
  update(change: (value: T) => T): void {
    if (this.#loaded) this.#loaded = { ...this.#loaded, value: change(this.#loaded.value) };
  }

  /** Forgets the cached value and any remembered failure; the next call loads again. */
  invalidate(): void {
    this.#generation++;
    this.#loaded = undefined;
    this.#inflight = undefined;
    this.#failure = undefined;
  }

  /** Shares the load in flight unless `fresh`, which always starts one. */
  #refresh(fresh: boolean): Promise<Loaded<T>> {
    if (this.#inflight && !fresh) return this.#inflight;
    const generation = this.#generation;
    const load = ++this.#loadsStarted;
    const started = this.#clock.now();
    const inflight = this.#load(started).then(
      (value) => {
        const loaded: Loaded<T> = { fetchedAt: started, value };
        // Never replace the value of a load that started later (a fresh one may have overtaken this one).
        if (generation === this.#generation && load > this.#storedLoad) {
          this.#loaded = loaded;
          this.#storedLoad = load;
          this.#failure = undefined;
        }
        return loaded;
      },
      (err) => {
        if (generation === this.#generation && this.#failureHoldMs > 0) {
          this.#failure = { error: err, at: this.#clock.now() };
        }
        throw err;
      },
    ).finally(() => {
      if (this.#inflight === inflight) this.#inflight = undefined;
    });
    this.#inflight = inflight;
    return inflight;
  }
}

/** `promise`, or a rejection with `signal.reason` as soon as `signal` aborts (without cancelling `promise`). */
function abortable<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return promise;
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}
