/**
 * MetalLB ConfigMap mode against a real kube-apiserver: two Services, exact pools and peers in the `config`
 * YAML, no-op saves, node removal, garbage collection, removal one by one, and a missing ConfigMap.
 */
import assert from "node:assert/strict";
import type { V1Node, V1Service } from "@kubernetes/client-node";
import { Registry } from "prom-client";
import { RecordingRecorder } from "../provider/testing/recording_recorder.ts";
import type { BgpNodePeer } from "../metal/bgp/peer.ts";
import { emptyConfigFile, parseConfigFile, type Peer } from "../metal/loadbalancers/metallb/config_file.ts";
import {
  createMetalLBConfigMapImplementation,
  MetalLBConfigMapImplementation,
} from "../metal/loadbalancers/metallb/configmap.ts";
import { createService, ensureNamespace, startTestCluster } from "./harness/mod.ts";

const NS = "metallb-system";
const CM = "config";

const USER_CONFIG = `peers:
- peer-address: 192.0.2.254
  peer-asn: 64512
  my-asn: 64513
address-pools:
- name: user-pool
  protocol: layer2
  addresses: [198.51.100.0/28]
experimental-key: kept
`;

function bgp(name: string, ips: string[]): BgpNodePeer {
  return {
    nodeName: name,
    sourceIP: `10.65.0.${name.at(-1)}`,
    localASN: 65000,
    peerASN: 65530,
    peerIPs: ips,
    password: "s3cret",
  };
}

const nodeObj = (name: string): V1Node => ({ metadata: { name } });

function peer(node: BgpNodePeer, ip: string, services: Array<[string, string]>): Peer {
  return {
    myASN: 65000,
    peerASN: 65530,
    peerAddress: ip,
    peerPort: 0,
    sourceAddress: node.sourceIP,
    holdTime: "",
    routerID: "",
    nodeSelectors: [
      { matchLabels: { "kubernetes.io/hostname": node.nodeName }, matchExpressions: null },
      ...services.map(([namespace, name]) => ({
        matchLabels: {
          "nomatch.metal.equinix.com/service-name": name,
          "nomatch.metal.equinix.com/service-namespace": namespace,
        },
        matchExpressions: null,
      })),
    ],
    password: "s3cret",
    name: "",
  };
}

const pool = (name: string, address: string) => ({
  protocol: "bgp",
  name,
  addresses: [address],
  avoidBuggyIPs: false,
  autoAssign: false,
  bgpAdvertisements: null,
});

