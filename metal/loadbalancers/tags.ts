/**
 * The wire identifiers of Service elastic IPs, exactly as upstream writes them (upstream's
 * metal/loadbalancers.go), so a cluster moving from the upstream CCM keeps its reservations: the three tags,
 * the load balancer name and the reservation's description, plus "find by all tags".
 *
 * @module
 */
import { createHash } from "node:crypto";
import type { IpReservation } from "../api/types.ts";

/** Tag on every reservation the CCM makes for a Service (upstream `emTag`). */
export const USAGE_TAG = "usage=cloud-provider-equinix-metal-auto";

/** `details` of reservations the CCM makes (upstream's description, verbatim). */
export const RESERVATION_DETAILS = "Equinix Metal Kubernetes CCM auto-generated for Load Balancer";

/** Prefix of the tag naming the Service by hash. */
export const SERVICE_TAG_PREFIX = "service=";

/** Prefix of the tag naming the cluster by its `kube-system` namespace UID. */
export const CLUSTER_TAG_PREFIX = "cluster=";

/**
 * Standard base64 (with padding) of the SHA-256 of `<namespace>/<name>`: the Service part of its tag.
 *
 * @example
 * ```ts
 * serviceHash("default", "nginx"); // "l7RnKS8k48oG3Qv3Pxx8FzEMj3X3E5c8JPOIzyLWWdY="
 * ```
 */
export function serviceHash(namespace: string, name: string): string {
  return createHash("sha256").update(`${namespace}/${name}`, "utf8").digest("base64");
}

/** `service=<hash>` of a Service. */
export function serviceTag(namespace: string, name: string): string {
  return `${SERVICE_TAG_PREFIX}${serviceHash(namespace, name)}`;
}

/** `cluster=<kube-system UID>`. */
export function clusterTag(clusterId: string): string {
  return `${CLUSTER_TAG_PREFIX}${clusterId}`;
}

/** The three tags of a Service's elastic IP, in upstream's order: usage, service, cluster. */
export function serviceTags(namespace: string, name: string, clusterId: string): string[] {
  return [USAGE_TAG, serviceTag(namespace, name), clusterTag(clusterId)];
}

/** Upstream `GetLoadBalancerName`: `usage=...:service=...:cluster=...`. */
export function loadBalancerName(namespace: string, name: string, clusterId: string): string {
  return serviceTags(namespace, name, clusterId).join(":");
}

/** Whether `reservation` carries every tag of `wanted` (extra tags allowed). */
export function hasAllTags(reservation: Pick<IpReservation, "tags">, wanted: readonly string[]): boolean {
  const tags = new Set(reservation.tags);
  return wanted.every((tag) => tags.has(tag));
}

/** Upstream "find by all tags": the first reservation, in list order, that carries every wanted tag. */
export function findByAllTags<T extends Pick<IpReservation, "tags">>(
  reservations: readonly T[],
  wanted: readonly string[],
): T | undefined {
  return reservations.find((r) => hasAllTags(r, wanted));
}

/** Every reservation that carries every wanted tag, in list order. */
export function filterByAllTags<T extends Pick<IpReservation, "tags">>(
  reservations: readonly T[],
  wanted: readonly string[],
): T[] {
  return reservations.filter((r) => hasAllTags(r, wanted));
}
