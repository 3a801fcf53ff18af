/**
 * Typed Kubernetes API clients for the calls ccm (and its tests) make, in the official client's call shape
 * (`core.readNode({ name })`) but over our own transport, and returning plain JSON as the server sent it.
 * Timestamps stay RFC 3339 strings, whatever the official model types (used here as types only) say; the
 * kinds whose times ccm reads or writes are typed so (`json_types.ts`).
 *
 * The official client's generated code is not loaded: it costs ~45 MB of memory for ~40 calls.
 *
 * @module
 */
import type {
  AuthenticationV1TokenRequest,
  KubernetesListObject,
  KubernetesObject,
  V1ConfigMap,
  V1EndpointSlice,
  V1Namespace,
  V1Node,
  V1NodeList,
  V1Secret,
  V1Service,
  V1ServiceAccount,
  V1ServiceAccountList,
  V1ServiceList,
  V1Status,
} from "@kubernetes/client-node";
import { kubeApiErrorFromResponse } from "./errors.ts";
import type { JsonEvent, JsonEventList, JsonLease } from "./json_types.ts";
import { type CallOptions, PATCH_CONTENT_TYPES, type PatchType } from "./patch.ts";
import type { KubeTransport } from "./transport.ts";

/** Query parameters a call may carry (the official client's parameter names; `_continue` is `continue`). */
export interface QueryParams {
  labelSelector?: string;
  fieldSelector?: string;
  limit?: number;
  _continue?: string;
  resourceVersion?: string;
  resourceVersionMatch?: string;
  timeoutSeconds?: number;
  fieldManager?: string;
  fieldValidation?: string;
  force?: boolean;
  dryRun?: string;
  gracePeriodSeconds?: number;
  propagationPolicy?: string;
  pretty?: string;
}

const QUERY_KEYS: Array<[keyof QueryParams, string]> = [
  ["labelSelector", "labelSelector"],
  ["fieldSelector", "fieldSelector"],
  ["limit", "limit"],
  ["_continue", "continue"],
  ["resourceVersion", "resourceVersion"],
  ["resourceVersionMatch", "resourceVersionMatch"],
  ["timeoutSeconds", "timeoutSeconds"],
  ["fieldManager", "fieldManager"],
  ["fieldValidation", "fieldValidation"],
  ["force", "force"],
  ["dryRun", "dryRun"],
  ["gracePeriodSeconds", "gracePeriodSeconds"],
  ["propagationPolicy", "propagationPolicy"],
  ["pretty", "pretty"],
];

/**
 * The query string (with `?`, or empty) of the {@linkcode QueryParams} in `params`; other fields (such as
 * `name` and `body`) are not query parameters.
 */
export function queryString(params: object): string {
  const query = new URLSearchParams();
  for (const [key, name] of QUERY_KEYS) {
    const value = (params as QueryParams)[key];
    if (value !== undefined && value !== "") query.set(name, String(value));
  }
  const text = query.toString();
  return text ? `?${text}` : "";
}

/** Parameters of a call with a body. */
export interface WithBody<T> extends QueryParams {
  body: T;
}

const enc = encodeURIComponent;

/**
 * JSON requests over a {@linkcode KubeTransport}: non-2xx responses throw a `KubeApiError`.
 */
export class KubeRest {
  readonly transport: KubeTransport;

  constructor(transport: KubeTransport) {
    this.transport = transport;
  }

  /** Sends `method path` with `params` as query and `body` as JSON; returns the parsed response. */
  async call<T>(
    method: string,
    path: string,
    params: object & { body?: unknown } = {},
    options: CallOptions & { contentType?: string } = {},
  ): Promise<T> {
    const hasBody = params.body !== undefined;
    const response = await this.transport.request({
      method,
      path: path + queryString(params),
      body: hasBody ? JSON.stringify(params.body) : undefined,
      contentType: hasBody ? options.contentType ?? "application/json" : undefined,
      signal: options.signal,
    });
    if (response.status < 200 || response.status > 299) {
      throw kubeApiErrorFromResponse(response.status, response.text, response.headers);
    }
    return (response.text ? JSON.parse(response.text) : {}) as T;
  }

  /** GET `path`; the {@linkcode QueryParams} in `params` go in the query. */
  get<T>(path: string, params?: object, options?: CallOptions): Promise<T> {
    return this.call<T>("GET", path, { ...params, body: undefined }, options);
  }

