/**
 * What the shared informers drop from objects before caching them: fields no controller of the CCM reads, which
 * would otherwise be most of the cache. `metadata.managedFields` (server-side apply bookkeeping) is often the
 * largest part of any object; a Node's `status.images` (up to 50 image names and sizes per kubelet) is the
 * largest part of a Node. Like client-go's informer transforms, this only shrinks the cached copy: writes are
 * patches, never updates of a cached object, so nothing dropped here is ever written back.
 *
 * @module
 */
import type { KubernetesObject, V1Node } from "@kubernetes/client-node";

/** Drops `metadata.managedFields` (every kind) and `status.images` (Nodes), in place; returns `obj`. */
export function stripForCache<T extends KubernetesObject>(obj: T): T {
  if (obj.metadata?.managedFields !== undefined) delete obj.metadata.managedFields;
  if (obj.kind === "Node") {
    const status = (obj as V1Node).status;
    if (status?.images !== undefined) delete status.images;
  }
  return obj;
}
