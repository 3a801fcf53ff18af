/**
 * Shared informers: one list+watch cache per resource, shared by every controller and the provider. Cached
 * objects lack the fields no controller reads (`cache_transform.ts`).
 *
 * @example
 * ```ts
 * const informers = new SharedInformerFactory({ kube, minResyncPeriodMs: 12 * 3600_000 });
 * const nodes = informers.nodes();
 * nodes.addHandlers({ add: (n) => queue.add(n.metadata!.name!) });
 * const running = informers.start(signal); // runs until `signal` aborts
 * await informers.waitForSync(signal);
 * nodes.get("n1");
 * ```
 *
 * @module
 */
import type { KubernetesObject, V1EndpointSlice, V1Node, V1Service } from "@kubernetes/client-node";
import type { Logger } from "@logtape/logtape";
import type { Clock } from "../../util/clock.ts";
import { type BackoffOptions, jitter } from "../../util/backoff.ts";
import type { KubeClients } from "./client.ts";
import { stripForCache } from "./cache_transform.ts";
import { type Informer, SharedInformer } from "./informer.ts";

export type { Informer, InformerHandlerOptions, InformerHandlers } from "./informer.ts";
import {
  descriptorKey,
  ENDPOINT_SLICES,
  listWatchFor,
  NODES,
  type ResourceDescriptor,
  SERVICES,
} from "./list_watch.ts";

/** Creates informers on first use and starts them together. */
export interface InformerFactory {
  nodes(): Informer<V1Node>;
  services(): Informer<V1Service>;
  endpointSlices(): Informer<V1EndpointSlice>;
  /** Resolves once every informer created so far has synced; rejects if `signal` aborts first. */
  waitForSync(signal: AbortSignal): Promise<void>;
}

/** Options of {@linkcode SharedInformerFactory}. */
export interface SharedInformerFactoryOptions {
  kube: KubeClients;
  /**
   * `--min-resync-period` (default 12 h): each informer resyncs every `min × [1, 2)`, drawn once per informer
   * as upstream does. 0 disables resync.
   */
  minResyncPeriodMs?: number;
  clock?: Clock;
  random?: () => number;
  backoff?: Partial<BackoffOptions>;
  logger?: Logger;
  /** List page size (default 500). */
  pageSize?: number;
}

/** The {@linkcode InformerFactory} over the API server, plus informers for any other resource. */
export class SharedInformerFactory implements InformerFactory {
  readonly #o: SharedInformerFactoryOptions;
  readonly #random: () => number;
  readonly #informers = new Map<string, SharedInformer<KubernetesObject>>();
  readonly #running = new Set<Promise<void>>();
  #startSignal: AbortSignal | undefined;

  constructor(options: SharedInformerFactoryOptions) {
    this.#o = options;
    this.#random = options.random ?? Math.random;
  }

  nodes(): SharedInformer<V1Node> {
    return this.resource<V1Node>(NODES);
  }

  services(): SharedInformer<V1Service> {
    return this.resource<V1Service>(SERVICES);
  }

  endpointSlices(): SharedInformer<V1EndpointSlice> {
    return this.resource<V1EndpointSlice>(ENDPOINT_SLICES);
  }

  /**
   * The shared informer of any resource, for example ConfigMaps of one namespace with a label selector, or
   * MetalLB custom resources. One informer per distinct descriptor; started like the others.
   *
   * @example
   * ```ts
   * const pools = informers.resource<KubernetesObject>({
   *   apiVersion: "metallb.io/v1beta1", kind: "IPAddressPool", plural: "ipaddresspools", namespace: "metallb-system",
   * });
   * ```
   */
  resource<T extends KubernetesObject>(descriptor: ResourceDescriptor): SharedInformer<T> {
    const key = descriptorKey(descriptor);
    let informer = this.#informers.get(key);
    if (!informer) {
      const min = this.#o.minResyncPeriodMs ?? 12 * 3600_000;
      const scope = descriptor.namespace ? ` in "${descriptor.namespace}"` : "";
      informer = new SharedInformer<KubernetesObject>({
        name: `${descriptor.plural}${scope}`,
        source: listWatchFor(this.#o.kube, descriptor, { pageSize: this.#o.pageSize }),
        resyncPeriodMs: min > 0 ? Math.round(jitter(min, 1, this.#random)) : 0,
        typeMeta: { apiVersion: descriptor.apiVersion, kind: descriptor.kind },
        transform: stripForCache,
        clock: this.#o.clock,
        random: this.#random,
        backoff: this.#o.backoff,
        logger: this.#o.logger,
      });
      this.#informers.set(key, informer);
      if (this.#startSignal && !this.#startSignal.aborted) this.#run(informer, this.#startSignal);
    }
    return informer as unknown as SharedInformer<T>;
  }

  /**
   * Starts every informer created so far, and any created later, until `signal` aborts. The returned promise
   * resolves once all of them have stopped (after the abort).
   */
  async start(signal: AbortSignal): Promise<void> {
    if (this.#startSignal) throw new Error("Informers were already started");
    this.#startSignal = signal;
    for (const informer of this.#informers.values()) this.#run(informer, signal);
    await new Promise<void>((resolve) => {
      if (signal.aborted) resolve();
      else signal.addEventListener("abort", () => resolve(), { once: true });
    });
    while (this.#running.size > 0) await Promise.all([...this.#running]);
  }

  /** Resolves once every informer created so far has synced; rejects if `signal` aborts first. */
  async waitForSync(signal: AbortSignal): Promise<void> {
    await Promise.all([...this.#informers.values()].map((informer) => informer.waitForSync(signal)));
  }

  /** Whether every informer created so far has synced (for `/readyz`). */
  hasSynced(): boolean {
    return [...this.#informers.values()].every((informer) => informer.hasSynced());
  }

  #run(informer: SharedInformer<KubernetesObject>, signal: AbortSignal): void {
    const running = informer.run(signal);
    this.#running.add(running);
    running.finally(() => this.#running.delete(running));
  }
}