  create<T>(path: string, params: WithBody<unknown>, options?: CallOptions): Promise<T> {
    return this.call<T>("POST", path, params, options);
  }

  replace<T>(path: string, params: WithBody<unknown>, options?: CallOptions): Promise<T> {
    return this.call<T>("PUT", path, params, options);
  }

  /** A patch of the type in `options`; by default a merge patch for an object body, a JSON patch for an array. */
  patch<T>(path: string, params: WithBody<unknown>, options: CallOptions = {}): Promise<T> {
    const type: PatchType = options.patchType ?? (Array.isArray(params.body) ? "json" : "merge");
    return this.call<T>("PATCH", path, params, { ...options, contentType: PATCH_CONTENT_TYPES[type] });
  }

  delete<T>(path: string, params: object & { body?: unknown } = {}, options?: CallOptions): Promise<T> {
    return this.call<T>("DELETE", path, params, options);
  }
}

type Named = { name: string };
type Namespaced = { namespace: string };
type NamespacedName = Named & Namespaced;
/** A delete's optional `DeleteOptions` body (preconditions, propagation policy). */
type DeleteParams = QueryParams & { body?: Record<string, unknown> };

const CORE = "/api/v1";
const ns = (namespace: string) => `${CORE}/namespaces/${enc(namespace)}`;

/** core/v1. */
export class CoreV1Api {
  #rest: KubeRest;

  constructor(rest: KubeRest) {
    this.#rest = rest;
  }

  // Namespaces
  readNamespace(p: Named, o?: CallOptions): Promise<V1Namespace> {
    return this.#rest.get(`${CORE}/namespaces/${enc(p.name)}`, p, o);
  }
  createNamespace(p: WithBody<V1Namespace>, o?: CallOptions): Promise<V1Namespace> {
    return this.#rest.create(`${CORE}/namespaces`, p, o);
  }

  // Nodes
  readNode(p: Named & QueryParams, o?: CallOptions): Promise<V1Node> {
    return this.#rest.get(`${CORE}/nodes/${enc(p.name)}`, p, o);
  }
  listNode(p: QueryParams = {}, o?: CallOptions): Promise<V1NodeList> {
    return this.#rest.get(`${CORE}/nodes`, p, o);
  }
  createNode(p: WithBody<V1Node>, o?: CallOptions): Promise<V1Node> {
    return this.#rest.create(`${CORE}/nodes`, p, o);
  }
  replaceNode(p: Named & WithBody<V1Node>, o?: CallOptions): Promise<V1Node> {
    return this.#rest.replace(`${CORE}/nodes/${enc(p.name)}`, p, o);
  }
  patchNode(p: Named & WithBody<unknown>, o?: CallOptions): Promise<V1Node> {
    return this.#rest.patch(`${CORE}/nodes/${enc(p.name)}`, p, o);
  }
  patchNodeStatus(p: Named & WithBody<unknown>, o?: CallOptions): Promise<V1Node> {
    return this.#rest.patch(`${CORE}/nodes/${enc(p.name)}/status`, p, o);
  }
  deleteNode(p: Named & DeleteParams, o?: CallOptions): Promise<V1Status> {
    return this.#rest.delete(`${CORE}/nodes/${enc(p.name)}`, p, o);
  }

  // Services
  readNamespacedService(p: NamespacedName, o?: CallOptions): Promise<V1Service> {
    return this.#rest.get(`${ns(p.namespace)}/services/${enc(p.name)}`, p, o);
  }
  listNamespacedService(p: Namespaced & QueryParams, o?: CallOptions): Promise<V1ServiceList> {
    return this.#rest.get(`${ns(p.namespace)}/services`, p, o);
  }
  listServiceForAllNamespaces(p: QueryParams = {}, o?: CallOptions): Promise<V1ServiceList> {
    return this.#rest.get(`${CORE}/services`, p, o);
  }
  createNamespacedService(p: Namespaced & WithBody<V1Service>, o?: CallOptions): Promise<V1Service> {
    return this.#rest.create(`${ns(p.namespace)}/services`, p, o);
  }
  replaceNamespacedService(p: NamespacedName & WithBody<V1Service>, o?: CallOptions): Promise<V1Service> {
    return this.#rest.replace(`${ns(p.namespace)}/services/${enc(p.name)}`, p, o);
  }
  patchNamespacedService(p: NamespacedName & WithBody<unknown>, o?: CallOptions): Promise<V1Service> {
    return this.#rest.patch(`${ns(p.namespace)}/services/${enc(p.name)}`, p, o);
  }
  patchNamespacedServiceStatus(p: NamespacedName & WithBody<unknown>, o?: CallOptions): Promise<V1Service> {
    return this.#rest.patch(`${ns(p.namespace)}/services/${enc(p.name)}/status`, p, o);
  }
  deleteNamespacedService(p: NamespacedName & DeleteParams, o?: CallOptions): Promise<V1Service> {
    return this.#rest.delete(`${ns(p.namespace)}/services/${enc(p.name)}`, p, o);
  }

