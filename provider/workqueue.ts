/**
 * A rate-limited, de-duplicating work queue with client-go semantics:
 * - an item is queued at most once; adding it again while it waits is a no-op;
 * - an item is processed by one worker at a time; if it is added while being processed it is queued again
 *   when the worker calls {@linkcode WorkQueue.done};
 * - {@linkcode WorkQueue.addAfter} delays an add (the earliest pending time wins);
 * - {@linkcode WorkQueue.addRateLimited} delays by the rate limiter (per-item backoff, overall token bucket).
 *
 * One deliberate difference from client-go: after {@linkcode WorkQueue.shutDown}, {@linkcode WorkQueue.get}
 * hands out no more items, even ones already queued. Controllers are level-triggered, so nothing is lost (the
 * next leader resyncs everything), and shutting down does not wait for a backlog.
 *
 * @module
 */
import type { Registry } from "prom-client";
import type { Clock } from "../util/clock.ts";
import { systemClock } from "../util/clock.ts";
import { controllerRateLimiter, type RateLimiter } from "./rate_limiter.ts";
import { WorkQueueMetrics } from "./workqueue_metrics.ts";

/** Options for {@linkcode WorkQueue}. */
export interface WorkQueueOptions {
  /** Queue name; the `name` label of the work-queue metrics. */
  name: string;
  /** Retry policy; default {@linkcode controllerRateLimiter}. */
  rateLimiter?: RateLimiter;
  /** Registry for the `workqueue_*` metrics; no metrics when omitted. */
  registry?: Registry;
  clock?: Clock;
}

/**
 * A work queue of string keys (`name` or `namespace/name`).
 *
 * @example Worker loop
 * ```ts
 * const queue = new WorkQueue({ name: "service" });
 * queue.add("default/web");
 * const key = await queue.get();
 * if (key !== undefined) {
 *   try { await sync(key); queue.forget(key); } catch { queue.addRateLimited(key); } finally { queue.done(key); }
 * }
 * ```
 */
export class WorkQueue {
  readonly name: string;
  readonly #clock: Clock;
  readonly #limiter: RateLimiter;
  readonly #metrics?: WorkQueueMetrics;
  readonly #untrack?: () => void;

  #queue: string[] = [];
  #head = 0;
  readonly #dirty = new Set<string>();
  /** Items handed out by get() and not yet done(), with their start time. */
  readonly #processing = new Map<string, number>();
  /** When each dirty item was added, for the queue-duration metric. */
  readonly #addedAt = new Map<string, number>();
  /** Delayed adds: the time each item becomes ready, and how to cancel its timer. */
  readonly #waiting = new Map<string, { readyAt: number; cancel: AbortController }>();
  #getters: Array<() => void> = [];
  #drainers: Array<() => void> = [];
  #shuttingDown = false;