Deno.test("MetalLB ConfigMap mode against a real API server", async (t) => {
  await using cluster = await startTestCluster();
  const kube = cluster.clients;
  await ensureNamespace(kube, NS);
  await kube.core.createNamespacedConfigMap({
    namespace: NS,
    body: { metadata: { name: CM, namespace: NS }, data: { config: USER_CONFIG } },
  });
  const recorder = new RecordingRecorder();
  const metrics = new Registry();
  // ccm's RBAC grants list and watch on Services, not get.
  const noServiceGet = new Proxy(kube.core, {
    get(target, prop) {
      if (prop === "readNamespacedService") {
        return () => Promise.reject(new Error("services is forbidden: ccm may not get Services"));
      }
      const value = Reflect.get(target, prop);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  const impl = new MetalLBConfigMapImplementation({
    kube: { ...kube, core: noServiceGet },
    namespace: NS,
    configMapName: CM,
    recorder,
    metrics,
    poolReleasePollMs: 50,
    poolReleaseTimeoutMs: 10_000,
  });
  const web = await createService(kube, { name: "web" });
  const api = await createService(kube, { name: "api", namespace: "default" });
  const n1 = bgp("n1", ["169.254.255.1", "169.254.255.2"]);
  const n2 = bgp("n2", ["169.254.255.1", "169.254.255.2"]);
  const both = [nodeObj("n1"), nodeObj("n2")];
  const read = async () => {
    const cm = await kube.core.readNamespacedConfigMap({ name: CM, namespace: NS });
    return {
      cfg: parseConfigFile(cm.data?.config ?? ""),
      text: cm.data?.config ?? "",
      rv: cm.metadata?.resourceVersion,
    };
  };
  const user = parseConfigFile(USER_CONFIG);
  const add = (service: V1Service, ipCidr: string, peers = [n1, n2], nodes = both) =>
    impl.addService({ service, ipCidr, peers, nodes, loadBalancerName: "lb" });

  await t.step("two services: pools and one peer per node × router with both services", async () => {
    await add(web, "147.75.0.1/32");
    await add(api, "147.75.0.2/32");
    const { cfg, text } = await read();
    assert.deepEqual(cfg.addressPools, [
      ...(user.addressPools ?? []),
      pool("default/web", "147.75.0.1/32"),
      pool("default/api", "147.75.0.2/32"),
    ]);
    const svcs: Array<[string, string]> = [["default", "api"], ["default", "web"]];
    assert.deepEqual(cfg.peers, [
      ...(user.peers ?? []),
      peer(n1, "169.254.255.1", svcs),
      peer(n1, "169.254.255.2", svcs),
      peer(n2, "169.254.255.1", svcs),
      peer(n2, "169.254.255.2", svcs),
    ]);
    assert.deepEqual(cfg.extra, { "experimental-key": "kept" });
    assert.match(text, /^address-pools:\n- addresses:\n {2}- 198\.51\.100\.0\/28\n {2}auto-assign: null\n/);
  });

  await t.step("re-adding changes nothing and writes nothing", async () => {
    const before = await read();
    await add(web, "147.75.0.1/32");
    await impl.updateService({
      service: api,
      ipCidr: "",
      peers: [n1, n2],
      nodes: both,
      loadBalancerName: "lb",
    });
    assert.equal((await read()).rv, before.rv);
  });

  await t.step("node removal removes the node's peers (upstream kept them)", async () => {
    for (const service of [web, api]) {
      await impl.updateService({
        service,
        ipCidr: "",
        peers: [n1],
        nodes: [nodeObj("n1")],
        loadBalancerName: "lb",
      });
    }
    const { cfg } = await read();
    assert.deepEqual(cfg.peers?.slice(1).map((p) => p.nodeSelectors?.[0]?.matchLabels), [
      { "kubernetes.io/hostname": "n1" },
      { "kubernetes.io/hostname": "n1" },
    ]);
  });

  await t.step("garbage collection removes peers of gone nodes and dead services", async () => {
    await impl.updateService({
      service: web,
      ipCidr: "",
      peers: [n1, n2],
      nodes: both,
      loadBalancerName: "lb",
    });
    assert.equal((await read()).cfg.peers?.length, 5);
    await impl.garbageCollect?.({ services: [web, api], nodes: [nodeObj("n1")] });
    assert.equal((await read()).cfg.peers?.length, 3);
  });

  await t.step(
    "removing a Service that still exists: its selectors go at once, its pool once the Service is gone",
    async () => {
      // MetalLB 0.12 keeps the address assigned while the (deleted, finalizer-held) Service exists and
      // refuses any configuration without a pool for it.
      await impl.removeService({ service: web, ipCidr: "147.75.0.1/32" });
      const kept = (await read()).cfg;
      assert.deepEqual(kept.addressPools, [
        ...(user.addressPools ?? []),
        pool("default/web", "147.75.0.1/32"),
        pool("default/api", "147.75.0.2/32"),
      ]);
      assert.deepEqual(kept.peers, [
        ...(user.peers ?? []),
        peer(n1, "169.254.255.1", [["default", "api"]]),
        peer(n1, "169.254.255.2", [["default", "api"]]),
      ]);
      await new Promise((r) => setTimeout(r, 300));
      assert.equal((await read()).cfg.addressPools?.length, 3, "kept while the Service exists");
      await kube.core.deleteNamespacedService({ name: "web", namespace: "default" });
      await impl.poolRemovalsSettled();
      const { cfg } = await read();
      assert.deepEqual(cfg.addressPools, [
        ...(user.addressPools ?? []),
        pool("default/api", "147.75.0.2/32"),
      ]);
      assert.deepEqual(cfg.peers, kept.peers);
    },
  );

  await t.step("removing a Service that is gone cleans everything we made at once", async () => {
    await kube.core.deleteNamespacedService({ name: "api", namespace: "default" });
    await impl.removeService({ service: api, ipCidr: "147.75.0.2/32" });
    const { cfg } = await read();
    assert.deepEqual(cfg, { ...emptyConfigFile(), ...user });
  });

  await t.step("a missing ConfigMap is a clear error and a Warning Event; removal tolerates it", async () => {
    await kube.core.deleteNamespacedConfigMap({ name: CM, namespace: NS });
    await assert.rejects(
      add(web, "147.75.0.1/32"),
      /MetalLB ConfigMap "metallb-system\/config" not found; create it/,
    );
    assert.deepEqual(recorder.reasons("default/web"), ["MetalLBConfigMapMissing"]);
    assert.doesNotMatch(recorder.events[0]?.message ?? "", /s3cret/);
    await impl.removeService({ service: web, ipCidr: "147.75.0.1/32" });
  });

  await t.step("an invalid config is reported and left untouched", async () => {
    await kube.core.createNamespacedConfigMap({
      namespace: NS,
      body: { metadata: { name: CM, namespace: NS }, data: { config: "peers: {bad: 1}\n" } },
    });
    await assert.rejects(add(api, "147.75.0.2/32"), /key "config" is invalid: peers must be a list/);
    const cm = await kube.core.readNamespacedConfigMap({ name: CM, namespace: NS });
    assert.equal(cm.data?.config, "peers: {bad: 1}\n");
    assert.deepEqual(recorder.reasons("default/api"), ["MetalLBConfigInvalid"]);
  });

  await t.step("a concurrent edit between our read and write is re-read, not overwritten", async () => {
    await kube.core.replaceNamespacedConfigMap({
      name: CM,
      namespace: NS,
      body: { metadata: { name: CM, namespace: NS }, data: { config: USER_CONFIG } },
    });
    let interfered = false;
    const core = new Proxy(kube.core, {
      get(target, prop) {
        const value = Reflect.get(target, prop);
        if (prop !== "patchNamespacedConfigMap" || interfered) return value.bind(target);
        return async (...args: Parameters<typeof target.patchNamespacedConfigMap>) => {
          interfered = true;
          const edited = `${
            USER_CONFIG.replace("experimental-key: kept", "")
          }- name: edited\n  protocol: layer2\n`;
          await target.replaceNamespacedConfigMap({
            name: CM,
            namespace: NS,
            body: { metadata: { name: CM, namespace: NS }, data: { config: edited } },
          });
          return await target.patchNamespacedConfigMap(...args);
        };
      },
    });
    const racing = createMetalLBConfigMapImplementation({
      kube: { ...kube, core },
      namespace: NS,
      configMapName: CM,
    });
    await racing.addService({
      service: web,
      ipCidr: "147.75.0.1/32",
      peers: [n1],
      nodes: both,
      loadBalancerName: "lb",
    });
    assert.equal(interfered, true);
    const { cfg } = await read();
    assert.deepEqual(cfg.addressPools?.map((p) => p.name), ["user-pool", "edited", "default/web"]);
    assert.equal(cfg.peers?.length, 3);
  });
});
