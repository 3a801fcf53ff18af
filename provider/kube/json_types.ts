/**
 * The official model types with their times typed as what the API server sends and our client returns:
 * RFC 3339 strings. `@kubernetes/client-node` types `metav1.Time` and `metav1.MicroTime` as `Date` because its
 * generated code converts them; our client returns the JSON as it came (`api.ts`), so those fields hold strings
 * and code that read them as `Date` (`.getTime()`) would break. Only the kinds whose times ccm reads or writes
 * are here: Events, Leases, and object metadata.
 *
 * @module
 */
import type {
  CoreV1Event,
  CoreV1EventList,
  KubernetesObject,
  V1Lease,
  V1LeaseSpec,
  V1ObjectMeta,
} from "@kubernetes/client-node";

/**
 * A `metav1.Time` (`2006-01-02T15:04:05Z`) or `metav1.MicroTime` (six fractional digits,
 * `2006-01-02T15:04:05.000000Z`) as it is on the wire.
 */
export type Timestamp = string;

/** `T` with its fields `K` typed as {@linkcode Timestamp}. */
type WithTimestamps<T, K extends keyof T> = Omit<T, K> & { [P in K]?: Timestamp };

/** `V1ObjectMeta` as sent: `creationTimestamp` and `deletionTimestamp` are strings. */
export type JsonObjectMeta = WithTimestamps<V1ObjectMeta, "creationTimestamp" | "deletionTimestamp">;

/** A core/v1 Event as sent: `firstTimestamp`, `lastTimestamp` and `eventTime` are strings. */
export type JsonEvent = WithTimestamps<CoreV1Event, "firstTimestamp" | "lastTimestamp" | "eventTime">;

/** A list of {@linkcode JsonEvent}s. */
export type JsonEventList = Omit<CoreV1EventList, "items"> & { items: JsonEvent[] };

/** A Lease spec as sent: `acquireTime` and `renewTime` are MicroTime strings. */
export type JsonLeaseSpec = WithTimestamps<V1LeaseSpec, "acquireTime" | "renewTime">;

/** A coordination.k8s.io/v1 Lease as sent. */
export type JsonLease = Omit<V1Lease, "spec"> & { spec?: JsonLeaseSpec };

/**
 * The metadata of an object from our client (or an informer's cache of it) with its times typed as the
 * strings they are; `{}` when it has none.
 */
export function jsonMeta(obj: KubernetesObject): JsonObjectMeta {
  // The one place that says so: every object comes from JSON, so no time in it is a Date.
  return (obj.metadata ?? {}) as unknown as JsonObjectMeta;
}
