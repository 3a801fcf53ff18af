import assert from "node:assert/strict";
import type { BgpNodePeer } from "../../bgp/peer.ts";
import type { BGPAdvertisement, BGPPeer, IPAddressPool } from "./cr_objects.ts";
import { poolName, servicesOfPool } from "./cr_objects.ts";
import {
  type CrOp,
  desiredPeerSpecs,
  planAdvertisement,
  planGarbageCollect,
  planPeers,
  planPool,
  planRemoveService,
} from "./cr_plan.ts";
import { HOSTNAME_LABEL, SERVICE_NAME_LABEL, SERVICE_NAMESPACE_LABEL } from "./service_selector.ts";
import { applyOps as apply } from "./test_util.ts";

const NS = "metallb-system";
const web = { namespace: "default", name: "web" };
const api = { namespace: "prod", name: "api" };
const svcSel = (s: { namespace: string; name: string }) => ({
  matchLabels: { [SERVICE_NAMESPACE_LABEL]: s.namespace, [SERVICE_NAME_LABEL]: s.name },
});
const hostSel = (n: string) => ({ matchLabels: { [HOSTNAME_LABEL]: n } });
const owned = { "cloud-provider": "equinix-metal" };

function node(name: string, ips: string[], extra: Partial<BgpNodePeer> = {}): BgpNodePeer {
  return {
    nodeName: name,
    sourceIP: `10.0.0.${name.at(-1)}`,
    localASN: 65000,
    peerASN: 65530,
    peerIPs: ips,
    password: "pw",
    ...extra,
  };
}

Deno.test("poolName removes characters outside [A-Za-z0-9-]", () => {
  assert.equal(poolName({ namespace: "my-ns", name: "web" }), "my-ns.web");
  assert.equal(poolName({ namespace: "a_b", name: "c.d/e" }), "ab.cde");
});

Deno.test("planPool creates the pool exactly as upstream", () => {
  assert.deepEqual(planPool([], web, "147.75.1.2/32", NS), [{
    verb: "create",
    kind: "IPAddressPool",
    object: {
      apiVersion: "metallb.io/v1beta1",
      kind: "IPAddressPool",
      metadata: {
        name: "default.web",
        namespace: NS,
        labels: { ...owned, "service-web": "namespace-default" },
      },
      spec: { addresses: ["147.75.1.2/32"], autoAssign: false },
    },
  }]);
});

Deno.test("planPool: existing pool → no-op; missing label added; address merge dedups (docs/upstream.md#metallb-crs)", () => {
  const created = (planPool([], web, "147.75.1.2/32", NS)[0] as { object: IPAddressPool }).object;
  const existing = { ...created, metadata: { ...created.metadata, resourceVersion: "7" } };
  assert.deepEqual(planPool([existing], web, "147.75.1.2/32", NS), []);
  const unlabelled = { ...existing, metadata: { ...existing.metadata, labels: owned } };
  assert.deepEqual(planPool([unlabelled], web, "147.75.1.2/32", NS), [{
    verb: "patch",
    kind: "IPAddressPool",
    name: "default.web",
    patch: { metadata: { labels: { "service-web": "namespace-default" }, resourceVersion: "7" } },
  }]);
  const other = planPool([existing], web, "147.75.9.9/32", NS);
  assert.deepEqual(other, [{
    verb: "patch",
    kind: "IPAddressPool",
    name: "default.web",
    patch: { metadata: { resourceVersion: "7" }, spec: { addresses: ["147.75.1.2/32", "147.75.9.9/32"] } },
  }]);
});

