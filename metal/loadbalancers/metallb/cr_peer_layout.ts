/**
 * The two ways CR mode lays out BGPPeers, and which one a MetalLB needs.
 *
 * - `per-node` (upstream's, for MetalLB's native BGP): one peer `<node>-<i>` per node × Equinix router, pinned
 *   with `kubernetes.io/hostname: <node>` and sourced from the node's private IP.
 * - `shared` (for MetalLB's FRR and FRR-k8s modes): one peer per distinct peer configuration, named after the
 *   peer address (`equinix-metal.<address>`), whose node selector `kubernetes.io/hostname In [...]` (sorted)
 *   selects every node using it; no `sourceAddress`, since one object cannot hold each node's, and the kernel
 *   picks the source by route. MetalLB ≤ 0.15 in FRR mode denies a second BGPPeer with the same address (and
 *   VRF) — its `DiscardNativeOnly` validation — and every Equinix Metal node peers with the same two routers.
 *
 * @module
 */
import {
  BGP_PORT,
  type BGPPeer,
  type BGPPeerSpec,
  type CrNodeSelector,
  type PeerPassword,
} from "./cr_objects.ts";
import type { BgpNodePeer } from "../../bgp/peer.ts";
import { HOSTNAME_LABEL, type SelectorLike } from "./service_selector.ts";

/** How BGPPeers are laid out (see the module documentation). */
export type PeerLayout = "per-node" | "shared";

/** `METAL_METALLB_BGP_TYPE`: the BGP implementation of the installed MetalLB, or `auto`. */
export type MetalLbBgpType = "native" | "frr" | "frr-k8s" | "auto";

/** The accepted values of `METAL_METALLB_BGP_TYPE`. */
export const METALLB_BGP_TYPES: readonly MetalLbBgpType[] = ["auto", "native", "frr", "frr-k8s"];

/** The layout a BGP type needs; `undefined` for `auto` (decided from the cluster, see `cr.ts`). */
export function layoutOf(bgpType: MetalLbBgpType): PeerLayout | undefined {
  if (bgpType === "auto") return undefined;
  return bgpType === "native" ? "per-node" : "shared";
}

/** Prefix of shared peers' names; node names cannot end in `.<digits>`'s shape `<node>-<i>` has. */
const SHARED_PREFIX = "equinix-metal.";

/** Name of the shared peer for `address`: `equinix-metal.<address>` (IPv6 colons become dashes). */
export function sharedPeerName(address: string): string {
  return `${SHARED_PREFIX}${address.toLowerCase().replaceAll(":", "-")}`;
}

/** The selector of a shared peer: `kubernetes.io/hostname In [nodes]`, sorted and unique. */
export function hostnamesSelector(nodes: Iterable<string>): CrNodeSelector {
  return {
    matchExpressions: [{ key: HOSTNAME_LABEL, operator: "In", values: [...new Set(nodes)].sort() }],
  };
}

/** Nodes selected by a shared peer's `kubernetes.io/hostname In [...]` selector, else `undefined`. */
export function nodesOfSharedSelectors(
  selectors: readonly SelectorLike[] | null | undefined,
): string[] | undefined {
  for (const sel of selectors ?? []) {
    if (Object.keys(sel.matchLabels ?? {}).length > 0) continue;
    const exprs = (sel.matchExpressions ?? []) as Array<
      { key?: string; operator?: string; values?: string[] }
    >;
    if (exprs.length !== 1) continue;
    const [e] = exprs;
    if (e?.key === HOSTNAME_LABEL && e.operator === "In") return [...(e.values ?? [])];
  }
  return undefined;
}

/** Whether a peer has the shared layout's node selector. */
export function isSharedPeer(peer: BGPPeer): boolean {
  return nodesOfSharedSelectors(peer.spec?.nodeSelectors) !== undefined;
}

/**
 * A node's peering with one Equinix router as a BGPPeer spec, as both layouts write it, without node selectors
 * or a source address.
 */
