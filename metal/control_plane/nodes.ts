/**
 * Control-plane nodes as the endpoint managers see them: which nodes count, which device backs each, which
 * addresses to health-check, and in what order nodes are preferred as the EIP holder.
 *
 * @module
 */
import type { V1Node } from "@kubernetes/client-node";
import { jsonMeta } from "../../provider/kube/mod.ts";
import { ownDeviceId } from "../provider_id.ts";
import { CONTROL_PLANE_ROLE_LABELS } from "./names.ts";

/** A control-plane node, reduced to what the managers decide on. */
export interface ControlPlaneNode {
  name: string;
  /** Device id from `spec.providerID`; `undefined` while the node is not initialized (or not ours). */
  deviceId?: string;
  /** `metadata.creationTimestamp` in ms (0 when unknown). */
  createdAt: number;
  /** `spec.unschedulable` (cordoned). */
  unschedulable: boolean;
  /** `metadata.deletionTimestamp` is set. */
  deleting: boolean;
  /** Addresses to health-check, best first: ExternalIPs, then InternalIPs (never the EIP itself). */
  addresses: string[];
  /** The Node object, for Events. */
  node: V1Node;
}

/** Whether `node` carries a control-plane role label (any value). */
export function isControlPlaneNode(node: V1Node): boolean {
  const labels = node.metadata?.labels ?? {};
  return CONTROL_PLANE_ROLE_LABELS.some((label) => label in labels);
}

/**
 * The control-plane nodes among `nodes`, sorted by preference (oldest first, then by name). `eip` is left out
 * of their addresses: a node that holds the EIP may report it as an ExternalIP.
 */
export function controlPlaneNodes(nodes: readonly V1Node[], eip = ""): ControlPlaneNode[] {
  return nodes.filter(isControlPlaneNode).map((node) => describeNode(node, eip)).sort(compareNodes);
}

/** Preference order of EIP holders: older nodes first, then by name, so every leader picks the same node. */
export function compareNodes(
  a: Pick<ControlPlaneNode, "createdAt" | "name">,
  b: Pick<ControlPlaneNode, "createdAt" | "name">,
): number {
  return a.createdAt - b.createdAt || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
}

function describeNode(node: V1Node, eip: string): ControlPlaneNode {
  const created = jsonMeta(node).creationTimestamp;
  return {
    name: node.metadata?.name ?? "",
    deviceId: ownDeviceId(node.spec?.providerID),
    createdAt: created ? new Date(created).getTime() || 0 : 0,
    unschedulable: node.spec?.unschedulable === true,
    deleting: node.metadata?.deletionTimestamp !== undefined && node.metadata.deletionTimestamp !== null,
    addresses: healthCheckAddresses(node, eip),
    node,
  };
}

/** ExternalIPs then InternalIPs of `node`, without duplicates and without `eip`. */
export function healthCheckAddresses(node: V1Node, eip = ""): string[] {
  const addresses = node.status?.addresses ?? [];
  const of = (type: string) => addresses.filter((a) => a.type === type).map((a) => a.address);
  return [...new Set([...of("ExternalIP"), ...of("InternalIP")])].filter((a) => a !== "" && a !== eip);
}

/** `https://<address>:<port>/healthz`, with brackets around IPv6 addresses. */
export function healthzUrl(address: string, port: number): string {
  const host = address.includes(":") ? `[${address}]` : address;
  return `https://${host}:${port}/healthz`;
}
