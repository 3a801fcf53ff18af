/**
 * List+watch sources over the API server for any resource: typed objects (the client's models, with `Date`
 * timestamps) from both the list and the watch.
 *
 * @module
 */
import type { KubernetesObject } from "@kubernetes/client-node";
import { ObjectSerializer } from "@kubernetes/client-node/dist/serializer.js";
import { getSerializationType } from "@kubernetes/client-node/dist/util.js";
import type { KubeClients } from "./client.ts";
import type { ListResult, ListWatchSource } from "./reflector.ts";
import type { WatchEvent } from "./watch.ts";

/** Which objects an informer holds. */
export interface ResourceDescriptor {
  /** `v1`, `discovery.k8s.io/v1`, `metallb.io/v1beta1`, ... */
  apiVersion: string;
  /** Kind of one object, for example `ConfigMap`. */
  kind: string;
  /** Resource name in URLs, for example `configmaps`. */
  plural: string;
  /** Only this namespace; absent means all namespaces (or a cluster-scoped resource). */
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
}

/** `nodes`, all namespaces. */
export const NODES: ResourceDescriptor = { apiVersion: "v1", kind: "Node", plural: "nodes" };
/** `services`, all namespaces. */
export const SERVICES: ResourceDescriptor = { apiVersion: "v1", kind: "Service", plural: "services" };
/** `discovery.k8s.io/v1` EndpointSlices, all namespaces. */
export const ENDPOINT_SLICES: ResourceDescriptor = {
  apiVersion: "discovery.k8s.io/v1",
  kind: "EndpointSlice",
  plural: "endpointslices",
};

/** The collection URL path of a resource, for example `/apis/discovery.k8s.io/v1/endpointslices`. */
export function collectionPath(d: ResourceDescriptor): string {
  const root = d.apiVersion.includes("/") ? `/apis/${d.apiVersion}` : `/api/${d.apiVersion}`;
  const ns = d.namespace ? `/namespaces/${encodeURIComponent(d.namespace)}` : "";
  return `${root}${ns}/${d.plural}`;
}

/** A stable identity of a descriptor, for sharing one informer per distinct descriptor. */
export function descriptorKey(d: ResourceDescriptor): string {
  return [d.apiVersion, d.kind, d.plural, d.namespace ?? "", d.labelSelector ?? "", d.fieldSelector ?? ""]
    .join("|");
}

/** Turns a raw watch object into the client's model type (unknown kinds stay plain objects). */
function deserialize<T>(raw: unknown): T {
  const { apiVersion, kind } = (raw ?? {}) as { apiVersion?: string; kind?: string };
  return ObjectSerializer.deserialize(raw, getSerializationType(apiVersion, kind)) as T;
}

/** Options of {@linkcode listWatchFor}. */
export interface ListWatchOptions {
  /** Objects per list page (default 500, as client-go's pager). */
  pageSize?: number;
}

/** A {@linkcode ListWatchSource} for `descriptor`, through `kube` (rate limited, shared connections). */
export function listWatchFor<T extends KubernetesObject>(
  kube: KubeClients,
  descriptor: ResourceDescriptor,
  options: ListWatchOptions = {},
): ListWatchSource<T> {
  const path = collectionPath(descriptor);
  const pageSize = options.pageSize ?? 500;
  return {
    async list(): Promise<ListResult<T>> {
      const items: T[] = [];
      let continueToken: string | undefined;
      let resourceVersion = "";
      do {
        const page = await kube.objects.list<T>(
          descriptor.apiVersion,
          descriptor.kind,
          descriptor.namespace,
          undefined,
          undefined,
          undefined,
          descriptor.fieldSelector,
          descriptor.labelSelector,
          pageSize,
          continueToken,
        );
        items.push(...page.items);
        resourceVersion = page.metadata?.resourceVersion ?? resourceVersion;
        continueToken = page.metadata?._continue || undefined;
      } while (continueToken);
      return { items, resourceVersion };
    },
    async *watch({ resourceVersion, timeoutSeconds, signal }): AsyncIterable<WatchEvent<T>> {
      const events = kube.watch<unknown>(path, {
        resourceVersion,
        timeoutSeconds,
        labelSelector: descriptor.labelSelector,
        fieldSelector: descriptor.fieldSelector,
        signal,
      });
      for await (const event of events) {
        yield { type: event.type, object: deserialize<T>(event.object) };
      }
    },
  };
}
