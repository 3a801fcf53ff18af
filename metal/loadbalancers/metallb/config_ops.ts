/**
 * Pure operations on a MetalLB ConfigMap configuration: pools per Service, one peer per node × upstream router
 * shared by the Services that use it (recorded in service selectors), and clean-up of peers and pools whose
 * Service or Node is gone. Every operation returns a new configuration and whether anything changed, so the
 * caller saves only real changes.
 *
 * @module
 */
import type { BgpNodePeer } from "../../bgp/peer.ts";
import {
  addressPoolEqual,
  addressPoolEqualIgnoreName,
  peerEqual,
  peerEqualIgnoreService,
} from "./config_compare.ts";
import type { AddressPool, ConfigFile, NodeSelector, Peer } from "./config_file.ts";
import {
  addServiceSelector,
  HOSTNAME_LABEL,
  nodeOfSelectors,
  removeServiceSelector,
  rewriteServiceSelectors,
  serviceKey,
  type ServiceRef,
  servicesOf,
} from "./service_selector.ts";

/** Result of an operation: the new configuration and whether it differs from the input. */
export interface ConfigChange {
  config: ConfigFile;
  changed: boolean;
}

/** Separator of names in a pool shared by several Services (upstream `nameJoiner`). */
const NAME_JOINER = ",";

function makeSelector(labels: Record<string, string>): NodeSelector {
  return { matchLabels: labels, matchExpressions: null };
}

function withPeers(cfg: ConfigFile, peers: Peer[]): ConfigFile {
  return { ...cfg, peers };
}

function withPools(cfg: ConfigFile, pools: AddressPool[]): ConfigFile {
  return { ...cfg, addressPools: pools };
}

/** The pool upstream creates for a Service: `{protocol: bgp, name: <ns>/<name>, addresses: [ipCidr]}`. */
export function servicePool(svc: ServiceRef, ipCidr: string): AddressPool {
  return {
    protocol: "bgp",
    name: serviceKey(svc),
    addresses: [ipCidr],
    avoidBuggyIPs: false,
    autoAssign: false,
    bgpAdvertisements: null,
  };
}

/** One peer per (node × upstream router IP), pinned to the node by a hostname selector. */
export function desiredPeers(nodes: readonly BgpNodePeer[]): Peer[] {
  return nodes.flatMap((node) =>
    node.peerIPs.map((ip): Peer => ({
      myASN: node.localASN,
      peerASN: node.peerASN,
      peerAddress: ip,
      peerPort: 0,
      sourceAddress: node.sourceIP,
      holdTime: "",
      routerID: "",
      nodeSelectors: [makeSelector({ [HOSTNAME_LABEL]: node.nodeName })],
      password: node.password,
      name: "",
    }))
  );
}

/** Adds `peer` unless an equal one exists. */
export function addPeer(cfg: ConfigFile, peer: Peer): ConfigChange {
  const peers = cfg.peers ?? [];
  if (peers.some((p) => peerEqual(p, peer))) return { config: cfg, changed: false };
  return { config: withPeers(cfg, [...peers, peer]), changed: true };
}

/** Removes every peer equal to `peer`. */
export function removePeer(cfg: ConfigFile, peer: Peer): ConfigChange {
  const peers = cfg.peers ?? [];
  const kept = peers.filter((p) => !peerEqual(p, peer));
  if (kept.length === peers.length) return { config: cfg, changed: false };
  return { config: withPeers(cfg, kept), changed: true };
}

/**
 * Records `svc` on every peer equal to `peer` apart from service selectors; appends `peer` with `svc` when none
 * matched. `changed` is true only when a selector list actually changed or a peer was added.
 */
export function addPeerByService(cfg: ConfigFile, peer: Peer, svc: ServiceRef): ConfigChange {
  let found = false;
  let changed = false;
  const peers = (cfg.peers ?? []).map((p) => {
    if (!peerEqualIgnoreService(p, peer)) return p;
    found = true;
    const selectors = addServiceSelector(p.nodeSelectors, svc, makeSelector);
    if (!selectors) return p;
    changed = true;
    return { ...p, nodeSelectors: selectors };
  });
  if (!found) {
    const selectors = addServiceSelector(peer.nodeSelectors, svc, makeSelector) ?? peer.nodeSelectors;
    peers.push({ ...peer, nodeSelectors: selectors });
    changed = true;
  }
  return changed ? { config: withPeers(cfg, peers), changed } : { config: cfg, changed };
}

