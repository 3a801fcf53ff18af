import assert from "node:assert/strict";
import type { BgpNodePeer } from "../../bgp/peer.ts";
import type { ConfigFile, Peer } from "./config_file.ts";
import {
  addAddressPool,
  addPeer,
  addPeerByService,
  desiredPeers,
  garbageCollectConfig,
  removeAddressPoolByAddress,
  removePeer,
  removePeersByService,
  removeServicePoolAt,
  removeServicePools,
  servicePool,
  syncServicePeers,
} from "./config_ops.ts";
import { HOSTNAME_LABEL, servicesOf } from "./service_selector.ts";
import { clone, randomPeer, randomPool } from "./test_util.ts";

function config(peers: Peer[] | null, pools = null as ConfigFile["addressPools"]): ConfigFile {
  return { peers, bgpCommunities: null, addressPools: pools };
}

function names(peer: Peer | undefined): string[] {
  return servicesOf(peer?.nodeSelectors).map((s) => `${s.namespace}/${s.name}`);
}

Deno.test("TestConfigFileAddPeer: existing peer is not added again, a new one is", () => {
  const cfg = config([randomPeer(1), randomPeer(2)]);
  const same = addPeer(cfg, clone(randomPeer(1)));
  assert.equal(same.changed, false);
  assert.equal(same.config.peers?.length, 2);
  const added = addPeer(cfg, randomPeer(3));
  assert.equal(added.changed, true);
  assert.equal(added.config.peers?.length, 3);
  assert.equal(cfg.peers?.length, 2, "input is not modified");
});

Deno.test("TestConfigFileAddPeerByService", () => {
  const p0 = randomPeer(0, [["default", "a"]]);
  const p1 = randomPeer(1, [["default", "a"]]);
  const cases: Array<
    { name: string; add: Peer; svc: string; count: number; index: number; changed: boolean }
  > = [
    { name: "p0 + default/a", add: randomPeer(0), svc: "a", count: 2, index: 0, changed: false },
    { name: "p1 + default/b", add: randomPeer(1), svc: "b", count: 2, index: 1, changed: true },
    { name: "new peer + default/c", add: randomPeer(2), svc: "c", count: 3, index: 2, changed: true },
  ];
  for (const c of cases) {
    const r = addPeerByService(config([clone(p0), clone(p1)]), c.add, { namespace: "default", name: c.svc });
    assert.equal(r.config.peers?.length, c.count, c.name);
    assert.ok(names(r.config.peers?.[c.index]).includes(`default/${c.svc}`), c.name);
    assert.equal(r.changed, c.changed, `${c.name}: changed`);
  }
});

Deno.test("addPeerByService keeps services sorted after non-service selectors", () => {
  const r = addPeerByService(config([randomPeer(0, [["ns2", "x"]])]), randomPeer(0), {
    namespace: "ns1",
    name: "z",
  });
  const peer = r.config.peers?.[0];
  assert.deepEqual(names(peer), ["ns1/z", "ns2/x"]);
  assert.deepEqual(peer?.nodeSelectors?.slice(0, 2), randomPeer(0).nodeSelectors);
});

Deno.test("TestConfigFileRemovePeer", () => {
  const cases: Array<[string, Peer, number]> = [
    ["existing", randomPeer(1), 1],
    ["random", randomPeer(9), 2],
    ["duplicate of p0", clone(randomPeer(0)), 1],
  ];
  for (const [name, remove, want] of cases) {
    const r = removePeer(config([randomPeer(0), randomPeer(1)]), remove);
    assert.equal(r.config.peers?.length, want, name);
    assert.equal(r.changed, want === 1, `${name}: changed`);
  }
});

Deno.test("TestConfigFileRemovePeersByService", () => {
  const peers = () => [
    randomPeer(0, [["default", "a"]]),
    randomPeer(1, [["default", "a"], ["default", "b"]]),
    randomPeer(2, [["default", "c"]]),
  ];
  const cases: Array<[string, number, boolean]> = [["c", 2, true], ["b", 3, true], ["a", 2, true], [
    "d",
    3,
    false,
  ]];
  for (const [svc, count, changed] of cases) {
    const r = removePeersByService(config(peers()), { namespace: "default", name: svc });
    assert.equal(r.config.peers?.length, count, svc);
    assert.equal(r.changed, changed, `${svc}: changed (upstream always reported a change)`);
    for (const p of r.config.peers ?? []) assert.ok(!names(p).includes(`default/${svc}`), svc);
  }
});

Deno.test("removePeersByService keeps peers that never recorded a service", () => {
  const r = removePeersByService(config([randomPeer(0), randomPeer(1, [["default", "a"]])]), {
    namespace: "default",
    name: "a",
  });
  assert.deepEqual(r.config.peers, [randomPeer(0)]);
});