Deno.test("a Service whose name or namespace would overflow the pool label is named by the pool's name", () => {
  const long = { namespace: "default", name: `l${"o".repeat(61)}g` }; // 63 characters, the longest valid name
  const op = planPool([], long, "147.75.1.2/32", NS)[0] as { object: IPAddressPool };
  assert.deepEqual(op.object.metadata.labels, owned, "no label longer than 63 characters");
  assert.deepEqual(servicesOfPool(op.object), [long]);
  assert.deepEqual(planPool([op.object], long, "147.75.1.2/32", NS), [], "no patch for the missing label");
  const longNs = { namespace: "n".repeat(54), name: "web" };
  const nsOp = planPool([], longNs, "147.75.1.3/32", NS)[0] as { object: IPAddressPool };
  assert.deepEqual(servicesOfPool(nsOp.object), [longNs]);
  // Pools that could carry the label and do not are still not guessed from their names.
  assert.deepEqual(servicesOfPool({ metadata: { name: "default.web", labels: owned }, spec: {} }), []);
  // Garbage collection keeps the live one and removes it once its Service is gone.
  const gc = (live: string[]) =>
    planGarbageCollect({
      pools: [op.object],
      advertisements: [],
      peers: [],
      allPoolNames: new Set([op.object.metadata.name]),
      liveServices: new Set(live),
      liveNodes: new Set(),
    });
  assert.deepEqual(gc([`default/${long.name}`]), []);
  assert.deepEqual(gc([]), [{ verb: "delete", kind: "IPAddressPool", name: `default.${long.name}` }]);
});

Deno.test("planAdvertisement", () => {
  const def: BGPAdvertisement = {
    metadata: { name: "equinix-metal-bgp-adv", labels: owned, resourceVersion: "3" },
    spec: { ipAddressPools: ["default.web"] },
  };
  assert.deepEqual(planAdvertisement([], "default.web", NS), [{
    verb: "create",
    kind: "BGPAdvertisement",
    object: {
      apiVersion: "metallb.io/v1beta1",
      kind: "BGPAdvertisement",
      metadata: { name: "equinix-metal-bgp-adv", namespace: NS, labels: owned },
      spec: { ipAddressPools: ["default.web"] },
    },
  }]);
  assert.deepEqual(planAdvertisement([def], "default.web", NS), [], "already listed");
  assert.deepEqual(planAdvertisement([def], "prod.api", NS), [{
    verb: "patch",
    kind: "BGPAdvertisement",
    name: "equinix-metal-bgp-adv",
    patch: { metadata: { resourceVersion: "3" }, spec: { ipAddressPools: ["default.web", "prod.api"] } },
  }]);
  const user: BGPAdvertisement = { metadata: { name: "mine", labels: owned }, spec: {} };
  assert.deepEqual(
    planAdvertisement([user], "prod.api", NS),
    [],
    "a labelled user advertisement suppresses ours",
  );
});

Deno.test("desiredPeerSpecs: inline password as upstream, or a passwordSecret reference", () => {
  const inline = desiredPeerSpecs([node("n1", ["169.254.255.1", "169.254.255.2"])], { mode: "inline" });
  assert.deepEqual([...inline.keys()], ["n1-0", "n1-1"]);
  assert.deepEqual(inline.get("n1-1"), {
    myASN: 65000,
    peerASN: 65530,
    peerAddress: "169.254.255.2",
    sourceAddress: "10.0.0.1",
    peerPort: 179,
    holdTime: "0s",
    keepaliveTime: "0s",
    nodeSelectors: [hostSel("n1")],
    password: "pw",
    passwordSecret: undefined,
  });
  const secret = desiredPeerSpecs([node("n1", ["r"])], { mode: "secret", secretName: "bgp", namespace: NS });
  assert.equal(secret.get("n1-0")?.password, undefined);
  assert.deepEqual(secret.get("n1-0")?.passwordSecret, { name: "bgp", namespace: NS });
  const none = desiredPeerSpecs([node("n1", ["r"], { password: "" })], {
    mode: "secret",
    secretName: "bgp",
    namespace: NS,
  });
  assert.equal(none.get("n1-0")?.passwordSecret, undefined, "no password, no reference");
});

function peersFor(
  existing: BGPPeer[],
  nodes: BgpNodePeer[],
  svc = web,
  nodeNames = nodes.map((n) => n.nodeName),
): CrOp[] {
  return planPeers({
    existing,
    desired: desiredPeerSpecs(nodes, { mode: "inline" }),
    svc,
    nodeNames: new Set(nodeNames),
    peeredNodes: new Set(nodes.map((n) => n.nodeName)),
    namespace: NS,
    apiVersion: "metallb.io/v1beta1",
  });
}

