/**
 * CR mode as pure functions: from the objects we own (listed by label) and the wanted state, the creates,
 * merge patches and deletes that make MetalLB's custom resources match upstream's
 * metal/loadbalancers/metallb/cr.go, with upstream's bugs (docs/upstream.md#metallb-crs) fixed: new peers
 * carry their Service selectors, spec-drift repair keeps every Service selector, pool addresses never repeat,
 * and only real changes produce operations.
 *
 * @module
 */
import type { BgpNodePeer } from "../../bgp/peer.ts";
import {
  type BGPAdvertisement,
  type BGPPeer,
  type BGPPeerSpec,
  type CrNodeSelector,
  type CrObject,
  DEFAULT_ADVERTISEMENT,
  type IPAddressPool,
  METALLB_GROUP,
  METALLB_V1BETA1,
  type MetalLBKind,
  ownedMeta,
  type PeerPassword,
  poolName,
  serviceLabel,
  servicesOfPool,
} from "./cr_objects.ts";
import { createMergePatch } from "./merge_patch.ts";
import {
  hostnamesSelector,
  nodesOfSharedSelectors,
  type PeerLayout,
  routerPeerSpec,
  sharedPeerName,
} from "./cr_peer_layout.ts";
import {
  HOSTNAME_LABEL,
  isServiceSelector,
  nodeOfSelectors,
  removeServiceSelector,
  rewriteServiceSelectors,
  serviceKey,
  type ServiceRef,
  servicesOf,
} from "./service_selector.ts";

export type { PeerPassword } from "./cr_objects.ts";

/** One write to the API server. Patches are JSON merge patches carrying the read resourceVersion. */
export type CrOp =
  | { verb: "create"; kind: MetalLBKind; object: CrObject<unknown> }
  | { verb: "patch"; kind: MetalLBKind; name: string; patch: Record<string, unknown> }
  | { verb: "delete"; kind: MetalLBKind; name: string };

function makeSelector(labels: Record<string, string>): CrNodeSelector {
  return { matchLabels: labels };
}

/** A patch op from `from` to `to` (metadata and spec only), or nothing when they are equal. */
function patchOp(kind: MetalLBKind, from: CrObject<unknown>, to: CrObject<unknown>): CrOp[] {
  const patch = createMergePatch(
    { metadata: { labels: from.metadata.labels }, spec: from.spec },
    { metadata: { labels: to.metadata.labels }, spec: to.spec },
  ) as Record<string, unknown> | undefined;
  if (!patch) return [];
  const metadata = {
    ...(patch.metadata as object | undefined),
    resourceVersion: from.metadata.resourceVersion,
  };
  return [{ verb: "patch", kind, name: from.metadata.name, patch: { ...patch, metadata } }];
}

/**
 * The Service's IPAddressPool `<ns>.<svc>` holding `ipCidr`: created when missing; otherwise its Service
 * label and address are added when absent (existing addresses are kept, none repeated).
 */
export function planPool(
  pools: readonly IPAddressPool[],
  svc: ServiceRef,
  ipCidr: string,
  namespace: string,
): CrOp[] {
  const name = poolName(svc);
  const label = serviceLabel(svc);
  const serviceLabels: Record<string, string> = label ? { [label[0]]: label[1] } : {};
  const existing = pools.find((p) => p.metadata.name === name);
  if (!existing) {
    const object: IPAddressPool = {
      apiVersion: `${METALLB_GROUP}/${METALLB_V1BETA1}`,
      kind: "IPAddressPool",
      metadata: ownedMeta(name, namespace, serviceLabels),
      spec: { addresses: [ipCidr], autoAssign: false },
    };
    return [{ verb: "create", kind: "IPAddressPool", object }];
  }
  const addresses = existing.spec?.addresses ?? [];
  const wanted: IPAddressPool = {
    ...existing,
    metadata: { ...existing.metadata, labels: { ...existing.metadata.labels, ...serviceLabels } },
    spec: { ...existing.spec, addresses: [...new Set([...addresses, ipCidr])] },
  };
  return patchOp("IPAddressPool", existing, wanted);
}

/**
 * Makes MetalLB advertise `pool`: creates {@linkcode DEFAULT_ADVERTISEMENT} when no labelled advertisement
 * exists, or adds the pool to it when it exists without it. Labelled advertisements made by the user
 * suppress the default one, as upstream.
 */
