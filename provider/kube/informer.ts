/**
 * A shared informer: one cache of a resource kept current by a {@linkcode Reflector}, with event handlers
 * and periodic resync (every cached object replayed to handlers as an update, so level-triggered controllers
 * reconcile everything now and then).
 *
 * @module
 */
import type { KubernetesObject } from "@kubernetes/client-node";
import { getLogger, type Logger } from "@logtape/logtape";
import { type Clock, systemClock } from "../../util/clock.ts";
import { runPeriodically } from "../../util/periodic.ts";
import type { BackoffOptions } from "../../util/backoff.ts";
import { type ListWatchSource, Reflector, type ReflectorSink } from "./reflector.ts";

/** Handlers receive the new object (and the old one for updates). A resync calls `update(obj, obj)`. */
export interface InformerHandlers<T> {
  add?(obj: T): void;
  update?(oldObj: T, newObj: T): void;
  delete?(obj: T): void;
}

/** Per-registration options of {@linkcode Informer.addHandlers}. */
export interface InformerHandlerOptions {
  /**
   * Replay every cached object to these handlers as `update(obj, obj)` this often (upstream
   * `AddEventHandlerWithResyncPeriod`); default the informer's period (from `--min-resync-period`), 0 disables.
   */
  resyncPeriodMs?: number;
}

/** A read-only cache of one resource kept current by list+watch. */
export interface Informer<T> {
  /** All cached objects. */
  list(): T[];
  /** One object by key: `name` for cluster-scoped resources, `namespace/name` otherwise. */
  get(key: string): T | undefined;
  /** Registers handlers; returns a function that removes them. Existing objects are replayed as adds. */
  addHandlers(handlers: InformerHandlers<T>, options?: InformerHandlerOptions): () => void;
  /** Whether the initial list has been loaded. */
  hasSynced(): boolean;
}

/** Cache key of an object: `name` when cluster-scoped, `namespace/name` otherwise. */
export function objectKey(obj: KubernetesObject): string {
  const { name = "", namespace } = obj.metadata ?? {};
  return namespace ? `${namespace}/${name}` : name;
}

/** Options of {@linkcode SharedInformer}. */
export interface SharedInformerOptions<T> {
  /** Resource name for logs, for example `nodes`. */
  name: string;
  source: ListWatchSource<T>;
  /** Default resync period of handlers; 0 or absent disables resync. */
  resyncPeriodMs?: number;
  /** Set on cached objects that lack them (list items carry no `apiVersion`/`kind`). */
  typeMeta?: { apiVersion: string; kind: string };
  /** Applied to every object before it is cached and handed to handlers (after `typeMeta`), e.g. to drop fields. */
  transform?: (obj: T) => T;
  clock?: Clock;
  random?: () => number;
  backoff?: Partial<BackoffOptions>;
  logger?: Logger;
}

interface Registration<T> {
  handlers: InformerHandlers<T>;
  resyncPeriodMs: number;
  stop: AbortController;
}

/** A list+watch cache of one resource with handlers; see the module docs. */
export class SharedInformer<T extends KubernetesObject> implements Informer<T>, ReflectorSink<T> {
  readonly name: string;
  readonly #o: SharedInformerOptions<T>;
  readonly #clock: Clock;
  readonly #logger: Logger;
  readonly #reflector: Reflector<T>;
  readonly #cache = new Map<string, T>();
  readonly #registrations = new Set<Registration<T>>();
  readonly #loops = new Set<Promise<void>>();
  #synced = false;
  #syncWaiters: Array<() => void> = [];
  #runSignal: AbortSignal | undefined;