Deno.test("first-time peers carry their service selectors (upstream created them without, docs/upstream.md#metallb-crs)", () => {
  const ops = peersFor([], [node("n1", ["169.254.255.1"])]);
  assert.deepEqual(ops, [{
    verb: "create",
    kind: "BGPPeer",
    object: {
      apiVersion: "metallb.io/v1beta1",
      kind: "BGPPeer",
      metadata: { name: "n1-0", namespace: NS, labels: owned },
      spec: {
        myASN: 65000,
        peerASN: 65530,
        peerAddress: "169.254.255.1",
        sourceAddress: "10.0.0.1",
        peerPort: 179,
        holdTime: "0s",
        keepaliveTime: "0s",
        nodeSelectors: [hostSel("n1"), svcSel(web)],
        password: "pw",
      },
    },
  }]);
});

Deno.test("planPeers: second service is recorded on existing peers; re-run is a no-op", () => {
  const nodes = [node("n1", ["r1", "r2"]), node("n2", ["r1", "r2"])];
  let peers = apply<BGPPeer>([], peersFor([], nodes, web));
  assert.equal(peers.length, 4);
  peers = apply(peers, peersFor(peers, nodes, api));
  for (const p of peers) assert.deepEqual(p.spec?.nodeSelectors?.slice(1), [svcSel(web), svcSel(api)]);
  assert.deepEqual(peersFor(peers, nodes, api), []);
  assert.deepEqual(peersFor(peers, nodes, web), []);
});

Deno.test("spec drift repair keeps every service selector (upstream wiped them, docs/upstream.md#metallb-crs)", () => {
  const nodes = [node("n1", ["r1"])];
  let peers = apply<BGPPeer>([], peersFor([], nodes, web));
  peers = apply(peers, peersFor(peers, nodes, api));
  const drifted = peers.map((p) => ({
    ...p,
    metadata: { ...p.metadata, resourceVersion: "9" },
    spec: { ...p.spec, peerASN: 1, routerID: "1.1.1.1", bfdProfile: "kept" },
  }));
  const ops = peersFor(drifted, nodes, web);
  assert.deepEqual(ops, [{
    verb: "patch",
    kind: "BGPPeer",
    name: "n1-0",
    patch: { metadata: { resourceVersion: "9" }, spec: { peerASN: 65530, routerID: null } },
  }]);
  const repaired = apply(drifted, ops);
  assert.deepEqual(repaired[0]?.spec?.nodeSelectors, [hostSel("n1"), svcSel(web), svcSel(api)]);
  assert.equal(repaired[0]?.spec?.bfdProfile, "kept");
});

Deno.test("planPeers: a removed node's peers lose the service, and are deleted with the last one", () => {
  const both = [node("n1", ["r1"]), node("n2", ["r1"])];
  let peers = apply<BGPPeer>([], peersFor([], both, web));
  peers = apply(peers, peersFor(peers, both, api));
  const onlyN1 = [both[0] as BgpNodePeer];
  const first = peersFor(peers, onlyN1, web);
  assert.deepEqual(first.map((o) => [o.verb, "name" in o ? o.name : ""]), [["patch", "n2-0"]]);
  peers = apply(peers, first);
  const second = peersFor(peers, onlyN1, api);
  assert.deepEqual(second, [{ verb: "delete", kind: "BGPPeer", name: "n2-0" }]);
});

Deno.test("planPeers keeps peers of an eligible node whose BGP data is unknown right now", () => {
  const both = [node("n1", ["r1"]), node("n2", ["r1"])];
  const peers = apply<BGPPeer>([], peersFor([], both, web));
  assert.deepEqual(peersFor(peers, [both[0] as BgpNodePeer], web, ["n1", "n2"]), []);
});