export function planAdvertisement(
  advs: readonly BGPAdvertisement[],
  pool: string,
  namespace: string,
): CrOp[] {
  if (advs.length === 0) {
    const object: BGPAdvertisement = {
      apiVersion: `${METALLB_GROUP}/${METALLB_V1BETA1}`,
      kind: "BGPAdvertisement",
      metadata: ownedMeta(DEFAULT_ADVERTISEMENT, namespace),
      spec: { ipAddressPools: [pool] },
    };
    return [{ verb: "create", kind: "BGPAdvertisement", object }];
  }
  const def = advs.find((a) => a.metadata.name === DEFAULT_ADVERTISEMENT);
  const pools = def?.spec?.ipAddressPools ?? [];
  if (!def || pools.includes(pool)) return [];
  return patchOp("BGPAdvertisement", def, {
    ...def,
    spec: { ...def.spec, ipAddressPools: [...pools, pool] },
  });
}

/** The peer specs wanted for the nodes, by name `<node>-<i>`, without Service selectors. */
export function desiredPeerSpecs(
  peers: readonly BgpNodePeer[],
  password: PeerPassword,
): Map<string, BGPPeerSpec> {
  const out = new Map<string, BGPPeerSpec>();
  for (const node of peers) {
    node.peerIPs.forEach((ip, i) => {
      out.set(`${node.nodeName}-${i}`, {
        ...routerPeerSpec(node, ip, password),
        sourceAddress: node.sourceIP || undefined,
        nodeSelectors: [makeSelector({ [HOSTNAME_LABEL]: node.nodeName })],
      });
    });
  }
  return out;
}

/** Fields of a peer spec we own; a difference in any of them is drift to repair. */
const MANAGED_PEER_FIELDS = [
  "myASN",
  "peerASN",
  "peerAddress",
  "sourceAddress",
  "peerPort",
  "holdTime",
  "keepaliveTime",
  "routerID",
  "password",
  "passwordSecret",
] as const;

/** Input of {@linkcode planPeers}. */
export interface PlanPeersInput {
  /** Labelled peers. */
  existing: readonly BGPPeer[];
  /** From {@linkcode desiredPeerSpecs} (`per-node`) or `desiredSharedPeerSpecs` (`shared`). */
  desired: ReadonlyMap<string, BGPPeerSpec>;
  svc: ServiceRef;
  /** Every eligible node. */
  nodeNames: ReadonlySet<string>;
  /** Nodes whose BGP data is known now; peers of other eligible nodes are kept as they are. */
  peeredNodes: ReadonlySet<string>;
  namespace: string;
  /** `metallb.io/<version>` used for new peers. */
  apiVersion: string;
  /** The layout `desired` has (see `cr_peer_layout.ts`). @default "per-node" */
  layout?: PeerLayout;
}

/**
 * Brings the peers used by `svc` in line with `desired`: wanted peers get any drift in the fields we own
 * repaired (keeping every Service selector) and `svc` recorded; missing ones are created with `svc` recorded;
 * peers of nodes that left the node set, or no longer wanted for a peered node, lose `svc` and are deleted when
 * no Service is left.
 *
 * Peers of the other layout are replaced: deleted, their Services recorded on the wanted peers with the same
 * address, and their eligible nodes whose BGP data is unknown now kept (folded into the shared peer, or left on
 * a shared peer narrowed to them). Deletes come first, then patches, then creates, so MetalLB's FRR webhook
 * never sees two peers with one address.
 */
