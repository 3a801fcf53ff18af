/** planPeers and planGarbageCollect with the shared (FRR) layout, and switching between the layouts. */
import assert from "node:assert/strict";
import type { BGPPeer } from "./cr_objects.ts";
import { desiredSharedPeerSpecs, hostnamesSelector, nodesOfSharedSelectors } from "./cr_peer_layout.ts";
import { type CrOp, desiredPeerSpecs, planGarbageCollect, planPeers } from "./cr_plan.ts";
import { nodeOfSelectors, type ServiceRef, servicesOf } from "./service_selector.ts";
import { applyOps, bgpNode as node } from "./test_util.ts";

const NS = "metallb-system";
const web = { namespace: "default", name: "web" };
const api = { namespace: "prod", name: "api" };
const INLINE = { mode: "inline" } as const;

/** One planPeers run for `svc` with `layout`, over `nodes` (all known unless `unknown` lists some). */
function plan(
  existing: BGPPeer[],
  svc: ServiceRef,
  layout: "per-node" | "shared",
  nodes: string[],
  unknown: string[] = [],
): CrOp[] {
  const peers = nodes.filter((n) => !unknown.includes(n)).map((n) => node(n));
  return planPeers({
    existing,
    desired: layout === "shared"
      ? desiredSharedPeerSpecs(peers, INLINE).specs
      : desiredPeerSpecs(peers, INLINE),
    svc,
    nodeNames: new Set(nodes),
    peeredNodes: new Set(peers.map((p) => p.nodeName)),
    namespace: NS,
    apiVersion: "metallb.io/v1beta1",
    layout,
  });
}

/**
 * Applies ops one at a time and judges each create and patch as MetalLB's FRR webhook does: denied when two
 * peers would have one address. Returns the peers afterwards.
 */
function applyAsFrr(peers: BGPPeer[], ops: CrOp[]): BGPPeer[] {
  let out = peers;
  for (const op of ops) {
    out = applyOps(out, [op]);
    if (op.verb === "delete") continue;
    const addresses = out.map((p) => p.spec?.peerAddress);
    assert.equal(
      new Set(addresses).size,
      addresses.length,
      `MetalLB would deny the ${op.verb}: two peers with one address`,
    );
  }
  return out;
}

/** Node → Services recorded, per address, as a readable summary. */
function summary(peers: BGPPeer[]): Record<string, { nodes: string[]; services: string[] }> {
  const out: Record<string, { nodes: string[]; services: string[] }> = {};
  for (const p of peers) {
    const nodes = nodesOfSharedSelectors(p.spec?.nodeSelectors) ?? [nodeOfSelectors(p.spec?.nodeSelectors)];
    out[p.metadata.name] = {
      nodes: nodes.map(String),
      services: servicesOf(p.spec?.nodeSelectors).map((s) => `${s.namespace}/${s.name}`),
    };
  }
  return out;
}

Deno.test("shared layout: one peer per address for every node, Services recorded, re-run is a no-op", () => {
  let peers = applyAsFrr([], plan([], web, "shared", ["n2", "n1"]));
  peers = applyAsFrr(peers, plan(peers, api, "shared", ["n2", "n1"]));
  assert.deepEqual(summary(peers), {
    "equinix-metal.169.254.255.1": { nodes: ["n1", "n2"], services: ["default/web", "prod/api"] },
    "equinix-metal.169.254.255.2": { nodes: ["n1", "n2"], services: ["default/web", "prod/api"] },
  });
  const created = peers[0] as BGPPeer;
  assert.deepEqual(created.metadata.labels, { "cloud-provider": "equinix-metal" });
  assert.equal(created.spec?.sourceAddress, undefined);
  assert.deepEqual(plan(peers, web, "shared", ["n1", "n2"]), []);
  assert.deepEqual(plan(peers, api, "shared", ["n1", "n2"]), []);
});

Deno.test("shared layout: nodes joining and leaving patch the node list; unknown BGP data keeps a node", () => {
  let peers = applyAsFrr([], plan([], web, "shared", ["n1", "n2"]));
  const joined = plan(peers, web, "shared", ["n1", "n2", "n3"]);
  assert.deepEqual(joined.map((o) => o.verb), ["patch", "patch"]);
  peers = applyAsFrr(peers, joined);
  assert.deepEqual(summary(peers)["equinix-metal.169.254.255.1"]?.nodes, ["n1", "n2", "n3"]);
  // n3's BGP data is unknown right now: it stays selected; n1 left: it goes.
  peers = applyAsFrr(peers, plan(peers, web, "shared", ["n2", "n3"], ["n3"]));
  assert.deepEqual(summary(peers)["equinix-metal.169.254.255.1"]?.nodes, ["n2", "n3"]);
});

