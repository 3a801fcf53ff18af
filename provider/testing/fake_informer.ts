/**
 * An in-memory {@linkcode Informer} for unit tests: the test sets objects and handlers fire as they would for
 * a watch.
 *
 * @module
 */
import type { KubernetesObject, V1EndpointSlice, V1Node, V1Service } from "@kubernetes/client-node";
import type { Informer, InformerFactory, InformerHandlers } from "../kube/informer_factory.ts";

/** Cache key of an object: `name` when cluster-scoped, `namespace/name` otherwise. */
export function objectKey(obj: KubernetesObject): string {
  const { name = "", namespace } = obj.metadata ?? {};
  return namespace ? `${namespace}/${name}` : name;
}

/**
 * An informer whose contents the test controls.
 *
 * @example
 * ```ts
 * const nodes = new FakeInformer<V1Node>();
 * nodes.upsert({ metadata: { name: "n1" } }); // fires add
 * nodes.remove("n1");                         // fires delete
 * ```
 */
export class FakeInformer<T extends KubernetesObject> implements Informer<T> {
  readonly #objects = new Map<string, T>();
  #handlers: InformerHandlers<T>[] = [];
  synced = true;

  constructor(objects: T[] = []) {
    for (const obj of objects) this.#objects.set(objectKey(obj), obj);
  }

  list(): T[] {
    return [...this.#objects.values()];
  }

  get(key: string): T | undefined {
    return this.#objects.get(key);
  }

  addHandlers(handlers: InformerHandlers<T>): () => void {
    this.#handlers.push(handlers);
    for (const obj of this.#objects.values()) handlers.add?.(obj);
    return () => {
      this.#handlers = this.#handlers.filter((h) => h !== handlers);
    };
  }

  hasSynced(): boolean {
    return this.synced;
  }

  /** Adds or replaces an object, firing add or update. */
  upsert(obj: T): void {
    const key = objectKey(obj);
    const old = this.#objects.get(key);
    this.#objects.set(key, obj);
    for (const h of this.#handlers) old === undefined ? h.add?.(obj) : h.update?.(old, obj);
  }

  /** Removes an object, firing delete. */
  remove(key: string): void {
    const old = this.#objects.get(key);
    if (old === undefined) return;
    this.#objects.delete(key);
    for (const h of this.#handlers) h.delete?.(old);
  }

  /** Number of registered handler sets. */
  get handlerCount(): number {
    return this.#handlers.length;
  }
}

/** An {@linkcode InformerFactory} over {@linkcode FakeInformer}s; records which informers were requested. */
export class FakeInformerFactory implements InformerFactory {
  readonly nodeInformer = new FakeInformer<V1Node>();
  readonly serviceInformer = new FakeInformer<V1Service>();
  readonly endpointSliceInformer = new FakeInformer<V1EndpointSlice>();
  readonly requested = new Set<string>();

  nodes(): Informer<V1Node> {
    this.requested.add("nodes");
    return this.nodeInformer;
  }

  services(): Informer<V1Service> {
    this.requested.add("services");
    return this.serviceInformer;
  }

  endpointSlices(): Informer<V1EndpointSlice> {
    this.requested.add("endpointSlices");
    return this.endpointSliceInformer;
  }

  waitForSync(signal: AbortSignal): Promise<void> {
    return signal.aborted ? Promise.reject(signal.reason) : Promise.resolve();
  }
}