export function planPeers(input: PlanPeersInput): CrOp[] {
  const { existing, svc, nodeNames, peeredNodes } = input;
  const layout = input.layout ?? "per-node";
  const want = new Map([...input.desired].map(([name, spec]) => [name, { ...spec }]));
  const carried = new Map<string, ServiceRef[]>();
  const unknownEligible = (nodes: readonly string[]) =>
    nodes.filter((n) => nodeNames.has(n) && !peeredNodes.has(n));
  const wantedAt = (address: string) =>
    [...want].filter(([, spec]) => spec.peerAddress === address).map(([name]) => name);
  const carry = (names: readonly string[], services: readonly ServiceRef[]) => {
    for (const name of names) carried.set(name, [...carried.get(name) ?? [], ...services]);
  };
  const deletes: CrOp[] = [];
  const patches: CrOp[] = [];
  const place = (ops: CrOp[]) => {
    for (const op of ops) (op.verb === "delete" ? deletes : patches).push(op);
  };
  for (const peer of existing) {
    if (want.has(peer.metadata.name)) continue;
    const shared = nodesOfSharedSelectors(peer.spec?.nodeSelectors);
    const node = nodeOfSelectors(peer.spec?.nodeSelectors);
    const address = peer.spec?.peerAddress ?? "";
    const services = servicesOf(peer.spec?.nodeSelectors);
    if (layout === "shared" && node !== undefined) {
      // An upstream-shaped peer: its address moves to the shared peer.
      const kept = unknownEligible([node]);
      if (kept.length > 0 && wantedAt(address).length === 0) {
        want.set(sharedPeerName(address), sharedSpecFrom(peer.spec ?? {}, kept));
      } else if (kept.length > 0) {
        for (const name of wantedAt(address)) addNodes(want.get(name) as BGPPeerSpec, kept);
      }
      carry(wantedAt(address), services);
      deletes.push({ verb: "delete", kind: "BGPPeer", name: peer.metadata.name });
    } else if (shared !== undefined) {
      const kept = unknownEligible(shared);
      if (kept.length === 0 && layout === "per-node") {
        carry(wantedAt(address), services);
        deletes.push({ verb: "delete", kind: "BGPPeer", name: peer.metadata.name });
      } else if (kept.length === 0) {
        place(removeFromPeer(peer, svc));
      } else if (kept.length !== shared.length) {
        const spec = { ...peer.spec, nodeSelectors: [hostnamesSelector(kept)] };
        patches.push(...patchOp("BGPPeer", peer, { ...peer, spec: withServices(spec, services) }));
      }
    } else if (node !== undefined && (!nodeNames.has(node) || peeredNodes.has(node))) {
      place(removeFromPeer(peer, svc));
    }
  }
  for (const peer of existing) {
    const spec = want.get(peer.metadata.name);
    if (!spec) continue;
    const shared = nodesOfSharedSelectors(peer.spec?.nodeSelectors);
    if (layout === "shared" && shared) addNodes(spec, unknownEligible(shared));
    const next: BGPPeerSpec = { ...peer.spec };
    for (const f of MANAGED_PEER_FIELDS) (next as Record<string, unknown>)[f] = spec[f];
    next.nodeSelectors = spec.nodeSelectors;
    const services = [
      ...servicesOf(peer.spec?.nodeSelectors),
      ...carried.get(peer.metadata.name) ?? [],
      svc,
    ];
    patches.push(...patchOp("BGPPeer", peer, { ...peer, spec: withServices(next, services) }));
  }
  const existingNames = new Set(existing.map((p) => p.metadata.name));
  const creates: CrOp[] = [];
  for (const [name, spec] of want) {
    if (existingNames.has(name)) continue;
    const object: BGPPeer = {
      apiVersion: input.apiVersion,
      kind: "BGPPeer",
      metadata: ownedMeta(name, input.namespace),
      spec: withServices(spec, [...carried.get(name) ?? [], svc]),
    };
    creates.push({ verb: "create", kind: "BGPPeer", object: stripUndefinedSpec(object) });
  }
  return [...deletes, ...patches, ...creates];
}

/** `spec` whose node selectors are its non-service ones followed by one service selector per Service. */
function withServices(spec: BGPPeerSpec, services: readonly ServiceRef[]): BGPPeerSpec {
  const nodeSelectors = rewriteServiceSelectors(
    spec.nodeSelectors?.filter((s) => !isServiceSelector(s)),
    services,
    makeSelector,
  );
  return { ...spec, nodeSelectors };
}

/** Adds `nodes` to a shared spec's hostname selector. */
function addNodes(spec: BGPPeerSpec, nodes: readonly string[]): void {
  if (nodes.length === 0) return;
  const current = nodesOfSharedSelectors(spec.nodeSelectors) ?? [];
  spec.nodeSelectors = [hostnamesSelector([...current, ...nodes])];
}

/** A shared spec with the settings of an upstream-shaped peer, selecting `nodes`, without `sourceAddress`. */
function sharedSpecFrom(spec: BGPPeerSpec, nodes: readonly string[]): BGPPeerSpec {
  const out: BGPPeerSpec = {};
  for (const f of MANAGED_PEER_FIELDS) (out as Record<string, unknown>)[f] = spec[f];
  out.sourceAddress = undefined;
  out.nodeSelectors = [hostnamesSelector(nodes)];
  return out;
}

function stripUndefinedSpec<T extends CrObject<Record<string, unknown>>>(obj: T): T {
  const spec = Object.fromEntries(Object.entries(obj.spec ?? {}).filter(([, v]) => v !== undefined));
  return { ...obj, spec };
}

