/**
 * The coordination.k8s.io/v1 Lease that leader election competes for, read and written with resourceVersion
 * preconditions (client-go's `resourcelock.LeaseLock`).
 *
 * @module
 */
import type { KubeClients } from "./kube/client.ts";
import { isNotFound } from "./kube/errors.ts";
import type { JsonLease, Timestamp } from "./kube/json_types.ts";
import { requestOptions } from "./kube/patch.ts";

/** The election record kept in the Lease spec. */
export interface LeaderElectionRecord {
  /** Empty when nobody holds the lease (after a release). */
  holderIdentity: string;
  leaseDurationSeconds: number;
  /** Epoch milliseconds. */
  acquireTime: number;
  /** Epoch milliseconds. */
  renewTime: number;
  leaseTransitions: number;
}

/** A record as read, with the resourceVersion an update must match. */
export interface ObservedRecord {
  record: LeaderElectionRecord;
  resourceVersion: string;
}

/** Get/create/update of the Lease; writes fail with a 409 `KubeApiError` when someone else wrote first. */
export interface LeaseLock {
  /** `namespace/name`, for logs and metrics. */
  readonly description: string;
  /** The current record, or `undefined` when the Lease does not exist. */
  get(signal: AbortSignal): Promise<ObservedRecord | undefined>;
  create(record: LeaderElectionRecord, signal: AbortSignal): Promise<ObservedRecord>;
  /** Replaces the record if the Lease still has `resourceVersion`. */
  update(record: LeaderElectionRecord, resourceVersion: string, signal: AbortSignal): Promise<ObservedRecord>;
}

function millis(value: Timestamp | undefined): number {
  return value ? new Date(value).getTime() : 0;
}

/** `ms` as a MicroTime, `2006-01-02T15:04:05.000000Z`: the API server rejects other fraction lengths. */
export function microTime(ms: number): Timestamp {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, ".$1000Z");
}

/** Reads the election record of a Lease; missing fields read as empty/zero. */
export function recordFromLease(lease: JsonLease): LeaderElectionRecord {
  const spec = lease.spec ?? {};
  return {
    holderIdentity: spec.holderIdentity ?? "",
    leaseDurationSeconds: spec.leaseDurationSeconds ?? 0,
    acquireTime: millis(spec.acquireTime),
    renewTime: millis(spec.renewTime),
    leaseTransitions: spec.leaseTransitions ?? 0,
  };
}

/** The Lease body for `record`; times as MicroTime (`2006-01-02T15:04:05.000000Z`, as the API requires). */
export function leaseFromRecord(
  record: LeaderElectionRecord,
  meta: { name: string; namespace: string; resourceVersion?: string },
): JsonLease {
  return {
    apiVersion: "coordination.k8s.io/v1",
    kind: "Lease",
    metadata: { name: meta.name, namespace: meta.namespace, resourceVersion: meta.resourceVersion },
    spec: {
      holderIdentity: record.holderIdentity,
      leaseDurationSeconds: record.leaseDurationSeconds,
      acquireTime: microTime(record.acquireTime),
      renewTime: microTime(record.renewTime),
      leaseTransitions: record.leaseTransitions,
    },
  };
}

/** A {@linkcode LeaseLock} on Lease `namespace/name` through `kube`. */
export function leaseLock(kube: KubeClients, options: { namespace: string; name: string }): LeaseLock {
  const { namespace, name } = options;
  const observed = (lease: JsonLease): ObservedRecord => ({
    record: recordFromLease(lease),
    resourceVersion: lease.metadata?.resourceVersion ?? "",
  });
  return {
    description: `${namespace}/${name}`,
    async get(signal) {
      try {
        return observed(
          await kube.coordination.readNamespacedLease({ name, namespace }, requestOptions({ signal })),
        );
      } catch (err) {
        if (isNotFound(err)) return undefined;
        throw err;
      }
    },
    async create(record, signal) {
      const body = leaseFromRecord(record, { name, namespace });
      return observed(
        await kube.coordination.createNamespacedLease({ namespace, body }, requestOptions({ signal })),
      );
    },
    async update(record, resourceVersion, signal) {
      const body = leaseFromRecord(record, { name, namespace, resourceVersion });
      return observed(
        await kube.coordination.replaceNamespacedLease({ name, namespace, body }, requestOptions({ signal })),
      );
    },
  };
}
