/**
 * Fixture builders for the MetalLB ConfigMap model tests (deterministic stand-ins for upstream's random
 * peers and pools), and an in-memory API server for CR-mode plans.
 *
 * @module
 */
import type {
  AddressPool,
  BgpAdvertisement,
  NodeSelector,
  Peer,
  SelectorRequirement,
} from "./config_file.ts";
import type { BgpNodePeer } from "../../bgp/peer.ts";
import type { CrOp } from "./cr_plan.ts";
import { SERVICE_NAME_LABEL, SERVICE_NAMESPACE_LABEL } from "./service_selector.ts";

/** A requirement `key operator (values)`. */
export function req(key: string, operator: string, values: string[] | null): SelectorRequirement {
  return { key, operator, values };
}

/** A node selector with 3 expressions derived from `seed`. */
export function randomSelector(seed: string): NodeSelector {
  return {
    matchLabels: { [`label-${seed}`]: `value-${seed}` },
    matchExpressions: [
      req(`k1-${seed}`, "In", [`a-${seed}`, `b-${seed}`]),
      req(`k2-${seed}`, "NotIn", [`c-${seed}`]),
      req(`k3-${seed}`, "Exists", null),
    ],
  };
}

/** The service selector of `namespace/name`. */
export function serviceSelector(namespace: string, name: string): NodeSelector {
  return {
    matchLabels: { [SERVICE_NAMESPACE_LABEL]: namespace, [SERVICE_NAME_LABEL]: name },
    matchExpressions: null,
  };
}

/** A peer with 2 non-service selectors, distinct per `seed` (a number keeps ASNs distinct). */
export function randomPeer(seed: number, services: Array<[string, string]> = []): Peer {
  return {
    myASN: 64000 + seed,
    peerASN: 65000 + seed,
    peerAddress: `10.0.${seed}.1`,
    peerPort: 179,
    sourceAddress: `10.1.${seed}.2`,
    holdTime: "90s",
    routerID: `10.2.${seed}.3`,
    nodeSelectors: [
      randomSelector(`${seed}a`),
      randomSelector(`${seed}b`),
      ...services.map(([ns, n]) => serviceSelector(ns, n)),
    ],
    password: `secret-${seed}`,
    name: "",
  };
}

/** An advertisement. */
export function adv(
  aggregationLength: number | null,
  localPref: number | null,
  communities: string[] | null,
) {
  return { aggregationLength, localPref, communities } satisfies BgpAdvertisement;
}

/** A pool with two addresses and two advertisements, distinct per `seed`. */
export function randomPool(seed: number, name = `pool-${seed}`): AddressPool {
  return {
    protocol: "bgp",
    name,
    addresses: [`192.0.2.${seed * 2}/32`, `192.0.2.${seed * 2 + 1}/32`],
    avoidBuggyIPs: true,
    autoAssign: false,
    bgpAdvertisements: [adv(24, 100, [`6500${seed}:1`, `6500${seed}:2`]), adv(32, 200, null)],
  };
}

/** Deep copy through JSON (fixtures hold only JSON values). */
export function clone<T>(v: T): T {
  return structuredClone(v);
}

/** Applies ops to an in-memory object list, as the API server would (for multi-step scenarios). */
export function applyOps<T extends { metadata: { name: string; resourceVersion?: string } }>(
  objs: T[],
  ops: CrOp[],
): T[] {
  let out = [...objs];
  for (const op of ops) {
    if (op.verb === "create") out.push(op.object as T);
    else if (op.verb === "delete") out = out.filter((o) => o.metadata.name !== op.name);
    else out = out.map((o) => (o.metadata.name === op.name ? mergeInto(o, op.patch) as T : o));
  }
  return out;
}

function mergeInto(target: unknown, patch: unknown): unknown {
  if (typeof patch !== "object" || patch === null || Array.isArray(patch)) return patch;
  const base = typeof target === "object" && target !== null && !Array.isArray(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete (base as Record<string, unknown>)[k];
    else (base as Record<string, unknown>)[k] = mergeInto((base as Record<string, unknown>)[k], v);
  }
  return base;
}

/** A node's BGP peering as Equinix Metal gives it: both routers, the project ASN and password. */
export function bgpNode(name: string, extra: Partial<BgpNodePeer> = {}): BgpNodePeer {
  return {
    nodeName: name,
    sourceIP: `10.0.0.${name.at(-1)}`,
    localASN: 65000,
    peerASN: 65530,
    peerIPs: ["169.254.255.1", "169.254.255.2"],
    password: "pw",
    ...extra,
  };
}