/**
 * Removes `svc` from every peer; a peer whose last Service this was is dropped. Peers that never recorded a
 * Service (made by someone else) are left alone.
 */
export function removePeersByService(cfg: ConfigFile, svc: ServiceRef): ConfigChange {
  let changed = false;
  const peers: Peer[] = [];
  for (const p of cfg.peers ?? []) {
    const r = removeServiceSelector(p.nodeSelectors, svc, makeSelector);
    if (!r.removed) {
      peers.push(p);
      continue;
    }
    changed = true;
    if (r.remaining > 0) peers.push({ ...p, nodeSelectors: r.selectors });
  }
  return changed ? { config: withPeers(cfg, peers), changed } : { config: cfg, changed };
}

/**
 * Adds `pool`: an identical pool means no change; a pool equal except for its name gets `pool.name` added to
 * its `,`-joined name list (sorted), since MetalLB rejects two pools with the same addresses; otherwise
 * `pool` is appended.
 */
export function addAddressPool(cfg: ConfigFile, pool: AddressPool): ConfigChange {
  const pools = cfg.addressPools ?? [];
  for (const [i, existing] of pools.entries()) {
    if (addressPoolEqual(existing, pool)) return { config: cfg, changed: false };
    if (addressPoolEqualIgnoreName(existing, pool)) {
      const names = existing.name.split(NAME_JOINER);
      if (names.includes(pool.name)) return { config: cfg, changed: false };
      const renamed = { ...existing, name: [...names, pool.name].sort().join(NAME_JOINER) };
      return { config: withPools(cfg, pools.map((p, j) => (j === i ? renamed : p))), changed: true };
    }
  }
  return { config: withPools(cfg, [...pools, pool]), changed: true };
}

/** Removes every pool holding exactly the address `addr`; `""` changes nothing. */
export function removeAddressPoolByAddress(cfg: ConfigFile, addr: string): ConfigChange {
  if (addr === "") return { config: cfg, changed: false };
  const pools = cfg.addressPools ?? [];
  const kept = pools.filter((p) => !(p.addresses ?? []).includes(addr));
  if (kept.length === pools.length) return { config: cfg, changed: false };
  return { config: withPools(cfg, kept), changed: true };
}

/**
 * Removes the Service's pools: a pool whose name list includes `<ns>/<name>` loses that name (and is removed
 * when no other name remains, so a pool shared with another Service survives); any other pool holding exactly
 * `ipCidr` is removed as upstream does.
 */
export function removeServicePools(cfg: ConfigFile, svc: ServiceRef, ipCidr: string): ConfigChange {
  const key = serviceKey(svc);
  let changed = false;
  const pools: AddressPool[] = [];
  for (const p of cfg.addressPools ?? []) {
    const names = p.name.split(NAME_JOINER);
    if (names.includes(key)) {
      changed = true;
      const others = names.filter((n) => n !== key);
      if (others.length > 0) pools.push({ ...p, name: others.join(NAME_JOINER) });
    } else if (ipCidr !== "" && (p.addresses ?? []).includes(ipCidr)) {
      changed = true;
    } else {
      pools.push(p);
    }
  }
  return changed ? { config: withPools(cfg, pools), changed } : { config: cfg, changed };
}

/**
 * Removes the Service's pool at `ipCidr` only: the pool whose name list includes `<ns>/<name>` and that holds
 * `ipCidr` loses that name (and is removed when no other name remains). A pool of the same name at another
 * address (the Service was deleted and created again meanwhile) is kept.
 */
export function removeServicePoolAt(cfg: ConfigFile, svc: ServiceRef, ipCidr: string): ConfigChange {
  const key = serviceKey(svc);
  let changed = false;
  const pools: AddressPool[] = [];
  for (const p of cfg.addressPools ?? []) {
    const names = p.name.split(NAME_JOINER);
    if (!names.includes(key) || !(p.addresses ?? []).includes(ipCidr)) {
      pools.push(p);
      continue;
    }
    changed = true;
    const others = names.filter((n) => n !== key);
    if (others.length > 0) pools.push({ ...p, name: others.join(NAME_JOINER) });
  }
  return changed ? { config: withPools(cfg, pools), changed } : { config: cfg, changed };
}