Deno.test("TestConfigFileAddAddressPool", () => {
  const p0 = randomPool(0, "goodpool");
  const p1 = randomPool(1);
  const start = () => ({ ...config(null), addressPools: [clone(p0), clone(p1)] });
  let r = addAddressPool(start(), clone(p0));
  assert.equal(r.changed, false, "P0");
  r = addAddressPool(start(), clone(p1));
  assert.equal(r.changed, false, "P1");
  r = addAddressPool(start(), { ...clone(p0), name: "newName" });
  assert.equal(r.changed, true, "P0 renamed");
  assert.equal(r.config.addressPools?.[0]?.name, "goodpool,newName");
  assert.equal(r.config.addressPools?.length, 2);
  r = addAddressPool(r.config, { ...clone(p0), name: "newName" });
  assert.equal(r.changed, false, "name already in the list");
  r = addAddressPool(start(), randomPool(7));
  assert.equal(r.changed, true, "new pool");
  assert.deepEqual(r.config.addressPools?.[2], randomPool(7));
});

Deno.test("TestConfigFileRemoveAddressPoolByAddress", () => {
  const start = () => ({ ...config(null), addressPools: [randomPool(0), randomPool(1)] });
  for (const addr of [...(randomPool(0).addresses ?? []), ...(randomPool(1).addresses ?? [])]) {
    const r = removeAddressPoolByAddress(start(), addr);
    assert.equal(r.config.addressPools?.length, 1, addr);
    assert.equal(r.changed, true);
  }
  const r = removeAddressPoolByAddress(start(), "198.51.100.1/32");
  assert.equal(r.config.addressPools?.length, 2);
  assert.equal(r.changed, false);
  assert.equal(removeAddressPoolByAddress(start(), "").changed, false);
});

Deno.test("removeServicePools keeps a pool shared with another service", () => {
  const shared = { ...servicePool({ namespace: "a", name: "x" }, "1.2.3.4/32"), name: "a/x,b/y" };
  const r = removeServicePools(
    { ...config(null), addressPools: [shared] },
    { namespace: "a", name: "x" },
    "1.2.3.4/32",
  );
  assert.deepEqual(r.config.addressPools, [{ ...shared, name: "b/y" }]);
  const gone = removeServicePools(r.config, { namespace: "b", name: "y" }, "");
  assert.deepEqual(gone.config.addressPools, []);
  assert.equal(gone.changed, true);
});

Deno.test("removeServicePoolAt removes only the Service's pool at that address", () => {
  const svc = { namespace: "a", name: "x" };
  const old = servicePool(svc, "1.2.3.4/32");
  const recreated = servicePool(svc, "1.2.3.5/32");
  const shared = { ...servicePool(svc, "1.2.3.6/32"), name: "a/x,b/y" };
  const other = servicePool({ namespace: "b", name: "z" }, "1.2.3.4/32");
  const cfg = { ...config(null), addressPools: [old, recreated, shared, other] };
  const r = removeServicePoolAt(cfg, svc, "1.2.3.4/32");
  assert.equal(r.changed, true);
  assert.deepEqual(r.config.addressPools, [recreated, shared, other]);
  assert.deepEqual(removeServicePoolAt(cfg, svc, "1.2.3.6/32").config.addressPools, [
    old,
    recreated,
    { ...shared, name: "b/y" },
    other,
  ]);
  const none = removeServicePoolAt(r.config, svc, "1.2.3.4/32");
  assert.equal(none.changed, false);
  assert.equal(none.config, r.config);
});

const node = (name: string, ips: string[], extra: Partial<BgpNodePeer> = {}): BgpNodePeer => ({
  nodeName: name,
  sourceIP: `10.0.0.${name.length}`,
  localASN: 65000,
  peerASN: 65530,
  peerIPs: ips,
  password: "pw",
  ...extra,
});

Deno.test("desiredPeers builds one peer per node × router, pinned by hostname", () => {
  const peers = desiredPeers([node("n1", ["169.254.255.1", "169.254.255.2"]), node("n2", ["169.254.255.1"])]);
  assert.equal(peers.length, 3);
  assert.deepEqual(peers[1], {
    myASN: 65000,
    peerASN: 65530,
    peerAddress: "169.254.255.2",
    peerPort: 0,
    sourceAddress: "10.0.0.2",
    holdTime: "",
    routerID: "",
    nodeSelectors: [{ matchLabels: { [HOSTNAME_LABEL]: "n1" }, matchExpressions: null }],
    password: "pw",
    name: "",
  });
});

