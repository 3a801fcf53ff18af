/**
 * The few Kubernetes writes the controllers make, behind narrow interfaces so controller tests can record
 * them, with adapters over the rate-limited `CoreV1Api`.
 *
 * @module
 */
import type { V1Node, V1Service } from "@kubernetes/client-node";
import type { CoreV1Api } from "../kube/api.ts";
import { patchOptions } from "../kube/patch.ts";

/** `merge` = JSON merge patch (RFC 7386); `strategic` = Kubernetes strategic merge patch. */
export type PatchKind = "merge" | "strategic";

/** Node reads and writes of the node controllers. */
export interface NodeWriter {
  /** Reads a node from the API server (used after a conflict, when the cache is stale). */
  get(name: string): Promise<V1Node>;
  patch(name: string, body: unknown, kind?: PatchKind): Promise<V1Node>;
  patchStatus(name: string, body: unknown, kind?: PatchKind): Promise<V1Node>;
  /** Deletes the node only if it still has `uid` (never a re-created node of the same name). */
  delete(name: string, uid?: string): Promise<void>;
}

/** Service writes of the service controller (all through the status subresource, as upstream). */
export interface ServiceWriter {
  patchStatus(namespace: string, name: string, body: unknown, kind?: PatchKind): Promise<V1Service>;
}

/** {@linkcode NodeWriter} over a `CoreV1Api`. */
export function coreV1NodeWriter(core: CoreV1Api): NodeWriter {
  return {
    get: (name) => core.readNode({ name }),
    patch: (name, body, kind = "merge") => core.patchNode({ name, body }, patchOptions(kind)),
    patchStatus: (name, body, kind = "merge") => core.patchNodeStatus({ name, body }, patchOptions(kind)),
    delete: async (name, uid) => {
      await core.deleteNode({ name, body: uid === undefined ? {} : { preconditions: { uid } } });
    },
  };
}

/** {@linkcode ServiceWriter} over a `CoreV1Api`. */
export function coreV1ServiceWriter(core: CoreV1Api): ServiceWriter {
  return {
    patchStatus: (namespace, name, body, kind = "merge") =>
      core.patchNamespacedServiceStatus({ namespace, name, body }, patchOptions(kind)),
  };
}
