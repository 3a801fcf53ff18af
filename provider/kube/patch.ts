/**
 * Patch types and per-call options of the typed clients. A patch call sends its body as a merge patch (an
 * object) or a JSON patch (an array) unless {@linkcode patchOptions} picks the type.
 *
 * @example
 * ```ts
 * // Strategic merge patch on the status subresource:
 * await kube.core.patchNodeStatus(
 *   { name: "n1", body: { status: { addresses } } },
 *   patchOptions("strategic"),
 * );
 * // Server-side apply (field manager and force go in the request parameters):
 * await kube.core.patchNamespacedConfigMap(
 *   { name: "c", namespace: "ns", body: configMap, fieldManager: FIELD_MANAGER, force: true },
 *   patchOptions("apply"),
 * );
 * ```
 *
 * @module
 */
import type { KubernetesObject } from "@kubernetes/client-node";

/** Field manager name for server-side apply and managedFields. Changing it orphans fields we applied before. */
export const FIELD_MANAGER = "cloud-controller-manager";

/** `merge` (RFC 7386 JSON merge patch), `strategic` (Kubernetes strategic merge), `json` (RFC 6902), `apply` (server-side apply). */
export type PatchType = "merge" | "strategic" | "json" | "apply";

/** The Content-Type of each patch type. */
export const PATCH_CONTENT_TYPES: Record<PatchType, string> = {
  merge: "application/merge-patch+json",
  strategic: "application/strategic-merge-patch+json",
  json: "application/json-patch+json",
  apply: "application/apply-patch+yaml",
};

/** Per-request options: abort the request with `signal`. */
export interface RequestOptions {
  signal?: AbortSignal;
}

/** Options of one typed call: abort signal and, for patches, the patch type. */
export interface CallOptions extends RequestOptions {
  patchType?: PatchType;
}

/** Call options that send the body as patch `type` (and abort with `signal`). */
export function patchOptions(type: PatchType, options: RequestOptions = {}): CallOptions {
  return { patchType: type, signal: options.signal };
}

/** Call options that abort the request when `signal` aborts (for any typed call, not only patches). */
export function requestOptions(options: RequestOptions): CallOptions {
  return { signal: options.signal };
}

/** Options of {@linkcode serverSideApply}. */
export interface ServerSideApplyOptions {
  /** Defaults to {@linkcode FIELD_MANAGER}. */
  fieldManager?: string;
  /** Take over fields another manager owns (default true, as controllers do). */
  force?: boolean;
}

/** Anything that can server-side apply an object of any kind (the generic objects client). */
export interface ObjectApplier {
  apply<T extends KubernetesObject>(obj: T, options: { fieldManager: string; force: boolean }): Promise<T>;
}

/**
 * Server-side applies `obj` (any kind; `apiVersion`, `kind`, `metadata.name` and, when namespaced,
 * `metadata.namespace` required) and returns the object as stored.
 *
 * @example
 * ```ts
 * await serverSideApply(kube.objects, { apiVersion: "v1", kind: "ConfigMap", metadata: { name, namespace }, data });
 * ```
 */
export async function serverSideApply<T extends KubernetesObject>(
  objects: ObjectApplier,
  obj: T,
  options: ServerSideApplyOptions = {},
): Promise<T> {
  return await objects.apply(obj, {
    fieldManager: options.fieldManager ?? FIELD_MANAGER,
    force: options.force ?? true,
  });
}

/**
 * RFC 7386 merge patch that turns `original` into `modified`: changed and added fields, `null` for removed
 * ones; arrays are replaced whole. Returns `undefined` when nothing changed.
 */
export function createMergePatch(original: unknown, modified: unknown): unknown {
  if (!isPlainObject(original) || !isPlainObject(modified)) {
    return deepEqual(original, modified) ? undefined : modified;
  }
  const patch: Record<string, unknown> = {};
  for (const key of Object.keys(original)) {
    if (!(key in modified) || modified[key] === undefined) {
      if (original[key] !== undefined) patch[key] = null;
    }
  }
  for (const [key, value] of Object.entries(modified)) {
    if (value === undefined) continue;
    if (!(key in original) || original[key] === undefined) {
      patch[key] = value;
      continue;
    }
    const sub = createMergePatch(original[key], value);
    if (sub !== undefined) patch[key] = sub;
  }
  return Object.keys(patch).length === 0 ? undefined : patch;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b)) {
    return a.length === b.length && a.every((item, i) => deepEqual(item, b[i]));
  }
  if (isPlainObject(a) && isPlainObject(b)) {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    for (const key of keys) if (!deepEqual(a[key], b[key])) return false;
    return true;
  }
  return false;
}