/** Input of {@linkcode syncServicePeers}. */
export interface SyncServicePeersInput {
  svc: ServiceRef;
  /** Peers the Service should use now (see {@linkcode desiredPeers}). */
  desired: readonly Peer[];
  /** Names of every node that may carry the Service (the eligible node set). */
  nodeNames: ReadonlySet<string>;
  /** Names of the nodes whose BGP data is known now; peers of other eligible nodes are left as they are. */
  peeredNodes: ReadonlySet<string>;
}

/**
 * Makes the Service's peers match `desired`: removes the Service from peers of nodes that left the node set
 * and from peers of peered nodes that are no longer wanted (for example a router IP went away), dropping
 * peers with no Service left; then records the Service on every desired peer (adding peers as needed).
 */
export function syncServicePeers(cfg: ConfigFile, input: SyncServicePeersInput): ConfigChange {
  const { svc, desired, nodeNames, peeredNodes } = input;
  let changed = false;
  const peers: Peer[] = [];
  for (const p of cfg.peers ?? []) {
    const node = nodeOfSelectors(p.nodeSelectors);
    const stale = node !== undefined &&
      (!nodeNames.has(node) || (peeredNodes.has(node) && !desired.some((d) => peerEqualIgnoreService(p, d))));
    if (!stale) {
      peers.push(p);
      continue;
    }
    const r = removeServiceSelector(p.nodeSelectors, svc, makeSelector);
    if (!r.removed) {
      peers.push(p);
      continue;
    }
    changed = true;
    if (r.remaining > 0) peers.push({ ...p, nodeSelectors: r.selectors });
  }
  let config = changed ? withPeers(cfg, peers) : cfg;
  for (const d of desired) {
    const r = addPeerByService(config, d, svc);
    config = r.config;
    changed ||= r.changed;
  }
  return { config, changed };
}

/** A pool name list made only of `<namespace>/<name>` entries: a pool this CCM created. */
const SERVICE_POOL_NAMES = /^[^/,\s]+\/[^/,\s]+(,[^/,\s]+\/[^/,\s]+)*$/;

/** Input of {@linkcode garbageCollectConfig}. */
export interface GarbageCollectInput {
  /** `namespace/name` of every Service that should keep its objects. */
  liveServices: ReadonlySet<string>;
  /** Names of every live node. */
  liveNodes: ReadonlySet<string>;
}

/**
 * Level-triggered clean-up: drops dead Services from our pools (`protocol: bgp`, `auto-assign: false`, names
 * of the form `<ns>/<name>`) and from peers' service selectors; drops peers pinned to nodes that no longer
 * exist and peers left with no live Service. Peers and pools that record no Service are someone else's and
 * are kept.
 */
export function garbageCollectConfig(cfg: ConfigFile, input: GarbageCollectInput): ConfigChange {
  let changed = false;
  const pools: AddressPool[] = [];
  for (const p of cfg.addressPools ?? []) {
    if (p.protocol !== "bgp" || p.autoAssign !== false || !SERVICE_POOL_NAMES.test(p.name)) {
      pools.push(p);
      continue;
    }
    const names = p.name.split(NAME_JOINER);
    const live = names.filter((n) => input.liveServices.has(n));
    if (live.length === names.length) {
      pools.push(p);
      continue;
    }
    changed = true;
    if (live.length > 0) pools.push({ ...p, name: live.join(NAME_JOINER) });
  }
  const peers: Peer[] = [];
  for (const p of cfg.peers ?? []) {
    const services = servicesOf(p.nodeSelectors);
    if (services.length === 0) {
      peers.push(p);
      continue;
    }
    const live = services.filter((s) => input.liveServices.has(serviceKey(s)));
    const node = nodeOfSelectors(p.nodeSelectors);
    if (live.length === 0 || (node !== undefined && !input.liveNodes.has(node))) {
      changed = true;
      continue;
    }
    if (live.length !== services.length) {
      changed = true;
      peers.push({ ...p, nodeSelectors: rewriteServiceSelectors(p.nodeSelectors, live, makeSelector) });
      continue;
    }
    peers.push(p);
  }
  if (!changed) return { config: cfg, changed };
  return { config: { ...cfg, addressPools: pools, peers }, changed };
}