Deno.test("per-node → shared: old peers are deleted before the shared ones are created, every Service kept", () => {
  // An upstream-created (or native-mode) cluster: two Services on per-node peers; n3 has unknown BGP data.
  let peers = applyOps<BGPPeer>([], plan([], web, "per-node", ["n1", "n2", "n3"]));
  peers = applyOps(peers, plan(peers, api, "per-node", ["n1", "n2", "n3"]));
  assert.equal(peers.length, 6);
  const ops = plan(peers, web, "shared", ["n1", "n2", "n3"], ["n3"]);
  const verbs = ops.map((o) => o.verb);
  assert.deepEqual(verbs, ["delete", "delete", "delete", "delete", "delete", "delete", "create", "create"]);
  peers = applyAsFrr(peers, ops);
  assert.deepEqual(summary(peers), {
    "equinix-metal.169.254.255.1": { nodes: ["n1", "n2", "n3"], services: ["default/web", "prod/api"] },
    "equinix-metal.169.254.255.2": { nodes: ["n1", "n2", "n3"], services: ["default/web", "prod/api"] },
  });
  assert.deepEqual(plan(peers, api, "shared", ["n1", "n2", "n3"], ["n3"]), [], "converged");
});

Deno.test("per-node → shared with a half-done switch: the stray per-node peer goes before the patch", () => {
  const shared = applyAsFrr([], plan([], web, "shared", ["n1"]));
  const stray = applyOps<BGPPeer>([], plan([], web, "per-node", ["n2"])).slice(0, 1);
  const ops = plan([...shared, ...stray], web, "shared", ["n1", "n2"]);
  assert.deepEqual(ops.map((o) => o.verb), ["delete", "patch", "patch"]);
  const peers = applyOps([...shared, ...stray], ops);
  assert.deepEqual(summary(peers)["equinix-metal.169.254.255.1"]?.nodes, ["n1", "n2"]);
});

Deno.test("shared → per-node: shared peers are replaced by upstream's, every Service kept", () => {
  let peers = applyAsFrr([], plan([], web, "shared", ["n1", "n2"]));
  peers = applyAsFrr(peers, plan(peers, api, "shared", ["n1", "n2"]));
  const ops = plan(peers, web, "per-node", ["n1", "n2"]);
  assert.deepEqual(ops.map((o) => o.verb), ["delete", "delete", "create", "create", "create", "create"]);
  peers = applyOps(peers, ops);
  assert.deepEqual(Object.keys(summary(peers)).sort(), ["n1-0", "n1-1", "n2-0", "n2-1"]);
  for (const p of peers) {
    assert.deepEqual(servicesOf(p.spec?.nodeSelectors), [web, api]);
    assert.equal(p.spec?.sourceAddress, `10.0.0.${p.metadata.name[1]}`);
  }
  assert.deepEqual(plan(peers, api, "per-node", ["n1", "n2"]), [], "converged");
});

Deno.test("shared → per-node keeps a shared peer narrowed to nodes whose BGP data is unknown", () => {
  const peers = applyAsFrr([], plan([], web, "shared", ["n1", "n2"]));
  const after = applyOps(peers, plan(peers, web, "per-node", ["n1", "n2"], ["n2"]));
  assert.deepEqual(summary(after), {
    "equinix-metal.169.254.255.1": { nodes: ["n2"], services: ["default/web"] },
    "equinix-metal.169.254.255.2": { nodes: ["n2"], services: ["default/web"] },
    "n1-0": { nodes: ["n1"], services: ["default/web"] },
    "n1-1": { nodes: ["n1"], services: ["default/web"] },
  });
});

Deno.test("planGarbageCollect: shared peers lose gone nodes and go with the last one", () => {
  const peers = applyAsFrr([], plan([], web, "shared", ["n1", "n2"]));
  const gc = (liveNodes: string[]) =>
    planGarbageCollect({
      pools: [],
      advertisements: [],
      peers,
      allPoolNames: new Set(),
      liveServices: new Set(["default/web"]),
      liveNodes: new Set(liveNodes),
    });
  assert.deepEqual(gc(["n1", "n2"]), []);
  const shrunk = applyOps(peers, gc(["n2"]));
  assert.deepEqual(summary(shrunk)["equinix-metal.169.254.255.2"], {
    nodes: ["n2"],
    services: ["default/web"],
  });
  assert.deepEqual(gc([]).map((o) => o.verb), ["delete", "delete"]);
  assert.deepEqual(hostnamesSelector([]).matchExpressions?.[0]?.values, []);
});
