/**
 * MetalLB CR mode against a real kube-apiserver with MetalLB's own CRDs: exact objects for two
 * Services, removal one by one, node removal, spec-drift repair, garbage collection, the BGP password Secret
 * option and missing CRDs.
 */
import assert from "node:assert/strict";
import type { V1Node, V1Service } from "@kubernetes/client-node";
import type { KubeClients } from "../provider/kube/client.ts";
import { patchOptions } from "../provider/kube/patch.ts";
import { RecordingRecorder } from "../provider/testing/recording_recorder.ts";
import type { BgpNodePeer } from "../metal/bgp/peer.ts";
import { createMetalLBCRImplementation } from "../metal/loadbalancers/metallb/cr.ts";
import { applyCRDs, createService, ensureNamespace, startTestCluster, waitFor } from "./harness/mod.ts";
import { metalLbCrds } from "./metallb_real.ts";

const NS = "metallb-system";
const OWNED = { "cloud-provider": "equinix-metal" };
/** What MetalLB's BGPAdvertisement schema defaults. */
const ADV_DEFAULTS = { aggregationLength: 32, aggregationLengthV6: 128 };
/** MetalLB's own CRDs (test/install_metallb.sh). */
const CRDS = await metalLbCrds();

function bgp(name: string, ips: string[], password = "s3cret"): BgpNodePeer {
  return {
    nodeName: name,
    sourceIP: `10.65.0.${name.at(-1)}`,
    localASN: 65000,
    peerASN: 65530,
    peerIPs: ips,
    password,
  };
}
const nodeObj = (name: string): V1Node => ({ metadata: { name } });
const svcSelector = (namespace: string, name: string) => ({
  matchLabels: {
    "nomatch.metal.equinix.com/service-namespace": namespace,
    "nomatch.metal.equinix.com/service-name": name,
  },
});

interface Obj {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string>; resourceVersion?: string };
  // deno-lint-ignore no-explicit-any
  spec: any;
}

async function list(kube: KubeClients, plural: string, version = "v1beta1"): Promise<Obj[]> {
  const body = await kube.custom.listNamespacedCustomObject({
    group: "metallb.io",
    version,
    namespace: NS,
    plural,
  });
  return (body as { items: Obj[] }).items.sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
}

/** Objects without server-set metadata, for exact comparison. */
function shape(objs: Obj[]) {
  return objs.map((o) => ({ name: o.metadata.name, labels: o.metadata.labels, spec: o.spec }));
}

function expectedPeer(node: BgpNodePeer, i: number, services: Array<[string, string]>) {
  return {
    name: `${node.nodeName}-${i}`,
    labels: OWNED,
    spec: {
      myASN: 65000,
      peerASN: 65530,
      peerAddress: node.peerIPs[i],
      sourceAddress: node.sourceIP,
      peerPort: 179,
      holdTime: "0s",
      keepaliveTime: "0s",
      nodeSelectors: [
        { matchLabels: { "kubernetes.io/hostname": node.nodeName } },
        ...services.map(([ns, n]) => svcSelector(ns, n)),
      ],
      password: "s3cret",
    },
  };
}