  // ConfigMaps
  readNamespacedConfigMap(p: NamespacedName, o?: CallOptions): Promise<V1ConfigMap> {
    return this.#rest.get(`${ns(p.namespace)}/configmaps/${enc(p.name)}`, p, o);
  }
  createNamespacedConfigMap(p: Namespaced & WithBody<V1ConfigMap>, o?: CallOptions): Promise<V1ConfigMap> {
    return this.#rest.create(`${ns(p.namespace)}/configmaps`, p, o);
  }
  replaceNamespacedConfigMap(
    p: NamespacedName & WithBody<V1ConfigMap>,
    o?: CallOptions,
  ): Promise<V1ConfigMap> {
    return this.#rest.replace(`${ns(p.namespace)}/configmaps/${enc(p.name)}`, p, o);
  }
  patchNamespacedConfigMap(p: NamespacedName & WithBody<unknown>, o?: CallOptions): Promise<V1ConfigMap> {
    return this.#rest.patch(`${ns(p.namespace)}/configmaps/${enc(p.name)}`, p, o);
  }
  deleteNamespacedConfigMap(p: NamespacedName & DeleteParams, o?: CallOptions): Promise<V1Status> {
    return this.#rest.delete(`${ns(p.namespace)}/configmaps/${enc(p.name)}`, p, o);
  }

  // Secrets
  readNamespacedSecret(p: NamespacedName, o?: CallOptions): Promise<V1Secret> {
    return this.#rest.get(`${ns(p.namespace)}/secrets/${enc(p.name)}`, p, o);
  }
  createNamespacedSecret(p: Namespaced & WithBody<V1Secret>, o?: CallOptions): Promise<V1Secret> {
    return this.#rest.create(`${ns(p.namespace)}/secrets`, p, o);
  }
  patchNamespacedSecret(p: NamespacedName & WithBody<unknown>, o?: CallOptions): Promise<V1Secret> {
    return this.#rest.patch(`${ns(p.namespace)}/secrets/${enc(p.name)}`, p, o);
  }
  deleteNamespacedSecret(p: NamespacedName & DeleteParams, o?: CallOptions): Promise<V1Status> {
    return this.#rest.delete(`${ns(p.namespace)}/secrets/${enc(p.name)}`, p, o);
  }

  // Events
  listNamespacedEvent(p: Namespaced & QueryParams, o?: CallOptions): Promise<JsonEventList> {
    return this.#rest.get(`${ns(p.namespace)}/events`, p, o);
  }
  listEventForAllNamespaces(p: QueryParams = {}, o?: CallOptions): Promise<JsonEventList> {
    return this.#rest.get(`${CORE}/events`, p, o);
  }
  createNamespacedEvent(p: Namespaced & WithBody<JsonEvent>, o?: CallOptions): Promise<JsonEvent> {
    return this.#rest.create(`${ns(p.namespace)}/events`, p, o);
  }
  patchNamespacedEvent(p: NamespacedName & WithBody<unknown>, o?: CallOptions): Promise<JsonEvent> {
    return this.#rest.patch(`${ns(p.namespace)}/events/${enc(p.name)}`, p, o);
  }

  // ServiceAccounts
  listNamespacedServiceAccount(p: Namespaced & QueryParams, o?: CallOptions): Promise<V1ServiceAccountList> {
    return this.#rest.get(`${ns(p.namespace)}/serviceaccounts`, p, o);
  }
  createNamespacedServiceAccount(
    p: Namespaced & WithBody<V1ServiceAccount>,
    o?: CallOptions,
  ): Promise<V1ServiceAccount> {
    return this.#rest.create(`${ns(p.namespace)}/serviceaccounts`, p, o);
  }
  createNamespacedServiceAccountToken(
    p: NamespacedName & WithBody<AuthenticationV1TokenRequest>,
    o?: CallOptions,
  ): Promise<AuthenticationV1TokenRequest> {
    return this.#rest.create(`${ns(p.namespace)}/serviceaccounts/${enc(p.name)}/token`, p, o);
  }
}