/** Removes `svc` from a peer: a patch, a delete when it was the last Service, or nothing when absent. */
function removeFromPeer(peer: BGPPeer, svc: ServiceRef): CrOp[] {
  const r = removeServiceSelector(peer.spec?.nodeSelectors, svc, makeSelector);
  if (!r.removed) return [];
  if (r.remaining === 0) return [{ verb: "delete", kind: "BGPPeer", name: peer.metadata.name }];
  return patchOp("BGPPeer", peer, { ...peer, spec: { ...peer.spec, nodeSelectors: r.selectors } });
}

/** Removes the pool from the default advertisement, deleting it when no pool is left. */
function removeFromAdvertisement(advs: readonly BGPAdvertisement[], gone: ReadonlySet<string>): CrOp[] {
  const def = advs.find((a) => a.metadata.name === DEFAULT_ADVERTISEMENT);
  const pools = def?.spec?.ipAddressPools;
  if (!def || !pools) return [];
  const kept = pools.filter((p) => !gone.has(p));
  if (kept.length === pools.length) return [];
  if (kept.length === 0) return [{ verb: "delete", kind: "BGPAdvertisement", name: def.metadata.name }];
  return patchOp("BGPAdvertisement", def, { ...def, spec: { ...def.spec, ipAddressPools: kept } });
}

/** Labelled objects of each kind. */
export interface OwnedObjects {
  pools: readonly IPAddressPool[];
  advertisements: readonly BGPAdvertisement[];
  peers: readonly BGPPeer[];
}

/** Everything `svc` owns: its pool, its entry in the default advertisement, its Service selectors on peers. */
export function planRemoveService(owned: OwnedObjects, svc: ServiceRef): CrOp[] {
  const name = poolName(svc);
  const ops: CrOp[] = [];
  if (owned.pools.some((p) => p.metadata.name === name)) {
    ops.push({ verb: "delete", kind: "IPAddressPool", name });
  }
  ops.push(...removeFromAdvertisement(owned.advertisements, new Set([name])));
  for (const peer of owned.peers) ops.push(...removeFromPeer(peer, svc));
  return ops;
}

/** Input of {@linkcode planGarbageCollect}. */
export interface GarbageCollectCrInput extends OwnedObjects {
  /** Names of every IPAddressPool in the namespace, labelled or not (advertisement entries may name any). */
  allPoolNames: ReadonlySet<string>;
  /** `namespace/name` of every Service that keeps its objects. */
  liveServices: ReadonlySet<string>;
  /** Names of every live node. */
  liveNodes: ReadonlySet<string>;
}

/**
 * Level-triggered clean-up of objects we own: pools whose Services are all gone, default-advertisement entries
 * naming missing pools, peers pinned to gone nodes or carrying no live Service, and dead Service selectors;
 * shared peers lose gone nodes, and go with the last one.
 * Pools without Service labels are left alone.
 */
export function planGarbageCollect(input: GarbageCollectCrInput): CrOp[] {
  const ops: CrOp[] = [];
  const deletedPools = new Set<string>();
  for (const pool of input.pools) {
    const services = servicesOfPool(pool);
    if (services.length === 0 || services.some((s) => input.liveServices.has(serviceKey(s)))) continue;
    deletedPools.add(pool.metadata.name);
    ops.push({ verb: "delete", kind: "IPAddressPool", name: pool.metadata.name });
  }
  const missing = new Set(
    (input.advertisements.find((a) => a.metadata.name === DEFAULT_ADVERTISEMENT)?.spec?.ipAddressPools ?? [])
      .filter((p) => deletedPools.has(p) || !input.allPoolNames.has(p)),
  );
  ops.push(...removeFromAdvertisement(input.advertisements, missing));
  for (const peer of input.peers) {
    const services = servicesOf(peer.spec?.nodeSelectors);
    const live = services.filter((s) => input.liveServices.has(serviceKey(s)));
    const node = nodeOfSelectors(peer.spec?.nodeSelectors);
    const shared = nodesOfSharedSelectors(peer.spec?.nodeSelectors);
    const liveShared = shared?.filter((n) => input.liveNodes.has(n));
    if (
      live.length === 0 || (node !== undefined && !input.liveNodes.has(node)) || liveShared?.length === 0
    ) {
      ops.push({ verb: "delete", kind: "BGPPeer", name: peer.metadata.name });
    } else if (live.length !== services.length || liveShared?.length !== shared?.length) {
      const spec = liveShared
        ? { ...peer.spec, nodeSelectors: [hostnamesSelector(liveShared)] }
        : peer.spec ?? {};
      ops.push(...patchOp("BGPPeer", peer, { ...peer, spec: withServices(spec, live) }));
    }
  }
  return ops;
}