Deno.test("planPeers: a peer index that went away loses the service", () => {
  const peers = apply<BGPPeer>([], peersFor([], [node("n1", ["r1", "r2"])], web));
  assert.deepEqual(peersFor(peers, [node("n1", ["r1"])], web), [{
    verb: "delete",
    kind: "BGPPeer",
    name: "n1-1",
  }]);
});

Deno.test("planRemoveService removes only the service's objects, and nothing when nothing is left", () => {
  const nodes = [node("n1", ["r1"])];
  let peers = apply<BGPPeer>([], peersFor([], nodes, web));
  peers = apply(peers, peersFor(peers, nodes, api));
  const pools = apply<IPAddressPool>([], [
    ...planPool([], web, "1.1.1.1/32", NS),
    ...planPool([], api, "2.2.2.2/32", NS),
  ]);
  let advs = apply<BGPAdvertisement>([], planAdvertisement([], "default.web", NS));
  advs = apply(advs, planAdvertisement(advs, "prod.api", NS));
  const ops = planRemoveService({ pools, advertisements: advs, peers }, web);
  assert.deepEqual(ops.map((o) => [o.verb, o.kind]), [
    ["delete", "IPAddressPool"],
    ["patch", "BGPAdvertisement"],
    ["patch", "BGPPeer"],
  ]);
  const after = {
    pools: apply(pools, ops.filter((o) => o.kind === "IPAddressPool")),
    advertisements: apply(advs, ops.filter((o) => o.kind === "BGPAdvertisement")),
    peers: apply(peers, ops.filter((o) => o.kind === "BGPPeer")),
  };
  assert.deepEqual(after.advertisements[0]?.spec?.ipAddressPools, ["prod.api"]);
  assert.deepEqual(after.peers[0]?.spec?.nodeSelectors, [hostSel("n1"), svcSel(api)]);
  assert.deepEqual(
    planRemoveService(after, web),
    [],
    "RemovePeersByService reports no change when none (docs/upstream.md#metallb-crs)",
  );
  assert.deepEqual(planRemoveService(after, api).map((o) => [o.verb, o.kind]), [
    ["delete", "IPAddressPool"],
    ["delete", "BGPAdvertisement"],
    ["delete", "BGPPeer"],
  ]);
});

Deno.test("planGarbageCollect removes dead pools, missing advertisement entries, dead and orphaned peers", () => {
  const both = [node("n1", ["r1"]), node("gone", ["r1"])];
  let peers = apply<BGPPeer>([], peersFor([], both, web));
  peers = apply(peers, peersFor(peers, both, api));
  peers.push({ metadata: { name: "legacy-0", labels: owned }, spec: { nodeSelectors: [hostSel("n1")] } });
  const pools = apply<IPAddressPool>([], [
    ...planPool([], web, "1.1.1.1/32", NS),
    ...planPool([], api, "2.2.2.2/32", NS),
  ]);
  pools.push({ metadata: { name: "unlabelled-by-service", labels: owned }, spec: {} });
  const advs: BGPAdvertisement[] = [{
    metadata: { name: "equinix-metal-bgp-adv", labels: owned },
    spec: { ipAddressPools: ["default.web", "prod.api", "deleted-by-hand", "user-pool"] },
  }];
  const ops = planGarbageCollect({
    pools,
    advertisements: advs,
    peers,
    allPoolNames: new Set([...pools.map((p) => p.metadata.name), "user-pool"]),
    liveServices: new Set(["default/web"]),
    liveNodes: new Set(["n1"]),
  });
  assert.deepEqual(ops.map((o) => [o.verb, o.kind, "name" in o ? o.name : o.object.metadata.name]), [
    ["delete", "IPAddressPool", "prod.api"],
    ["patch", "BGPAdvertisement", "equinix-metal-bgp-adv"],
    ["patch", "BGPPeer", "n1-0"],
    ["delete", "BGPPeer", "gone-0"],
    ["delete", "BGPPeer", "legacy-0"],
  ]);
  const adv = apply(advs, ops.filter((o) => o.kind === "BGPAdvertisement"));
  assert.deepEqual(adv[0]?.spec?.ipAddressPools, ["default.web", "user-pool"]);
});