const LEASES = (namespace: string) => `/apis/coordination.k8s.io/v1/namespaces/${enc(namespace)}/leases`;

/** coordination.k8s.io/v1. */
export class CoordinationV1Api {
  #rest: KubeRest;

  constructor(rest: KubeRest) {
    this.#rest = rest;
  }

  readNamespacedLease(p: NamespacedName, o?: CallOptions): Promise<JsonLease> {
    return this.#rest.get(`${LEASES(p.namespace)}/${enc(p.name)}`, p, o);
  }
  createNamespacedLease(p: Namespaced & WithBody<JsonLease>, o?: CallOptions): Promise<JsonLease> {
    return this.#rest.create(LEASES(p.namespace), p, o);
  }
  replaceNamespacedLease(p: NamespacedName & WithBody<JsonLease>, o?: CallOptions): Promise<JsonLease> {
    return this.#rest.replace(`${LEASES(p.namespace)}/${enc(p.name)}`, p, o);
  }
  patchNamespacedLease(p: NamespacedName & WithBody<unknown>, o?: CallOptions): Promise<JsonLease> {
    return this.#rest.patch(`${LEASES(p.namespace)}/${enc(p.name)}`, p, o);
  }
}

const SLICES = (namespace: string) => `/apis/discovery.k8s.io/v1/namespaces/${enc(namespace)}/endpointslices`;

/** discovery.k8s.io/v1. */
export class DiscoveryV1Api {
  #rest: KubeRest;

  constructor(rest: KubeRest) {
    this.#rest = rest;
  }

  readNamespacedEndpointSlice(p: NamespacedName, o?: CallOptions): Promise<V1EndpointSlice> {
    return this.#rest.get(`${SLICES(p.namespace)}/${enc(p.name)}`, p, o);
  }
  createNamespacedEndpointSlice(
    p: Namespaced & WithBody<V1EndpointSlice>,
    o?: CallOptions,
  ): Promise<V1EndpointSlice> {
    return this.#rest.create(SLICES(p.namespace), p, o);
  }
  patchNamespacedEndpointSlice(
    p: NamespacedName & WithBody<unknown>,
    o?: CallOptions,
  ): Promise<V1EndpointSlice> {
    return this.#rest.patch(`${SLICES(p.namespace)}/${enc(p.name)}`, p, o);
  }
}

/** Where a custom resource lives. */
type CustomResource = { group: string; version: string; plural: string };
// deno-lint-ignore no-explicit-any -- custom objects have no model type; callers narrow them.
type AnyObject = any;

/** Custom resources (CRDs) of any group. */
export class CustomObjectsApi {
  #rest: KubeRest;

  constructor(rest: KubeRest) {
    this.#rest = rest;
  }

  #path(p: CustomResource & { namespace?: string; name?: string }): string {
    const namespace = p.namespace === undefined ? "" : `/namespaces/${enc(p.namespace)}`;
    const name = p.name === undefined ? "" : `/${enc(p.name)}`;
    return `/apis/${enc(p.group)}/${enc(p.version)}${namespace}/${enc(p.plural)}${name}`;
  }

  getNamespacedCustomObject(p: CustomResource & NamespacedName, o?: CallOptions): Promise<AnyObject> {
    return this.#rest.get(this.#path(p), p, o);
  }
  listNamespacedCustomObject(
    p: CustomResource & Namespaced & QueryParams,
    o?: CallOptions,
  ): Promise<AnyObject> {
    return this.#rest.get(this.#path(p), p, o);
  }
  createNamespacedCustomObject(
    p: CustomResource & Namespaced & WithBody<object>,
    o?: CallOptions,
  ): Promise<AnyObject> {
    return this.#rest.create(this.#path(p), p, o);
  }
  patchNamespacedCustomObject(
    p: CustomResource & NamespacedName & WithBody<unknown>,
    o?: CallOptions,
  ): Promise<AnyObject> {
    return this.#rest.patch(this.#path(p), p, o);
  }
  deleteNamespacedCustomObject(
    p: CustomResource & NamespacedName & DeleteParams,
    o?: CallOptions,
  ): Promise<AnyObject> {
    return this.#rest.delete(this.#path(p), p, o);
  }
  deleteClusterCustomObject(p: CustomResource & Named & DeleteParams, o?: CallOptions): Promise<AnyObject> {
    return this.#rest.delete(this.#path(p), p, o);
  }
}