Deno.test("syncServicePeers: node removal removes the node's peers (upstream left them, docs/upstream.md#metallb-configmap)", () => {
  const a = { namespace: "default", name: "a" };
  const b = { namespace: "default", name: "b" };
  const both = [node("n1", ["r1", "r2"]), node("n2", ["r1", "r2"])];
  let cfg = config(null);
  for (const svc of [a, b]) {
    cfg = syncServicePeers(cfg, {
      svc,
      desired: desiredPeers(both),
      nodeNames: new Set(["n1", "n2"]),
      peeredNodes: new Set(["n1", "n2"]),
    }).config;
  }
  assert.equal(cfg.peers?.length, 4);
  assert.deepEqual(cfg.peers?.map(names), [["default/a", "default/b"], ["default/a", "default/b"], [
    "default/a",
    "default/b",
  ], ["default/a", "default/b"]]);
  // n2 left the cluster: service a's update removes a from n2's peers; b still holds them.
  let r = syncServicePeers(cfg, {
    svc: a,
    desired: desiredPeers([both[0] as BgpNodePeer]),
    nodeNames: new Set(["n1"]),
    peeredNodes: new Set(["n1"]),
  });
  assert.equal(r.changed, true);
  assert.deepEqual(r.config.peers?.map(names), [["default/a", "default/b"], ["default/a", "default/b"], [
    "default/b",
  ], ["default/b"]]);
  r = syncServicePeers(r.config, {
    svc: b,
    desired: desiredPeers([both[0] as BgpNodePeer]),
    nodeNames: new Set(["n1"]),
    peeredNodes: new Set(["n1"]),
  });
  assert.equal(r.config.peers?.length, 2);
  const again = syncServicePeers(r.config, {
    svc: b,
    desired: desiredPeers([both[0] as BgpNodePeer]),
    nodeNames: new Set(["n1"]),
    peeredNodes: new Set(["n1"]),
  });
  assert.equal(again.changed, false, "no-op when already in sync");
});

Deno.test("syncServicePeers keeps peers of an eligible node whose BGP data is unknown right now", () => {
  const a = { namespace: "default", name: "a" };
  const cfg = syncServicePeers(config(null), {
    svc: a,
    desired: desiredPeers([node("n1", ["r1"]), node("n2", ["r1"])]),
    nodeNames: new Set(["n1", "n2"]),
    peeredNodes: new Set(["n1", "n2"]),
  }).config;
  const r = syncServicePeers(cfg, {
    svc: a,
    desired: desiredPeers([node("n1", ["r1"])]),
    nodeNames: new Set(["n1", "n2"]),
    peeredNodes: new Set(["n1"]),
  });
  assert.equal(r.changed, false);
  assert.equal(r.config.peers?.length, 2);
});

Deno.test("syncServicePeers replaces a peer whose source address changed (upstream matched it, docs/upstream.md#metallb-configmap)", () => {
  const a = { namespace: "default", name: "a" };
  const cfg = syncServicePeers(config(null), {
    svc: a,
    desired: desiredPeers([node("n1", ["r1"])]),
    nodeNames: new Set(["n1"]),
    peeredNodes: new Set(["n1"]),
  }).config;
  const r = syncServicePeers(cfg, {
    svc: a,
    desired: desiredPeers([node("n1", ["r1"], { sourceIP: "10.9.9.9" })]),
    nodeNames: new Set(["n1"]),
    peeredNodes: new Set(["n1"]),
  });
  assert.equal(r.changed, true);
  assert.deepEqual(r.config.peers?.map((p) => p.sourceAddress), ["10.9.9.9"]);
});

Deno.test("garbageCollectConfig drops dead services, peers of gone nodes and our dead pools only", () => {
  const live = randomPeer(0, [["default", "a"], ["default", "dead"]]);
  const onlyDead = randomPeer(1, [["default", "dead"]]);
  const foreign = randomPeer(2);
  const goneNode: Peer = {
    ...desiredPeers([node("gone", ["r1"])])[0] as Peer,
  };
  goneNode.nodeSelectors = [
    ...(goneNode.nodeSelectors ?? []),
    ...(randomPeer(0, [["default", "a"]]).nodeSelectors ?? []).slice(2),
  ];
  const pools = [
    servicePool({ namespace: "default", name: "a" }, "1.1.1.1/32"),
    servicePool({ namespace: "default", name: "dead" }, "2.2.2.2/32"),
    { ...servicePool({ namespace: "default", name: "dead" }, "3.3.3.3/32"), name: "default/a,default/dead" },
    { ...randomPool(5), name: "user-pool" },
  ];
  const r = garbageCollectConfig({ ...config([live, onlyDead, foreign, goneNode]), addressPools: pools }, {
    liveServices: new Set(["default/a"]),
    liveNodes: new Set(["n1"]),
  });
  assert.equal(r.changed, true);
  assert.deepEqual(r.config.peers?.map(names), [["default/a"], []]);
  assert.deepEqual(r.config.peers?.[1], foreign);
  assert.deepEqual(r.config.addressPools?.map((p) => p.name), ["default/a", "default/a", "user-pool"]);
  const again = garbageCollectConfig(r.config, {
    liveServices: new Set(["default/a"]),
    liveNodes: new Set(["n1"]),
  });
  assert.equal(again.changed, false);
});
