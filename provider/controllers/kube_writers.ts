/**
 * The few Kubernetes writes the controllers make, behind narrow interfaces so controller tests can record
 * them, with adapters over the rate-limited `CoreV1Api`.
 *
 * @module
 */
import {
  type CoreV1Api,
  PatchStrategy,
  setHeaderOptions,
  type V1Node,
  type V1Service,
} from "@kubernetes/client-node";

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

const CONTENT_TYPES = {
  merge: setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
  strategic: setHeaderOptions("Content-Type", PatchStrategy.StrategicMergePatch),
};

/** {@linkcode NodeWriter} over a `CoreV1Api`. */
export function coreV1NodeWriter(core: CoreV1Api): NodeWriter {
  return {
    get: (name) => core.readNode({ name }),
    patch: (name, body, kind = "merge") => core.patchNode({ name, body }, CONTENT_TYPES[kind]),
    patchStatus: (name, body, kind = "merge") => core.patchNodeStatus({ name, body }, CONTENT_TYPES[kind]),
    delete: async (name, uid) => {
      await core.deleteNode({ name, body: uid === undefined ? {} : { preconditions: { uid } } });
    },
  };
}

/** {@linkcode ServiceWriter} over a `CoreV1Api`. */
export function coreV1ServiceWriter(core: CoreV1Api): ServiceWriter {
  return {
    patchStatus: (namespace, name, body, kind = "merge") =>
      core.patchNamespacedServiceStatus({ namespace, name, body }, CONTENT_TYPES[kind]),
  };
}

/** HTTP status of a failed Kubernetes call (client-node `ApiException.code`), if any. */
export function statusCode(err: unknown): number | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === "number" ? code : undefined;
}

/** A short message for a failed Kubernetes call: the API's `Status.message` when there is one. */
export function apiErrorMessage(err: unknown): string {
  const body = (err as { body?: unknown } | null)?.body;
  if (typeof body === "string") {
    try {
      const status = JSON.parse(body) as { message?: string };
      if (status.message) return status.message;
    } catch {
      // not JSON: fall through
    }
  }
  return err instanceof Error ? err.message : String(err);
}
