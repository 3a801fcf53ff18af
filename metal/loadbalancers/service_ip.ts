/**
 * Which address a Service uses, and where the announcer (kube-vip, MetalLB) reads it.
 *
 * Ownership is proved by tags, not by the Service spec: an address is ours when a reservation tagged for the
 * Service (usage, service hash, cluster) holds it. `spec.loadBalancerIP` is the user's choice (bring your own
 * IP) unless it equals our tagged reservation's address. The address is reported in the Service status.
 *
 * What is written on the Service so the announcer picks the address up (decision documented for the lead):
 * - kube-vip: annotation `kube-vip.io/loadbalancerIPs` (read by kube-vip ≥ 0.5) and, for our own EIP only,
 *   `spec.loadBalancerIP` (read by every kube-vip version; upstream kube-vip mode relies on it).
 * - MetalLB (both modes): an annotation naming the Service's own pool, which has `auto-assign: false` and so
 *   is used only when requested: `metallb.universe.tf/address-pool`, which every MetalLB version reads, or
 *   `metallb.io/address-pool` when the implementation says the installed MetalLB expects it (≥ 0.14.9, which
 *   warns about the old key); the other key is removed when it holds our pool.
 *   `spec.loadBalancerIP` is not written (upstream wrote it; see
 *   kubernetes-sigs/cloud-provider-equinix-metal#206).
 * - empty: nothing (the address is in the status).
 * On clean-up (Service deleted or no longer a LoadBalancer) each of these is removed when it still holds our
 * value — including a `spec.loadBalancerIP` that upstream wrote for our reservation — so a Service switched to
 * ClusterIP and back gets a fresh address.
 *
 * @module
 */
import { isIPv4, isIPv6 } from "node:net";
import type { V1Service } from "@kubernetes/client-node";
import type { IpReservation } from "../api/types.ts";
import { poolName } from "./metallb/cr_objects.ts";

/** Annotation kube-vip reads the Service's addresses from. */
export const KUBE_VIP_IPS_ANNOTATION = "kube-vip.io/loadbalancerIPs";
/** Annotation that makes MetalLB allocate from a named pool (every version; deprecated since 0.14.9). */
export const METALLB_POOL_ANNOTATION = "metallb.universe.tf/address-pool";
/** Its name in MetalLB ≥ 0.14.9. */
export const METALLB_IO_POOL_ANNOTATION = "metallb.io/address-pool";
const METALLB_POOL_ANNOTATIONS = [METALLB_POOL_ANNOTATION, METALLB_IO_POOL_ANNOTATION];

/** How the Service's address is made visible to the announcer. */
export type ExposureMode = "kube-vip" | "metallb-configmap" | "metallb-crd" | "none";

/** The address a Service uses. */
export type ServiceIp =
  /** Our elastic IP, found by its tags. */
  | { kind: "owned"; reservation: IpReservation; address: string; cidr: number }
  /** The user's `spec.loadBalancerIP` (not one of our reservations). */
  | { kind: "byo"; address: string; cidr: number }
  /** A `spec.loadBalancerIP` that is no usable address (the API server accepts any string there). */
  | { kind: "invalid"; message: string }
  /** None yet. */
  | { kind: "none" };

/**
 * The Service's address given its tagged reservations: `spec.loadBalancerIP` when set (ours if a tagged
 * reservation holds it, else bring-your-own), else the tagged reservation its status already shows, else the
 * first tagged reservation.
 */
export function resolveServiceIp(service: V1Service, owned: readonly IpReservation[]): ServiceIp {
  const requested = service.spec?.loadBalancerIP?.trim() ?? "";
  if (requested !== "") {
    const mine = owned.find((r) => r.address === requested);
    if (mine) return ownedIp(mine);
    return byoIp(requested);
  }
  const shown = new Set((service.status?.loadBalancer?.ingress ?? []).map((i) => i.ip));
  const inUse = owned.find((r) => shown.has(r.address)) ?? owned[0];
  return inUse ? ownedIp(inUse) : { kind: "none" };
}

/** The longest part of a user's value quoted in a message. */
const QUOTE_MAX = 64;

/**
 * A bring-your-own address from `spec.loadBalancerIP`: a unicast IPv4 (`/32`) or IPv6 (`/128`) address in
 * canonical form (no leading zeros, prefix or zone), else `invalid` with a message naming the field and the fix.
 */
export function byoIp(text: string): ServiceIp {
  const family = isIPv4(text) ? 4 : isIPv6(text) && !text.includes("%") ? 6 : 0;
  const why = family === 0
    ? "not an IPv4 or IPv6 address (no prefix length, zone or leading zeros)"
    : notUnicast(text, family);
  if (why === undefined) return { kind: "byo", address: text, cidr: family === 4 ? 32 : 128 };
  const shown = text.length > QUOTE_MAX ? `${text.slice(0, QUOTE_MAX)}…` : text;
  return {
    kind: "invalid",
    message: `Invalid spec.loadBalancerIP '${shown}': ${why}; set it to the unicast address the Service ` +
      "should use, or remove it to get an elastic IP",
  };
}

