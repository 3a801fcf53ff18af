/**
 * Work-queue metrics with the upstream names and the `name` label (k8s.io/component-base workqueue metrics), on
 * a prom-client registry.
 *
 * @module
 */
import { Counter, Gauge, Histogram, type Registry } from "prom-client";

/** What a queue reports about items being processed, read at scrape time. */
export interface InFlightSource {
  readonly name: string;
  /** Start times (ms since epoch) of the items being processed now. */
  processingStarts(): Iterable<number>;
  /** Current time, from the queue's clock. */
  now(): number;
}

// Upstream: ExponentialBuckets(10e-9, 10, 10), in seconds.
const LATENCY_BUCKETS = Array.from({ length: 10 }, (_, i) => 1e-8 * 10 ** i);

/**
 * The seven upstream work-queue metric families, registered once per registry and shared by all queues on it.
 * Get the instance with {@linkcode WorkQueueMetrics.for}.
 */
export class WorkQueueMetrics {
  static readonly #byRegistry = new WeakMap<Registry, WorkQueueMetrics>();

  readonly depth: Gauge<"name">;
  readonly adds: Counter<"name">;
  readonly queueDuration: Histogram<"name">;
  readonly workDuration: Histogram<"name">;
  readonly retries: Counter<"name">;
  readonly #sources = new Set<InFlightSource>();

  /** Returns the metrics registered on `registry`, registering them on first use. */
  static for(registry: Registry): WorkQueueMetrics {
    let metrics = WorkQueueMetrics.#byRegistry.get(registry);
    if (metrics === undefined) {
      metrics = new WorkQueueMetrics(registry);
      WorkQueueMetrics.#byRegistry.set(registry, metrics);
    }
    return metrics;
  }

  private constructor(registry: Registry) {
    const registers = [registry];
    const labelNames = ["name"] as const;
    this.depth = new Gauge({
      name: "workqueue_depth",
      help: "Current depth of workqueue",
      labelNames,
      registers,
    });
    this.adds = new Counter({
      name: "workqueue_adds_total",
      help: "Total number of adds handled by workqueue",
      labelNames,
      registers,
    });
    this.queueDuration = new Histogram({
      name: "workqueue_queue_duration_seconds",
      help: "How long in seconds an item stays in workqueue before being requested",
      labelNames,
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.workDuration = new Histogram({
      name: "workqueue_work_duration_seconds",
      help: "How long in seconds processing an item from workqueue takes",
      labelNames,
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.retries = new Counter({
      name: "workqueue_retries_total",
      help: "Total number of retries handled by workqueue",
      labelNames,
      registers,
    });
    const sources = this.#sources;
    new Gauge({
      name: "workqueue_unfinished_work_seconds",
      help: "How many seconds of work has been done that is in progress and hasn't been observed by " +
        "work_duration. Large values indicate stuck threads",
      labelNames,
      registers,
      collect() {
        for (const source of sources) {
          const now = source.now();
          let total = 0;
          for (const start of source.processingStarts()) total += now - start;
          this.set({ name: source.name }, total / 1000);
        }
      },
    });
    new Gauge({
      name: "workqueue_longest_running_processor_seconds",
      help: "How many seconds has the longest running processor for workqueue been running",
      labelNames,
      registers,
      collect() {
        for (const source of sources) {
          const now = source.now();
          let longest = 0;
          for (const start of source.processingStarts()) longest = Math.max(longest, now - start);
          this.set({ name: source.name }, longest / 1000);
        }
      },
    });
  }

  /** Starts reporting in-flight work of `source`; returns a function that stops it. */
  track(source: InFlightSource): () => void {
    this.#sources.add(source);
    this.depth.set({ name: source.name }, 0);
    return () => this.#sources.delete(source);
  }
}