  constructor(options: SharedInformerOptions<T>) {
    this.name = options.name;
    this.#o = options;
    this.#clock = options.clock ?? systemClock;
    this.#logger = options.logger ?? getLogger(["ccm", "informer"]);
    this.#reflector = new Reflector({
      name: options.name,
      source: options.source,
      sink: this,
      clock: this.#clock,
      random: options.random,
      backoff: options.backoff,
      logger: this.#logger,
    });
  }

  list(): T[] {
    return [...this.#cache.values()];
  }

  get(key: string): T | undefined {
    return this.#cache.get(key);
  }

  hasSynced(): boolean {
    return this.#synced;
  }

  /** The last resourceVersion the cache reflects. */
  get resourceVersion(): string {
    return this.#reflector.resourceVersion;
  }

  /** How many lists and watches were started so far. */
  get stats(): { lists: number; watches: number } {
    return this.#reflector.stats;
  }

  addHandlers(handlers: InformerHandlers<T>, options: InformerHandlerOptions = {}): () => void {
    const registration: Registration<T> = {
      handlers,
      resyncPeriodMs: options.resyncPeriodMs ?? this.#o.resyncPeriodMs ?? 0,
      stop: new AbortController(),
    };
    this.#registrations.add(registration);
    for (const obj of this.#cache.values()) this.#call(() => handlers.add?.(obj));
    if (this.#runSignal) this.#startResync(registration, this.#runSignal);
    return () => {
      this.#registrations.delete(registration);
      registration.stop.abort();
    };
  }

  /** Resolves once the first list has been loaded; rejects with the reason if `signal` aborts first. */
  waitForSync(signal: AbortSignal): Promise<void> {
    if (this.#synced) return Promise.resolve();
    if (signal.aborted) return Promise.reject(signal.reason);
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        this.#syncWaiters = this.#syncWaiters.filter((w) => w !== done);
        reject(signal.reason);
      };
      const done = () => {
        signal.removeEventListener("abort", onAbort);
        resolve();
      };
      signal.addEventListener("abort", onAbort, { once: true });
      this.#syncWaiters.push(done);
    });
  }

  /** Lists, watches and resyncs until `signal` aborts; resolves once everything has stopped. */
  async run(signal: AbortSignal): Promise<void> {
    if (this.#runSignal) throw new Error(`Informer "${this.name}" is already running`);
    this.#runSignal = signal;
    for (const registration of this.#registrations) this.#startResync(registration, signal);
    try {
      await this.#reflector.run(signal);
    } finally {
      while (this.#loops.size > 0) await Promise.all([...this.#loops]);
    }
  }

  // ReflectorSink: called by the reflector.

  replace(items: T[], _resourceVersion: string): void {
    const seen = new Set<string>();
    for (const item of items) {
      const obj = this.#withTypeMeta(item);
      const key = objectKey(obj);
      seen.add(key);
      const old = this.#cache.get(key);
      this.#cache.set(key, obj);
      if (!old) this.#notify("add", obj);
      else if (old.metadata?.resourceVersion !== obj.metadata?.resourceVersion) {
        this.#notify("update", obj, old);
      }
    }
    for (const [key, old] of this.#cache) {
      if (seen.has(key)) continue;
      this.#cache.delete(key);
      this.#notify("delete", old);
    }
    if (!this.#synced) {
      this.#synced = true;
      for (const waiter of this.#syncWaiters.splice(0)) waiter();
    }
  }

  apply(type: "ADDED" | "MODIFIED" | "DELETED", item: T): void {
    const obj = this.#withTypeMeta(item);
    const key = objectKey(obj);
    const old = this.#cache.get(key);
    if (type === "DELETED") {
      if (!old) return;
      this.#cache.delete(key);
      this.#notify("delete", obj);
      return;
    }
    this.#cache.set(key, obj);
    if (old) this.#notify("update", obj, old);
    else this.#notify("add", obj);
  }

  #withTypeMeta(obj: T): T {
    const typeMeta = this.#o.typeMeta;
    if (typeMeta && !obj.kind) {
      obj.kind = typeMeta.kind;
      obj.apiVersion = typeMeta.apiVersion;
    }
    return this.#o.transform ? this.#o.transform(obj) : obj;
  }

  #notify(kind: "add" | "update" | "delete", obj: T, old?: T): void {
    for (const { handlers } of this.#registrations) {
      if (kind === "add") this.#call(() => handlers.add?.(obj));
      else if (kind === "update") this.#call(() => handlers.update?.(old as T, obj));
      else this.#call(() => handlers.delete?.(obj));
    }
  }

  #call(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.#logger.error("Informer handler failed", { resource: this.name, err });
    }
  }

  #startResync(registration: Registration<T>, runSignal: AbortSignal): void {
    if (registration.resyncPeriodMs <= 0) return;
    const signal = AbortSignal.any([runSignal, registration.stop.signal]);
    const loop = runPeriodically(() => {
      if (!this.#synced || !this.#registrations.has(registration)) return;
      for (const obj of this.#cache.values()) this.#call(() => registration.handlers.update?.(obj, obj));
    }, { periodMs: registration.resyncPeriodMs, signal, clock: this.#clock, immediate: false });
    this.#loops.add(loop);
    loop.finally(() => this.#loops.delete(loop));
  }
}
