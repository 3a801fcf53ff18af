/**
 * {@linkcode NodeWriter} and {@linkcode ServiceWriter} fakes that apply writes to {@linkcode FakeInformer}s
 * (so handlers fire as after a real write) and record them. JSON merge patches follow RFC 7386, a
 * `metadata.resourceVersion` in a patch is a precondition (409 when stale), and strategic merge patches support
 * what the controllers send (`$deleteFromPrimitiveList/finalizers` and merged finalizers).
 *
 * @module
 */
import type { KubernetesObject, V1Node, V1Service } from "@kubernetes/client-node";
import type { NodeWriter, PatchKind, ServiceWriter } from "../controllers/kube_writers.ts";
import { type KubeApiError, kubeApiErrorFromResponse, type StatusReason } from "../kube/errors.ts";
import type { FakeInformer } from "./fake_informer.ts";

/** One recorded write. */
export interface RecordedWrite {
  verb: "patch" | "patchStatus" | "delete" | "get";
  key: string;
  body?: unknown;
  kind?: PatchKind;
}

/**
 * The error our client throws for a failed call: a {@linkcode KubeApiError} built from the Status the API
 * server would send (`reason` defaults to the one of `code`, e.g. 409 `Conflict`).
 */
export function apiError(code: number, message: string, reason?: StatusReason): KubeApiError {
  return kubeApiErrorFromResponse(code, { kind: "Status", status: "Failure", code, reason, message });
}

class FakeStore<T extends KubernetesObject> {
  readonly writes: RecordedWrite[] = [];
  /** Errors thrown by the next writes, in order. */
  readonly failNext: Error[] = [];
  #rv = 1000;

  constructor(readonly informer: FakeInformer<T>) {}

  apply(verb: "patch" | "patchStatus", key: string, body: unknown, kind: PatchKind): T {
    this.writes.push({ verb, key, body, kind });
    const failure = this.failNext.shift();
    if (failure) throw failure;
    const current = this.informer.get(key);
    if (current === undefined) throw apiError(404, `"${key}" not found`);
    const patch = structuredClone(body) as { metadata?: Record<string, unknown> };
    const precondition = patch.metadata?.resourceVersion;
    if (precondition !== undefined && precondition !== current.metadata?.resourceVersion) {
      throw apiError(409, `Operation cannot be fulfilled on "${key}": the object has been modified`);
    }
    if (patch.metadata) delete patch.metadata.resourceVersion;
    const next = kind === "merge" ? mergePatch(current, patch) : strategicPatch(current, patch);
    (next as KubernetesObject).metadata = {
      ...(next as KubernetesObject).metadata,
      resourceVersion: String(++this.#rv),
    };
    const result = next as T;
    const finalizers = result.metadata?.finalizers ?? [];
    if (result.metadata?.deletionTimestamp && finalizers.length === 0) this.informer.remove(key);
    else this.informer.upsert(result);
    return result;
  }
}

/** Records node writes and applies them to the node informer. */
export class FakeNodeWriter implements NodeWriter {
  readonly #store: FakeStore<V1Node>;

  constructor(informer: FakeInformer<V1Node>) {
    this.#store = new FakeStore(informer);
  }

  get writes(): RecordedWrite[] {
    return this.#store.writes;
  }

  get failNext(): Error[] {
    return this.#store.failNext;
  }

  get(name: string): Promise<V1Node> {
    this.#store.writes.push({ verb: "get", key: name });
    const node = this.#store.informer.get(name);
    return node ? Promise.resolve(structuredClone(node)) : Promise.reject(apiError(404, "not found"));
  }

  patch(name: string, body: unknown, kind: PatchKind = "merge"): Promise<V1Node> {
    return attempt(() => this.#store.apply("patch", name, body, kind));
  }

  patchStatus(name: string, body: unknown, kind: PatchKind = "merge"): Promise<V1Node> {
    return attempt(() => this.#store.apply("patchStatus", name, body, kind));
  }

  delete(name: string, uid?: string): Promise<void> {
    this.#store.writes.push({ verb: "delete", key: name, body: uid });
    const failure = this.#store.failNext.shift();
    if (failure) return Promise.reject(failure);
    const node = this.#store.informer.get(name);
    if (node === undefined) return Promise.reject(apiError(404, "not found"));
    if (uid !== undefined && node.metadata?.uid !== uid) {
      return Promise.reject(apiError(409, "uid precondition"));
    }
    this.#store.informer.remove(name);
    return Promise.resolve();
  }
}

/** Records service status writes and applies them to the service informer. */
export class FakeServiceWriter implements ServiceWriter {
  readonly #store: FakeStore<V1Service>;

  constructor(informer: FakeInformer<V1Service>) {
    this.#store = new FakeStore(informer);
  }

  get writes(): RecordedWrite[] {
    return this.#store.writes;
  }

  get failNext(): Error[] {
    return this.#store.failNext;
  }

  patchStatus(namespace: string, name: string, body: unknown, kind: PatchKind = "merge"): Promise<V1Service> {
    return attempt(() => this.#store.apply("patchStatus", `${namespace}/${name}`, body, kind));
  }
}

function attempt<T>(fn: () => T): Promise<T> {
  try {
    return Promise.resolve(fn());
  } catch (err) {
    return Promise.reject(err);
  }
}

/** RFC 7386 JSON merge patch. */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (patch === null || typeof patch !== "object" || Array.isArray(patch)) return structuredClone(patch);
  const result: Record<string, unknown> =
    target !== null && typeof target === "object" && !Array.isArray(target)
      ? structuredClone(target) as never
      : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete result[key];
    else result[key] = mergePatch(result[key], value);
  }
  return result;
}

/** The subset of strategic merge patch the controllers use: finalizer merge/delete, otherwise merge patch. */
function strategicPatch(target: unknown, patch: Record<string, unknown>): unknown {
  const copy = structuredClone(patch) as { metadata?: Record<string, unknown> };
  const metadata = (target as KubernetesObject).metadata ?? {};
  let finalizers = [...(metadata.finalizers ?? [])];
  if (copy.metadata) {
    const remove = copy.metadata["$deleteFromPrimitiveList/finalizers"] as string[] | undefined;
    const add = copy.metadata.finalizers as string[] | undefined;
    delete copy.metadata["$deleteFromPrimitiveList/finalizers"];
    delete copy.metadata.finalizers;
    if (remove) finalizers = finalizers.filter((f) => !remove.includes(f));
    if (add) { for (const f of add) if (!finalizers.includes(f)) finalizers.push(f); }
  }
  const result = mergePatch(target, copy) as KubernetesObject;
  result.metadata = { ...result.metadata, finalizers };
  return result;
}