function notUnicast(address: string, family: 4 | 6): string | undefined {
  if (family === 4) {
    const first = Number(address.split(".")[0]);
    if (address === "0.0.0.0") return "the unspecified address";
    if (address === "255.255.255.255") return "the broadcast address";
    if (first === 127) return "a loopback address";
    if (first >= 224 && first <= 239) return "a multicast address";
    return undefined;
  }
  const lower = address.toLowerCase();
  if (/^[0:]+$/.test(lower)) return "the unspecified address";
  if (/^[0:]+1$/.test(lower)) return "the loopback address";
  if (lower.startsWith("ff")) return "a multicast address";
  return undefined;
}

function ownedIp(reservation: IpReservation): ServiceIp {
  return { kind: "owned", reservation, address: reservation.address, cidr: reservation.cidr ?? 32 };
}

/** `<ip>/<cidr>` for the implementations, or `""` when there is no address. */
export function ipCidrOf(ip: ServiceIp): string {
  return ip.kind === "none" || ip.kind === "invalid" ? "" : `${ip.address}/${ip.cidr}`;
}

/** A JSON merge patch of a Service's annotations and spec. */
export interface ServicePatch {
  metadata?: { annotations?: Record<string, string | null>; resourceVersion?: string };
  spec?: { loadBalancerIP?: string | null };
}

/** The pool name MetalLB must allocate from for `service` in the given mode. */
function metalLbPool(mode: ExposureMode, service: V1Service): string | undefined {
  const ref = { namespace: service.metadata?.namespace ?? "default", name: service.metadata?.name ?? "" };
  if (mode === "metallb-configmap") return `${ref.namespace}/${ref.name}`;
  if (mode === "metallb-crd") return poolName(ref);
  return undefined;
}

/**
 * The patch that makes `ip` visible to the announcer, or `undefined` when the Service already shows it.
 * `poolAnnotation` is the MetalLB pool key to write (default {@linkcode METALLB_POOL_ANNOTATION}).
 */
export function exposePatch(
  mode: ExposureMode,
  service: V1Service,
  ip: ServiceIp,
  poolAnnotation: string = METALLB_POOL_ANNOTATION,
): ServicePatch | undefined {
  if (ip.kind === "none" || ip.kind === "invalid" || mode === "none") return undefined;
  const annotations = service.metadata?.annotations ?? {};
  const wanted: Record<string, string | null> = {};
  let loadBalancerIP: string | undefined;
  if (mode === "kube-vip") {
    wanted[KUBE_VIP_IPS_ANNOTATION] = ip.address;
    if (ip.kind === "owned" && service.spec?.loadBalancerIP !== ip.address) loadBalancerIP = ip.address;
  } else {
    const pool = metalLbPool(mode, service)!;
    wanted[poolAnnotation] = pool;
    // The other spelling, when it still holds our pool (written before the installed MetalLB was known).
    for (const key of METALLB_POOL_ANNOTATIONS) {
      if (key !== poolAnnotation && annotations[key] === pool) wanted[key] = null;
    }
  }
  const changed = Object.fromEntries(
    Object.entries(wanted).filter(([k, v]) => v === null ? k in annotations : annotations[k] !== v),
  );
  const patch: ServicePatch = {};
  if (Object.keys(changed).length > 0) patch.metadata = { annotations: changed };
  if (loadBalancerIP !== undefined) patch.spec = { loadBalancerIP };
  return Object.keys(patch).length === 0 ? undefined : patch;
}

/**
 * The patch that removes what {@linkcode exposePatch} wrote — only values that are still ours — or `undefined`
 * when nothing is left. `ip` is the address the Service used; a `spec.loadBalancerIP` equal to an owned
 * reservation's address is cleared in every mode (upstream wrote it in all of them).
 */
export function unexposePatch(
  mode: ExposureMode,
  service: V1Service,
  ip: ServiceIp,
): ServicePatch | undefined {
  if (ip.kind === "none" || ip.kind === "invalid") return undefined;
  const annotations = service.metadata?.annotations ?? {};
  const removed: Record<string, null> = {};
  if (mode === "kube-vip" && annotations[KUBE_VIP_IPS_ANNOTATION] === ip.address) {
    removed[KUBE_VIP_IPS_ANNOTATION] = null;
  }
  const pool = metalLbPool(mode, service);
  for (const key of METALLB_POOL_ANNOTATIONS) {
    if (pool !== undefined && annotations[key] === pool) removed[key] = null;
  }
  const patch: ServicePatch = {};
  if (Object.keys(removed).length > 0) patch.metadata = { annotations: removed };
  if (ip.kind === "owned" && service.spec?.loadBalancerIP === ip.address) {
    patch.spec = { loadBalancerIP: null };
  }
  if (Object.keys(patch).length === 0) return undefined;
  // Only if nobody changed the Service since we read it: never clear a value the user just set.
  const resourceVersion = service.metadata?.resourceVersion;
  if (resourceVersion) patch.metadata = { ...patch.metadata, resourceVersion };
  return patch;
}