/** An object's identity: `apiVersion`, `kind`, `metadata.name` and (when namespaced) `metadata.namespace`. */
export interface ObjectRef {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string; namespace?: string };
}

interface ApiResource {
  name: string;
  kind: string;
  namespaced: boolean;
}

/** Options of {@linkcode ObjectsApi.list}. */
export interface ObjectListParams extends QueryParams {
  apiVersion: string;
  kind: string;
  namespace?: string;
}

/**
 * Objects of any kind, found through API discovery (`kind` → resource name and scope, cached per group
 * version): create, read, delete, list and server-side apply.
 */
export class ObjectsApi {
  #rest: KubeRest;
  #discovered = new Map<string, Promise<ApiResource[]>>();

  constructor(rest: KubeRest) {
    this.#rest = rest;
  }

  create<T extends KubernetesObject>(obj: T, o?: CallOptions): Promise<T> {
    return this.#at(obj, false).then((path) => this.#rest.create<T>(path, { body: obj }, o));
  }

  read<T extends KubernetesObject>(ref: ObjectRef, o?: CallOptions): Promise<T> {
    return this.#at(ref, true).then((path) => this.#rest.get<T>(path, {}, o));
  }

  delete(ref: ObjectRef, params: DeleteParams = {}, o?: CallOptions): Promise<V1Status> {
    return this.#at(ref, true).then((path) => this.#rest.delete<V1Status>(path, params, o));
  }

  /** Server-side apply of `obj` as `fieldManager`. */
  apply<T extends KubernetesObject>(
    obj: T,
    options: { fieldManager: string; force: boolean },
    o: CallOptions = {},
  ): Promise<T> {
    return this.#at(obj, true).then((path) =>
      this.#rest.patch<T>(path, { body: obj, ...options }, { ...o, patchType: "apply" })
    );
  }

  /** One page of `kind` objects (all namespaces unless `namespace` is set). */
  async list<T extends KubernetesObject>(
    p: ObjectListParams,
    o?: CallOptions,
  ): Promise<KubernetesListObject<T>> {
    const resource = await this.#resource(p.apiVersion, p.kind);
    const scope = p.namespace && resource.namespaced ? `/namespaces/${enc(p.namespace)}` : "";
    return await this.#rest.get(`${groupVersionPath(p.apiVersion)}${scope}/${resource.name}`, p, o);
  }

  async #at(ref: ObjectRef, withName: boolean): Promise<string> {
    if (!ref.apiVersion || !ref.kind) throw new Error("object needs apiVersion and kind");
    const resource = await this.#resource(ref.apiVersion, ref.kind);
    const namespace = ref.metadata?.namespace;
    if (resource.namespaced && !namespace) {
      throw new Error(`${ref.kind} "${ref.metadata?.name ?? ""}" needs metadata.namespace`);
    }
    const scope = resource.namespaced ? `/namespaces/${enc(namespace!)}` : "";
    const name = ref.metadata?.name;
    if (withName && !name) throw new Error(`${ref.kind} needs metadata.name`);
    return `${groupVersionPath(ref.apiVersion)}${scope}/${resource.name}${withName ? `/${enc(name!)}` : ""}`;
  }

  async #resource(apiVersion: string, kind: string): Promise<ApiResource> {
    for (const fresh of [false, true]) {
      if (fresh || !this.#discovered.has(apiVersion)) {
        const list = this.#rest.get<{ resources?: ApiResource[] }>(groupVersionPath(apiVersion))
          .then((r) => (r.resources ?? []).filter((res) => !res.name.includes("/")));
        // A failed discovery is forgotten (unless a newer one already replaced it).
        list.catch(() => {
          if (this.#discovered.get(apiVersion) === list) this.#discovered.delete(apiVersion);
        });
        this.#discovered.set(apiVersion, list);
      }
      const found = (await this.#discovered.get(apiVersion)!).find((r) => r.kind === kind);
      if (found) return found;
    }
    throw new Error(`The API server has no kind "${kind}" in ${apiVersion}`);
  }
}

/** `/api/v1` for the core group, `/apis/<group>/<version>` otherwise. */
export function groupVersionPath(apiVersion: string): string {
  return apiVersion.includes("/") ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
}
