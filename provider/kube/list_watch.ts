/**
 * List+watch sources over the API server for any resource: objects as the server sent them (plain JSON;
 * timestamps are RFC 3339 strings) from both the list and the watch.
 *
 * @module
 */
import type { KubernetesListObject, KubernetesObject } from "@kubernetes/client-node";
import { groupVersionPath } from "./api.ts";
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
  const ns = d.namespace ? `/namespaces/${encodeURIComponent(d.namespace)}` : "";
  return `${groupVersionPath(d.apiVersion)}${ns}/${d.plural}`;
}

/** A stable identity of a descriptor, for sharing one informer per distinct descriptor. */
export function descriptorKey(d: ResourceDescriptor): string {
  return [d.apiVersion, d.kind, d.plural, d.namespace ?? "", d.labelSelector ?? "", d.fieldSelector ?? ""]
    .join("|");
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
        const page = await kube.rest.get<KubernetesListObject<T> & { metadata?: { continue?: string } }>(
          path,
          {
            fieldSelector: descriptor.fieldSelector,
            labelSelector: descriptor.labelSelector,
            limit: pageSize,
            _continue: continueToken,
          },
        );
        // List items come without apiVersion and kind; watch events have them. Make both alike.
        for (const item of page.items ?? []) {
          item.apiVersion ??= descriptor.apiVersion;
          item.kind ??= descriptor.kind;
          items.push(item);
        }
        resourceVersion = page.metadata?.resourceVersion ?? resourceVersion;
        continueToken = page.metadata?.continue || undefined;
      } while (continueToken);
      return { items, resourceVersion };
    },
    async *watch({ resourceVersion, timeoutSeconds, signal }): AsyncIterable<WatchEvent<T>> {
      const events = kube.watch<T>(path, {
        resourceVersion,
        timeoutSeconds,
        labelSelector: descriptor.labelSelector,
        fieldSelector: descriptor.fieldSelector,
        signal,
      });
      yield* events;
    },
  };
}
