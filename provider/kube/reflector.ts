/**
 * The list+watch loop behind an informer (client-go's Reflector): list, then watch from the list's
 * resourceVersion; on a normal end of the watch, watch again from the last seen resourceVersion; on 410 Gone,
 * list again; on any other failure, retry with exponential backoff and jitter — forever, until stopped. As in
 * client-go, only a connection failure or a 429 is retried with the same resourceVersion; when the API server
 * answers a watch with any other error (an etcd "PrevKv=nil" 500 after compaction, say), the retry lists
 * again, so an error tied to the resourceVersion cannot repeat forever.
 *
 * @module
 */
import { getLogger, type Logger } from "@logtape/logtape";
import { type Clock, systemClock } from "../../util/clock.ts";
import { Backoff, type BackoffOptions, jitter } from "../../util/backoff.ts";
import { isGone, isTooManyRequests, KubeApiError } from "./errors.ts";
import type { WatchEvent } from "./watch.ts";

/** A page-complete list: all items and the collection's resourceVersion. */
export interface ListResult<T> {
  items: T[];
  resourceVersion: string;
}

/** Where a reflector gets its data; {@linkcode listWatchFor} builds one over the API server. */
export interface ListWatchSource<T> {
  /** Lists every object (all pages). */
  list(options: { signal: AbortSignal }): Promise<ListResult<T>>;
  /** Watches from `resourceVersion`; ends when the server ends the watch, throws on failure (410: re-list). */
  watch(
    options: { resourceVersion: string; timeoutSeconds: number; signal: AbortSignal },
  ): AsyncIterable<WatchEvent<T>>;
}

/** What a reflector feeds: the informer's cache. */
export interface ReflectorSink<T> {
  /** Replaces the whole content with a fresh list. */
  replace(items: T[], resourceVersion: string): void;
  /** Applies one ADDED/MODIFIED/DELETED event. */
  apply(type: "ADDED" | "MODIFIED" | "DELETED", obj: T): void;
}

/** Options of {@linkcode Reflector}. */
export interface ReflectorOptions<T> {
  /** Resource name for logs, for example `nodes`. */
  name: string;
  source: ListWatchSource<T>;
  sink: ReflectorSink<T>;
  clock?: Clock;
  /** Overrides of {@linkcode REFLECTOR_BACKOFF}. */
  backoff?: Partial<BackoffOptions>;
  /** Random source in [0, 1) (watch timeouts and jitter). */
  random?: () => number;
  logger?: Logger;
}

/**
 * Retry delays after a failed list or watch: 400 ms doubling to 15 s, each stretched by up to 100 % (so
 * 400–800 ms at first, 15–30 s at most). client-go's reflector starts at 800 ms with a 30 s cap and the same
 * jitter; ccm keeps the half-size steps it has always used.
 */
export const REFLECTOR_BACKOFF: Readonly<BackoffOptions> = Object.freeze({
  initialMs: 400,
  maxMs: 15_000,
  jitter: 1,
});

/** Server-side watch timeout: 5–10 minutes, random per watch (client-go's `minWatchTimeout` × [1, 2)). */
function watchTimeoutSeconds(random: () => number): number {
  return Math.floor(jitter(300, 1, random));
}

function resourceVersionOf(obj: unknown): string | undefined {
  return (obj as { metadata?: { resourceVersion?: string } })?.metadata?.resourceVersion;
}

/** Keeps a {@linkcode ReflectorSink} in step with the API server. */
export class Reflector<T> {
  readonly #o: ReflectorOptions<T>;
  readonly #clock: Clock;
  readonly #random: () => number;
  readonly #backoff: Backoff;
  readonly #logger: Logger;
  #resourceVersion = "";
  #lists = 0;
  #watches = 0;

  constructor(options: ReflectorOptions<T>) {
    this.#o = options;
    this.#clock = options.clock ?? systemClock;
    this.#random = options.random ?? Math.random;
    this.#backoff = new Backoff({ ...REFLECTOR_BACKOFF, random: this.#random, ...options.backoff });
    this.#logger = options.logger ?? getLogger(["ccm", "informer"]);
  }

  /** The last resourceVersion seen (from a list, event or bookmark). */
  get resourceVersion(): string {
    return this.#resourceVersion;
  }

  /** How many lists and watches were started (for tests and debugging). */
  get stats(): { lists: number; watches: number } {
    return { lists: this.#lists, watches: this.#watches };
  }

  /** Runs until `signal` aborts; never rejects. */
  async run(signal: AbortSignal): Promise<void> {
    let needList = true;
    while (!signal.aborted) {
      try {
        if (needList) {
          this.#lists++;
          const { items, resourceVersion } = await this.#o.source.list({ signal });
          if (signal.aborted) return;
          this.#o.sink.replace(items, resourceVersion);
          this.#resourceVersion = resourceVersion;
          needList = false;
          this.#backoff.reset();
        }
        const delivered = await this.#watchOnce(signal);
        if (delivered === 0 && !signal.aborted) {
          // A watch the server ends at once, again and again (a broken proxy), must not spin.
          await this.#clock.sleep(this.#backoff.next(), signal).catch(() => {});
        }
      } catch (err) {
        if (signal.aborted) return;
        if (isGone(err)) {
          this.#logger.info("Watch expired; listing again", {
            v: 2,
            resource: this.#o.name,
            resourceVersion: this.#resourceVersion,
          });
          needList = true;
          continue;
        }
        const delayMs = this.#backoff.next();
        const op = needList ? "list" : "watch";
        if (err instanceof KubeApiError && !isTooManyRequests(err)) needList = true;
        this.#logger.warn("Failed to {op} {resource}; retrying in {delayMs} ms", {
          op,
          resource: this.#o.name,
          delayMs,
          failures: this.#backoff.failures,
          relist: needList,
          err,
        });
        await this.#clock.sleep(delayMs, signal).catch(() => {});
      }
    }
  }

  /** One watch, until the server ends it (returns the number of events) or it fails (throws). */
  async #watchOnce(signal: AbortSignal): Promise<number> {
    this.#watches++;
    const events = this.#o.source.watch({
      resourceVersion: this.#resourceVersion,
      timeoutSeconds: watchTimeoutSeconds(this.#random),
      signal,
    });
    let delivered = 0;
    for await (const event of events) {
      const rv = resourceVersionOf(event.object);
      if (event.type !== "BOOKMARK") this.#o.sink.apply(event.type, event.object);
      if (rv) this.#resourceVersion = rv;
      if (delivered++ === 0) this.#backoff.reset();
    }
    return delivered;
  }
}
