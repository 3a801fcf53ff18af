/**
 * Test support for the load balancer modules: a Service patcher over a fake informer. For tests only.
 *
 * @module
 */
import type { V1Service } from "@kubernetes/client-node";
import { apiError, FakeInformer, mergePatch } from "../../provider/testing/mod.ts";
import type { ServicePatcher } from "./elastic_ip_load_balancer.ts";

/**
 * A {@linkcode ServicePatcher} over a {@linkcode FakeInformer}: merge patches are applied (a
 * `metadata.resourceVersion` is a precondition, 409 when stale) and recorded.
 */
export class FakeServicePatcher implements ServicePatcher {
  readonly informer: FakeInformer<V1Service>;
  readonly patches: unknown[] = [];
  #rv = 100;

  constructor(informer = new FakeInformer<V1Service>()) {
    this.informer = informer;
  }

  patch(namespace: string, name: string, body: unknown): Promise<void> {
    this.patches.push(body);
    const key = `${namespace}/${name}`;
    const current = this.informer.get(key);
    if (!current) return Promise.reject(apiError(404, "not found"));
    const rv = (body as { metadata?: { resourceVersion?: string } }).metadata?.resourceVersion;
    if (rv !== undefined && rv !== current.metadata?.resourceVersion) {
      return Promise.reject(apiError(409, "the object has been modified"));
    }
    const next = mergePatch(current, body) as V1Service;
    next.metadata = { ...next.metadata, resourceVersion: String(++this.#rv) };
    this.informer.upsert(next);
    return Promise.resolve();
  }

  /** Adds or replaces a Service and returns the stored copy. */
  put(service: V1Service): V1Service {
    this.informer.upsert(service);
    return this.get(service.metadata!.namespace!, service.metadata!.name!);
  }

  get(namespace: string, name: string): V1Service {
    return this.informer.get(`${namespace}/${name}`)!;
  }
}