  constructor({ name, rateLimiter, registry, clock = systemClock }: WorkQueueOptions) {
    this.name = name;
    this.#clock = clock;
    this.#limiter = rateLimiter ?? controllerRateLimiter({ clock });
    if (registry !== undefined) {
      this.#metrics = WorkQueueMetrics.for(registry);
      const processing = this.#processing;
      this.#untrack = this.#metrics.track({
        name,
        now: () => clock.now(),
        processingStarts: () => processing.values(),
      });
    }
  }

  /** Number of items waiting to be handed out (not counting delayed or in-flight items). */
  len(): number {
    return this.#queue.length - this.#head;
  }

  /** Whether {@linkcode shutDown} was called. */
  get shuttingDown(): boolean {
    return this.#shuttingDown;
  }

  /** Queues `item` unless it is already queued; ignored after shutdown. */
  add(item: string): void {
    if (this.#shuttingDown || this.#dirty.has(item)) return;
    this.#metrics?.adds.inc({ name: this.name });
    this.#metrics?.depth.inc({ name: this.name });
    this.#addedAt.set(item, this.#clock.now());
    this.#dirty.add(item);
    if (this.#processing.has(item)) return;
    this.#queue.push(item);
    this.#getters.shift()?.();
  }

  /** Queues `item` after `delayMs`; if it is already waiting, the earlier time wins. */
  addAfter(item: string, delayMs: number): void {
    if (this.#shuttingDown) return;
    if (delayMs <= 0) {
      this.add(item);
      return;
    }
    const readyAt = this.#clock.now() + delayMs;
    const existing = this.#waiting.get(item);
    if (existing !== undefined) {
      if (existing.readyAt <= readyAt) return;
      existing.cancel.abort();
    }
    const cancel = new AbortController();
    this.#waiting.set(item, { readyAt, cancel });
    this.#clock.sleep(delayMs, cancel.signal).then(
      () => {
        this.#waiting.delete(item);
        this.add(item);
      },
      () => {}, // cancelled: superseded by an earlier time, or shut down
    );
  }

  /**
   * Queues `item` after the rate limiter's delay (at most `maxDelayMs` when given) and counts a retry. The
   * failure is counted either way, so the backoff goes on growing underneath the cap.
   */
  addRateLimited(item: string, maxDelayMs = Infinity): void {
    if (this.#shuttingDown) return;
    this.#metrics?.retries.inc({ name: this.name });
    this.addAfter(item, Math.min(maxDelayMs, this.#limiter.when(item)));
  }

  /** Clears the retry history of `item`; call after it synced successfully. */
  forget(item: string): void {
    this.#limiter.forget(item);
  }

  /** How many times `item` was rate limited since it was last forgotten. */
  numRequeues(item: string): number {
    return this.#limiter.numRequeues(item);
  }

  /**
   * Waits for the next item; resolves `undefined` once the queue is shut down (or `signal` aborts). The caller
   * must call {@linkcode done} with the item when finished.
   */
  async get(signal?: AbortSignal): Promise<string | undefined> {
    while (this.len() === 0 && !this.#shuttingDown && !signal?.aborted) {
      await new Promise<void>((resolve) => {
        const wake = () => {
          signal?.removeEventListener("abort", onAbort);
          resolve();
        };
        const onAbort = () => {
          this.#getters = this.#getters.filter((g) => g !== wake);
          resolve();
        };
        signal?.addEventListener("abort", onAbort, { once: true });
        this.#getters.push(wake);
      });
    }
    if (this.#shuttingDown || signal?.aborted || this.len() === 0) return undefined;
    const item = this.#queue[this.#head++] as string;
    if (this.#head > 1024 && this.#head * 2 > this.#queue.length) {
      this.#queue = this.#queue.slice(this.#head);
      this.#head = 0;
    }
    const now = this.#clock.now();
    this.#dirty.delete(item);
    this.#processing.set(item, now);
    if (this.#metrics !== undefined) {
      this.#metrics.depth.dec({ name: this.name });
      const addedAt = this.#addedAt.get(item);
      if (addedAt !== undefined) {
        this.#metrics.queueDuration.observe({ name: this.name }, (now - addedAt) / 1000);
      }
    }
    this.#addedAt.delete(item);
    return item;
  }

  /** Marks `item` as finished; if it was added while being processed, it is queued again. */
  done(item: string): void {
    const startedAt = this.#processing.get(item);
    if (startedAt === undefined) return;
    this.#processing.delete(item);
    this.#metrics?.workDuration.observe({ name: this.name }, (this.#clock.now() - startedAt) / 1000);
    if (this.#dirty.has(item) && !this.#shuttingDown) {
      this.#queue.push(item);
      this.#getters.shift()?.();
    }
    if (this.#processing.size === 0) {
      for (const drained of this.#drainers.splice(0)) drained();
    }
  }

  /** Stops accepting and handing out items; waiting {@linkcode get} calls resolve `undefined`. */
  shutDown(): void {
    if (this.#shuttingDown) return;
    this.#shuttingDown = true;
    for (const { cancel } of this.#waiting.values()) cancel.abort();
    this.#waiting.clear();
    for (const wake of this.#getters.splice(0)) wake();
    this.#untrack?.();
  }

  /**
   * Shuts down, then waits until every in-flight item is done, or `timeoutMs` passes. Resolves `true` when
   * drained, `false` on timeout.
   */
  async shutDownWithDrain(timeoutMs = Infinity): Promise<boolean> {
    this.shutDown();
    if (this.#processing.size === 0) return true;
    const drained = new Promise<boolean>((resolve) => this.#drainers.push(() => resolve(true)));
    if (!Number.isFinite(timeoutMs)) return drained;
    const cancel = new AbortController();
    const timedOut = this.#clock.sleep(timeoutMs, cancel.signal).then(() => false, () => true);
    const result = await Promise.race([drained, timedOut]);
    cancel.abort();
    return result;
  }
}
