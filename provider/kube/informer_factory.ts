/**
 * Shared informers: one list+watch cache per resource, shared by every controller and the provider.
 *
 * @module
 */
import type { V1EndpointSlice, V1Node, V1Service } from "@kubernetes/client-node";

/** Handlers receive the new object (and the old one for updates). */
export interface InformerHandlers<T> {
  add?(obj: T): void;
  update?(oldObj: T, newObj: T): void;
  delete?(obj: T): void;
}

/** A read-only cache of one resource kept current by list+watch. */
export interface Informer<T> {
  /** All cached objects. */
  list(): T[];
  /** One object by key: `name` for cluster-scoped resources, `namespace/name` otherwise. */
  get(key: string): T | undefined;
  /** Registers handlers; returns a function that removes them. Existing objects are replayed as adds. */
  addHandlers(handlers: InformerHandlers<T>): () => void;
  /** Whether the initial list has been loaded. */
  hasSynced(): boolean;
}

/** Creates informers on first use and starts them together. */
export interface InformerFactory {
  nodes(): Informer<V1Node>;
  services(): Informer<V1Service>;
  endpointSlices(): Informer<V1EndpointSlice>;
  /** Resolves once every informer created so far has synced; rejects if `signal` aborts first. */
  waitForSync(signal: AbortSignal): Promise<void>;
}
