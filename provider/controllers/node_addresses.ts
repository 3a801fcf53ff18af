/**
 * Node address decisions of the cloud node controller, as upstream k8s.io/cloud-provider: keep the kubelet's
 * hostname when the cloud reports none, honour the kubelet's provided node IP, and patch only real changes.
 *
 * @module
 */
import { isIP } from "node:net";
import type { V1Node, V1NodeAddress } from "@kubernetes/client-node";
import { ANNOTATION_PROVIDED_NODE_IP } from "./well_known.ts";

/** Canonical text form of an IP address, or `undefined` when `text` is not one. */
export function normalizeIP(text: string): string | undefined {
  const trimmed = text.trim();
  switch (isIP(trimmed)) {
    case 4:
      return trimmed;
    case 6: {
      const canonical = new URL(`http://[${trimmed}]/`).hostname.slice(1, -1);
      // An IPv4-mapped IPv6 address equals its IPv4 form (Go's net.IP.Equal).
      const mapped = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(canonical);
      if (mapped === null) return canonical;
      const hi = parseInt(mapped[1]!, 16);
      const lo = parseInt(mapped[2]!, 16);
      return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
    }
    default:
      return undefined;
  }
}

/**
 * Parses the `alpha.kubernetes.io/provided-node-ip` annotation: one IP or a dual-stack pair, comma separated.
 * Unparsable entries are ignored, as upstream.
 *
 * @throws {Error} When there are more than two IPs, two of one family, or an unspecified address in a pair.
 */
export function parseProvidedNodeIPs(annotation: string): string[] {
  const ips = annotation.split(",").map(normalizeIP).filter((ip): ip is string => ip !== undefined);
  const family = (ip: string) => isIP(ip);
  if (ips.length > 2 || (ips.length === 2 && family(ips[0]!) === family(ips[1]!))) {
    throw new Error(
      `failed to parse node IP "${annotation}": must contain either a single IP or a dual-stack pair of IPs`,
    );
  }
  if (ips.length === 2 && ips.some((ip) => ip === "0.0.0.0" || ip === "::")) {
    throw new Error(
      `failed to parse node IP "${annotation}": dual-stack node IP cannot include '0.0.0.0' or '::'`,
    );
  }
  return ips;
}

/**
 * Reorders cloud addresses around the kubelet's provided node IP(s) (upstream `GetNodeAddressesFromNodeIP`):
 * the cloud addresses equal to a provided IP come first; then every other address whose type differs from the
 * matched ones (so other addresses of a matched type are dropped).
 *
 * @throws {Error} When a provided IP is not among the cloud addresses.
 */
export function addressesFromProvidedNodeIP(
  provided: string,
  cloud: readonly V1NodeAddress[],
): V1NodeAddress[] {
  const enforced: V1NodeAddress[] = [];
  const matchedTypes = new Set<string>();
  for (const ip of parseProvidedNodeIPs(provided)) {
    let matched = false;
    for (const address of cloud) {
      if (normalizeIP(address.address) === ip) {
        enforced.push({ type: address.type, address: address.address });
        matchedTypes.add(address.type);
        matched = true;
      }
    }
    if (!matched) throw new Error(`failed to get node address from cloud provider that matches ip: ${ip}`);
  }
  for (const address of cloud) {
    if (!matchedTypes.has(address.type)) enforced.push({ type: address.type, address: address.address });
  }
  return enforced;
}

/**
 * The addresses a node should have, or `undefined` when the cloud reported none (leave the node alone).
 * Keeps the node's Hostname addresses when the cloud has no Hostname, then applies the provided node IP.
 *
 * @throws {Error} When the provided node IP annotation is invalid or not among the cloud addresses.
 */
export function desiredNodeAddresses(
  node: V1Node,
  cloud: readonly V1NodeAddress[],
): V1NodeAddress[] | undefined {
  if (cloud.length === 0) return undefined;
  let addresses = cloud.map(({ type, address }) => ({ type, address }));
  if (!addresses.some((a) => a.type === "Hostname")) {
    for (const existing of node.status?.addresses ?? []) {
      if (existing.type === "Hostname") addresses.push({ type: existing.type, address: existing.address });
    }
  }
  const provided = node.metadata?.annotations?.[ANNOTATION_PROVIDED_NODE_IP];
  if (provided !== undefined) addresses = addressesFromProvidedNodeIP(provided, addresses);
  return addresses;
}

/**
 * Whether two address lists differ. Order matters (consumers take the first InternalIP), so unlike upstream's
 * type→address map comparison, a reordering or a second address of one type is a change.
 */
export function addressesChanged(
  current: readonly V1NodeAddress[],
  desired: readonly V1NodeAddress[],
): boolean {
  return current.length !== desired.length ||
    current.some((a, i) => a.type !== desired[i]!.type || a.address !== desired[i]!.address);
}