export function routerPeerSpec(node: BgpNodePeer, ip: string, password: PeerPassword): BGPPeerSpec {
  return {
    myASN: node.localASN,
    peerASN: node.peerASN,
    peerAddress: ip,
    peerPort: BGP_PORT,
    holdTime: "0s",
    keepaliveTime: "0s",
    password: password.mode === "inline" ? node.password || undefined : undefined,
    passwordSecret: password.mode === "secret" && node.password !== ""
      ? { name: password.secretName, namespace: password.namespace }
      : undefined,
  };
}

/** Nodes that peer with one address with settings other than the shared peer's: they get no peer for it. */
export interface PeerConflict {
  address: string;
  /** Nodes the shared peer selects. */
  chosen: string[];
  /** Nodes left out, sorted. */
  leftOut: string[];
}

/** Result of {@linkcode desiredSharedPeerSpecs}. */
export interface SharedPeerSpecs {
  /** By name ({@linkcode sharedPeerName}), each selecting its nodes, without Service selectors. */
  specs: Map<string, BGPPeerSpec>;
  conflicts: PeerConflict[];
}

/**
 * The shared peers wanted for the nodes: one per peer address. When nodes peer with one address with
 * different settings (ASNs, password), the settings of the most nodes win (ties: the first node's by name)
 * and the others are reported in `conflicts`: MetalLB's FRR mode cannot hold both.
 */
export function desiredSharedPeerSpecs(
  peers: readonly BgpNodePeer[],
  password: PeerPassword,
): SharedPeerSpecs {
  // address → settings key → nodes
  const byAddress = new Map<string, Map<string, { spec: BGPPeerSpec; nodes: string[] }>>();
  const sorted = [...peers].sort((a, b) => (a.nodeName < b.nodeName ? -1 : a.nodeName > b.nodeName ? 1 : 0));
  for (const node of sorted) {
    for (const ip of node.peerIPs) {
      const spec = routerPeerSpec(node, ip, password);
      // The password is part of the key but never leaves this function.
      const key = JSON.stringify([spec.myASN, spec.peerASN, node.password]);
      const groups = byAddress.get(ip) ?? new Map();
      byAddress.set(ip, groups);
      const group = groups.get(key) ?? { spec, nodes: [] };
      groups.set(key, group);
      group.nodes.push(node.nodeName);
    }
  }
  const specs = new Map<string, BGPPeerSpec>();
  const conflicts: PeerConflict[] = [];
  for (const [address, groups] of [...byAddress].sort(([a], [b]) => (a < b ? -1 : 1))) {
    // Groups keep first-seen order (nodes sorted), so ties go to the first node's settings.
    const ranked = [...groups.values()].sort((a, b) => b.nodes.length - a.nodes.length);
    const [best, ...rest] = ranked as [{ spec: BGPPeerSpec; nodes: string[] }, ...typeof ranked];
    specs.set(sharedPeerName(address), { ...best.spec, nodeSelectors: [hostnamesSelector(best.nodes)] });
    if (rest.length > 0) {
      conflicts.push({ address, chosen: best.nodes, leftOut: rest.flatMap((g) => g.nodes).sort() });
    }
  }
  return { specs, conflicts };
}

/** A Warning for {@linkcode PeerConflict}s, naming the nodes and the fix. */
export function describeConflicts(conflicts: readonly PeerConflict[]): string {
  const parts = conflicts.map((c) =>
    `nodes ${c.leftOut.join(", ")} peer with ${c.address} with other BGP settings than ${c.chosen.join(", ")}`
  );
  return `MetalLB's FRR mode allows one BGPPeer per peer address, so ${parts.join("; ")} and get no peer ` +
    "for it; give every node the same local ASN and BGP password (METAL_LOCAL_ASN, METAL_BGP_PASS), or use " +
    "MetalLB's native BGP with METAL_METALLB_BGP_TYPE=native";
}
