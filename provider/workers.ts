/**
 * Runs N workers over a {@linkcode WorkQueue}: take a key, sync it, then forget it on success, requeue it with
 * the error's delay on {@linkcode RetryError}, or with backoff on any other error (capped for transient ones
 * when {@linkcode RunWorkersOptions.transientMaxBackoffMs} is set).
 *
 * @module
 */
import type { Logger } from "@logtape/logtape";
import type { Histogram, Registry } from "prom-client";
import type { Clock } from "../util/clock.ts";
import { systemClock } from "../util/clock.ts";
import { isTransientError, NodeNotManagedError, RetryError } from "./errors.ts";
import { getOrCreateHistogram } from "./metrics.ts";
import type { WorkQueue } from "./workqueue.ts";

/** Options for {@linkcode runWorkers}. */
export interface RunWorkersOptions {
  queue: WorkQueue;
  /** Number of parallel workers (`--concurrent-*-syncs`); at least 1. */
  workers: number;
  /** Reconciles one key; rejections are retried. `signal` aborts only on a hard stop. */
  sync(key: string, signal: AbortSignal): Promise<void>;
  logger: Logger;
  /** When aborted, workers stop taking keys (the queue is shut down) and finish the ones in hand. */
  signal: AbortSignal;
  /** Passed to `sync`; aborted when in-flight work must be abandoned. Default: never. */
  syncSignal?: AbortSignal;
  /** Registry for `ccm_reconcile_duration_seconds`; none when omitted. */
  registry?: Registry;
  /** Controller name for the metric label; default the queue name. */
  controller?: string;
  clock?: Clock;
  /**
   * Longest backoff after a {@linkcode isTransientError} failure (the cloud API's own trouble); default none
   * beyond the queue's limiter. Keeps a long outage from pushing the next try minutes past its end.
   */
  transientMaxBackoffMs?: number;
}

/**
 * Runs `workers` loops until the queue is shut down or `signal` aborts, then resolves once every in-hand key is
 * finished.
 */
export async function runWorkers(options: RunWorkersOptions): Promise<void> {
  const { queue, signal, logger, clock = systemClock } = options;
  const syncSignal = options.syncSignal ?? new AbortController().signal;
  const controller = options.controller ?? queue.name;
  const histogram = options.registry === undefined ? undefined : reconcileHistogram(options.registry);
  const onAbort = () => queue.shutDown();
  if (signal.aborted) onAbort();
  signal.addEventListener("abort", onAbort, { once: true });

  async function worker(): Promise<void> {
    for (;;) {
      const key = await queue.get();
      if (key === undefined) return;
      const start = clock.now();
      let result = "success";
      try {
        await options.sync(key, syncSignal);
        queue.forget(key);
      } catch (err) {
        result = "error";
        handleError(key, err);
      } finally {
        histogram?.observe({ controller, result }, (clock.now() - start) / 1000);
        queue.done(key);
      }
    }
  }

  function handleError(key: string, err: unknown): void {
    if (err instanceof NodeNotManagedError) {
      logger.debug("Skipped object not managed by this provider", { key, err });
      queue.forget(key);
    } else if (err instanceof RetryError) {
      logger.info("Requeued after provider asked to retry", {
        v: 2,
        key,
        retryAfterMs: err.retryAfterMs,
        err,
      });
      queue.addAfter(key, err.retryAfterMs);
    } else {
      logger.error("Failed to sync; retrying with backoff", { key, retries: queue.numRequeues(key), err });
      queue.addRateLimited(key, isTransientError(err) ? options.transientMaxBackoffMs : undefined);
    }
  }

  try {
    await Promise.all(Array.from({ length: Math.max(1, options.workers) }, () => worker()));
  } finally {
    signal.removeEventListener("abort", onAbort);
  }
}

/** `ccm_reconcile_duration_seconds{controller,result}`, registered once per registry. */
export function reconcileHistogram(registry: Registry): Histogram<"controller" | "result"> {
  return getOrCreateHistogram(registry, {
    name: "ccm_reconcile_duration_seconds",
    help: "How long one reconcile of one object took, by controller and result (success or error)",
    labelNames: ["controller", "result"] as const,
    buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
  });
}