Deno.test("MetalLB CR mode against a real API server", async (t) => {
  await using cluster = await startTestCluster();
  const kube = cluster.clients;
  await applyCRDs(kube, CRDS);
  await ensureNamespace(kube, NS);
  // Established CRDs may still answer 429 "storage is (re)initializing" for a moment.
  await waitFor(async () => {
    for (const plural of ["ipaddresspools", "bgpadvertisements", "bgppeers"]) await list(kube, plural);
    await list(kube, "bgppeers", "v1beta2");
    return true;
  }, { message: "MetalLB CRDs to serve requests" });
  await ensureNamespace(kube, "prod");
  const recorder = new RecordingRecorder();
  const impl = createMetalLBCRImplementation({ kube, namespace: NS, recorder });
  const web = await createService(kube, { name: "web" });
  const api = await createService(kube, { name: "api", namespace: "prod" });
  const n1 = bgp("n1", ["169.254.255.1", "169.254.255.2"]);
  const n2 = bgp("n2", ["169.254.255.1", "169.254.255.2"]);
  const both = [nodeObj("n1"), nodeObj("n2")];
  const ensure = (service: V1Service, ipCidr: string, peers = [n1, n2], nodes = both) =>
    impl.updateService({ service, ipCidr, peers, nodes, loadBalancerName: "lb" });

  await t.step(
    "two services: pools, advertisement and peers exactly as upstream (with selectors)",
    async () => {
      await impl.addService({
        service: web,
        ipCidr: "147.75.0.1/32",
        peers: [n1, n2],
        nodes: both,
        loadBalancerName: "lb",
      });
      await impl.addService({
        service: api,
        ipCidr: "147.75.0.2/32",
        peers: [n1, n2],
        nodes: both,
        loadBalancerName: "lb",
      });
      assert.deepEqual(shape(await list(kube, "ipaddresspools")), [
        {
          name: "default.web",
          labels: { ...OWNED, "service-web": "namespace-default" },
          spec: { addresses: ["147.75.0.1/32"], autoAssign: false, avoidBuggyIPs: false },
        },
        {
          name: "prod.api",
          labels: { ...OWNED, "service-api": "namespace-prod" },
          spec: { addresses: ["147.75.0.2/32"], autoAssign: false, avoidBuggyIPs: false },
        },
      ]);
      assert.deepEqual(shape(await list(kube, "bgpadvertisements")), [
        {
          name: "equinix-metal-bgp-adv",
          labels: OWNED,
          spec: { ...ADV_DEFAULTS, ipAddressPools: ["default.web", "prod.api"] },
        },
      ]);
      const svcs: Array<[string, string]> = [["default", "web"], ["prod", "api"]];
      assert.deepEqual(shape(await list(kube, "bgppeers")), [
        expectedPeer(n1, 0, svcs),
        expectedPeer(n1, 1, svcs),
        expectedPeer(n2, 0, svcs),
        expectedPeer(n2, 1, svcs),
      ]);
    },
  );

  await t.step("re-running writes nothing", async () => {
    const before = (await list(kube, "bgppeers")).map((o) => o.metadata.resourceVersion);
    await ensure(web, "147.75.0.1/32");
    await ensure(api, "147.75.0.2/32");
    assert.deepEqual((await list(kube, "bgppeers")).map((o) => o.metadata.resourceVersion), before);
  });

  await t.step("spec drift is repaired and every service selector kept (upstream wiped them)", async () => {
    await kube.custom.patchNamespacedCustomObject({
      group: "metallb.io",
      version: "v1beta1",
      namespace: NS,
      plural: "bgppeers",
      name: "n1-0",
      body: { spec: { peerASN: 1, holdTime: "90s" } },
    }, patchOptions("merge"));
    await ensure(web, "147.75.0.1/32");
    const peer = (await list(kube, "bgppeers")).find((p) => p.metadata.name === "n1-0");
    assert.deepEqual(peer?.spec, expectedPeer(n1, 0, [["default", "web"], ["prod", "api"]]).spec);
  });

  await t.step("node removal deletes the node's peers once no service uses them", async () => {
    await ensure(web, "147.75.0.1/32", [n1], [nodeObj("n1")]);
    const afterWeb = shape(await list(kube, "bgppeers"));
    assert.deepEqual(afterWeb.map((p) => [p.name, p.spec.nodeSelectors.length]), [
      ["n1-0", 3],
      ["n1-1", 3],
      ["n2-0", 2],
      ["n2-1", 2],
    ]);
    await ensure(api, "147.75.0.2/32", [n1], [nodeObj("n1")]);
    assert.deepEqual((await list(kube, "bgppeers")).map((p) => p.metadata.name), ["n1-0", "n1-1"]);
  });

  await t.step("removing one service removes only its objects", async () => {
    await impl.removeService({ service: web, ipCidr: "147.75.0.1/32" });
    assert.deepEqual((await list(kube, "ipaddresspools")).map((p) => p.metadata.name), ["prod.api"]);
    assert.deepEqual((await list(kube, "bgpadvertisements"))[0]?.spec, {
      ...ADV_DEFAULTS,
      ipAddressPools: ["prod.api"],
    });
    assert.deepEqual(shape(await list(kube, "bgppeers")), [
      expectedPeer(n1, 0, [["prod", "api"]]),
      expectedPeer(n1, 1, [["prod", "api"]]),
    ]);
  });

  await t.step("garbage collection removes objects of services that are gone", async () => {
    await ensure(web, "147.75.0.1/32", [n1], [nodeObj("n1")]);
    await impl.garbageCollect?.({ services: [api], nodes: [nodeObj("n1")] });
    assert.deepEqual((await list(kube, "ipaddresspools")).map((p) => p.metadata.name), ["prod.api"]);
    assert.deepEqual((await list(kube, "bgpadvertisements"))[0]?.spec, {
      ...ADV_DEFAULTS,
      ipAddressPools: ["prod.api"],
    });
    assert.deepEqual(shape(await list(kube, "bgppeers")), [
      expectedPeer(n1, 0, [["prod", "api"]]),
      expectedPeer(n1, 1, [["prod", "api"]]),
    ]);
  });

  await t.step("removing the second service cleans everything", async () => {
    await impl.removeService({ service: api, ipCidr: "147.75.0.2/32" });
    for (const plural of ["ipaddresspools", "bgpadvertisements", "bgppeers"]) {
      assert.deepEqual(await list(kube, plural), [], plural);
    }
  });

  await t.step(
    "a Service with a 63-character name gets its pool (named by the pool's name, no over-long label)",
    async () => {
      const name = `l${"o".repeat(61)}g`; // the longest valid Service name; `service-<name>` would be 71
      const long = await createService(kube, { name });
      await ensure(long, "147.75.0.3/32", [n1], [nodeObj("n1")]);
      assert.deepEqual(shape(await list(kube, "ipaddresspools")), [{
        name: `default.${name}`,
        labels: OWNED,
        spec: { addresses: ["147.75.0.3/32"], autoAssign: false, avoidBuggyIPs: false },
      }]);
      await impl.garbageCollect?.({ services: [long], nodes: [nodeObj("n1")] });
      assert.equal((await list(kube, "ipaddresspools")).length, 1, "garbage collection keeps a live one");
      await impl.garbageCollect?.({ services: [], nodes: [nodeObj("n1")] });
      assert.deepEqual(await list(kube, "ipaddresspools"), [], "and removes it once the Service is gone");
      await ensure(long, "147.75.0.3/32", [n1], [nodeObj("n1")]);
      await impl.removeService({ service: long, ipCidr: "147.75.0.3/32" });
      for (const plural of ["ipaddresspools", "bgpadvertisements", "bgppeers"]) {
        assert.deepEqual(await list(kube, plural), [], plural);
      }
    },
  );

  await t.step(
    "password Secret option: peers reference a basic-auth Secret, no inline password",
    async () => {
      const secretImpl = createMetalLBCRImplementation({
        kube,
        namespace: NS,
        passwordSecretName: "bgp-password",
      });
      await secretImpl.addService({
        service: web,
        ipCidr: "147.75.0.1/32",
        peers: [n1],
        nodes: both,
        loadBalancerName: "lb",
      });
      const secret = await kube.core.readNamespacedSecret({ name: "bgp-password", namespace: NS });
      assert.equal(secret.type, "kubernetes.io/basic-auth");
      assert.deepEqual(secret.metadata?.labels, OWNED);
      assert.equal(atob(secret.data?.password ?? ""), "s3cret");
      const peers = await list(kube, "bgppeers", "v1beta2");
      assert.equal(peers.length, 2);
      for (const p of peers) {
        assert.equal(p.apiVersion, "metallb.io/v1beta2");
        assert.equal(p.spec.password, undefined);
        assert.deepEqual(p.spec.passwordSecret, { name: "bgp-password", namespace: NS });
      }
      // The default instance in the same process still writes inline passwords (settings are per instance).
      await impl.addService({
        service: api,
        ipCidr: "147.75.0.2/32",
        peers: [n2],
        nodes: both,
        loadBalancerName: "lb",
      });
      const inline = (await list(kube, "bgppeers")).filter((p) => p.metadata.name.startsWith("n2-"));
      assert.deepEqual(inline.map((p) => p.spec.password), ["s3cret", "s3cret"]);
      await impl.removeService({ service: api, ipCidr: "147.75.0.2/32" });
      await secretImpl.removeService({ service: web, ipCidr: "147.75.0.1/32" });
      assert.deepEqual(await list(kube, "bgppeers"), []);
      await assert.rejects(
        kube.core.readNamespacedSecret({ name: "bgp-password", namespace: NS }),
        /404|not found/i,
      );
    },
  );

  await t.step("password Secret option refuses peers with different passwords", async () => {
    const secretImpl = createMetalLBCRImplementation({
      kube,
      namespace: NS,
      passwordSecretName: "bgp-password",
      recorder,
    });
    await assert.rejects(
      secretImpl.addService({
        service: web,
        ipCidr: "147.75.0.1/32",
        peers: [n1, bgp("n2", ["169.254.255.1"], "other")],
        nodes: both,
        loadBalancerName: "lb",
      }),
      /2 different passwords/,
    );
    assert.ok(recorder.reasons("default/web").includes("BGPPasswordsDiffer"));
    assert.doesNotMatch(recorder.events.map((e) => e.message).join("\n"), /s3cret|other/);
    await secretImpl.removeService({ service: web, ipCidr: "147.75.0.1/32" });
  });

  await t.step("missing CRDs are a clear error and a Warning Event", async () => {
    await kube.custom.deleteClusterCustomObject({
      group: "apiextensions.k8s.io",
      version: "v1",
      plural: "customresourcedefinitions",
      name: "ipaddresspools.metallb.io",
    });
    await waitFor(async () => {
      try {
        await list(kube, "ipaddresspools");
        return false;
      } catch {
        return true;
      }
    }, { message: "ipaddresspools to disappear" });
    await assert.rejects(
      impl.addService({
        service: web,
        ipCidr: "147.75.0.1/32",
        peers: [n1],
        nodes: both,
        loadBalancerName: "lb",
      }),
      /ipaddresspools\.metallb\.io\/v1beta1 is not installed; install MetalLB/,
    );
    assert.ok(recorder.reasons("default/web").includes("MetalLBCRDsMissing"));
  });
});
