/**
 * The control-plane EIP against a real kube-apiserver and the simulated Metal API on loopback: three
 * control-plane Nodes whose "API servers" are HTTPS endpoints on 127.0.0.2–4 that the test switches between
 * healthy and failing, checked with the real health check (chain verified against ConfigMap
 * `kube-system/kube-root-ca.crt`).
 */
import assert from "node:assert/strict";
import type { JsonEvent } from "../provider/kube/json_types.ts";
import { EXTERNAL_SERVICE_NAME, EXTERNAL_SERVICE_NAMESPACE } from "../metal/control_plane/names.ts";
import { patchOptions } from "../provider/kube/patch.ts";
import { NODES, startScene } from "./control_plane_support.ts";
import { waitFor } from "./harness/mod.ts";

const PERIOD = 1000;
const [CP1, CP2, CP3] = NODES;

async function events(scene: { kube: import("../provider/kube/client.ts").KubeClients }, reason: string) {
  const list = await scene.kube.core.listEventForAllNamespaces({ fieldSelector: `reason=${reason}` });
  return list.items;
}

function describe(e: JsonEvent): string {
  return `${e.type} ${e.involvedObject.kind}/${e.involvedObject.name}`;
}

Deno.test("control-plane EIP follows the healthy control-plane nodes", async (t) => {
  await using scene = await startScene({ answers: { [CP1.address]: 500 } });
  const holder = (name: string, timeoutMs = 2 * PERIOD + 1000) =>
    waitFor(async () => (await scene.holders()).join(",") === name, { timeoutMs, message: `EIP on ${name}` });
  const leader = await scene.startController({});

  await t.step("the EIP lands on a healthy node (the oldest one that answers)", async () => {
    await holder(CP2.name, 10_000);
    const moved = await events(scene, "ControlPlaneEIPAssigned");
    assert.ok(moved.some((e) => e.involvedObject.kind === "Node" && e.involvedObject.name === CP2.name));
  });

  await t.step("the external Service and EndpointSlice mirror default/kubernetes, and only it", async () => {
    await scene.kube.discovery.createNamespacedEndpointSlice({
      namespace: "default",
      body: {
        metadata: { name: "web-x1", labels: { "kubernetes.io/service-name": "web" } },
        addressType: "IPv4",
        endpoints: [{ addresses: ["10.9.9.9"] }],
        ports: [{ name: "http", port: 8080, protocol: "TCP" }],
      },
    });
    const svc = await waitFor(async () => {
      const s = await scene.kube.core.readNamespacedService({
        namespace: EXTERNAL_SERVICE_NAMESPACE,
        name: EXTERNAL_SERVICE_NAME,
      });
      return s.status?.loadBalancer?.ingress?.length ? s : undefined;
    }, { message: "the external Service with its ingress" });
    const kubernetes = await scene.kube.core.readNamespacedService({
      namespace: "default",
      name: "kubernetes",
    });
    assert.equal(svc.spec?.type, "LoadBalancer");
    assert.equal(svc.spec?.loadBalancerIP, scene.eip);
    assert.deepEqual(svc.status?.loadBalancer?.ingress?.map((i) => i.ip), [scene.eip]);
    assert.equal(
      svc.metadata?.annotations?.["metallb.universe.tf/address-pool"],
      "disabled-metallb-do-not-use-any-address-pool",
    );
    assert.equal(svc.metadata?.annotations?.["kube-vip.io/ignore"], "true");
    assert.deepEqual(
      svc.spec?.ports?.map((p) => [p.name, p.port, p.protocol, p.targetPort]),
      kubernetes.spec?.ports?.map((p) => [p.name, p.port, p.protocol, p.targetPort]),
    );
    const managers = (svc.metadata?.managedFields ?? []).map((m) =>
      `${m.manager} ${m.operation} ${m.subresource ?? ""}`
    );
    assert.ok(managers.includes("cloud-provider-equinix-metal-auto Apply "), managers.join("; "));
    assert.ok(managers.includes("cloud-provider-equinix-metal-auto Apply status"), managers.join("; "));

    const source = await scene.kube.discovery.readNamespacedEndpointSlice({
      namespace: "default",
      name: "kubernetes",
    });
    const mirrored = await waitFor(() =>
      scene.kube.discovery.readNamespacedEndpointSlice({
        namespace: EXTERNAL_SERVICE_NAMESPACE,
        name: EXTERNAL_SERVICE_NAME,
      })
    );
    assert.equal(mirrored.metadata?.labels?.["kubernetes.io/service-name"], EXTERNAL_SERVICE_NAME);
    assert.equal(mirrored.addressType, source.addressType);
    assert.deepEqual(
      (mirrored.endpoints ?? []).map((e) => e.addresses),
      (source.endpoints ?? []).map((e) => e.addresses),
    );
    assert.deepEqual(
      mirrored.ports?.map((p) => [p.name, p.port]),
      source.ports?.map((p) => [p.name, p.port]),
    );
    await new Promise((resolve) => setTimeout(resolve, 2 * PERIOD));
    const after = await scene.kube.discovery.readNamespacedEndpointSlice({
      namespace: EXTERNAL_SERVICE_NAMESPACE,
      name: EXTERNAL_SERVICE_NAME,
    });
    assert.deepEqual(
      (after.endpoints ?? []).map((e) => e.addresses),
      (source.endpoints ?? []).map((e) => e.addresses),
      "web-x1 is not mirrored",
    );
    assert.equal(
      after.metadata?.resourceVersion,
      mirrored.metadata?.resourceVersion,
      "and nothing was rewritten",
    );
  });

  await t.step("a failing holder loses the EIP within two check periods", async () => {
    scene.servers.set(CP2.address, 500);
    const started = performance.now();
    await holder(CP3.name);
    const elapsed = performance.now() - started;
    assert.ok(elapsed <= 2 * PERIOD + 1000, `moved after ${Math.round(elapsed)} ms`);
    const moved = await events(scene, "ControlPlaneEIPMoved");
    assert.ok(
      moved.some((e) =>
        e.message?.includes(`from ${CP2.name} to node ${CP3.name}: node ${CP2.name} failed 2`)
      ),
    );
    scene.servers.set(CP1.address, 200);
    scene.servers.set(CP2.address, 200);
  });

  await t.step("cordoning the holder moves the EIP", async () => {
    await scene.kube.core.patchNode(
      { name: CP3.name, body: { spec: { unschedulable: true } } },
      patchOptions("merge"),
    );
    await holder(CP1.name);
  });

  await t.step("deleting the holder moves the EIP", async () => {
    await scene.kube.core.deleteNode({ name: CP1.name });
    await holder(CP2.name);
    const moved = await events(scene, "ControlPlaneEIPMoved");
    assert.ok(moved.some((e) => e.message?.includes("holding it is not a control-plane node")));
  });

  await t.step("with every node unhealthy the EIP stays and a Warning Event says why", async () => {
    for (const n of NODES) scene.servers.set(n.address, 503);
    const warning = await waitFor(async () => (await events(scene, "ControlPlaneEIPUnhealthy"))[0], {
      timeoutMs: 3 * PERIOD + 2000,
      message: "the ControlPlaneEIPUnhealthy Event",
    });
    assert.match(describe(warning), /^Warning (Service|Node)\//);
    assert.match(
      warning.message ?? "",
      /stays on node cp-2: node cp-2 failed \d+ consecutive health checks \(HTTP 503 from https:\/\/127\.0\.0\.3:\d+\/healthz\), but no healthy control-plane node can take it \(cp-3: HTTP 503/,
    );
    await new Promise((resolve) => setTimeout(resolve, 2 * PERIOD));
    assert.deepEqual(await scene.holders(), [CP2.name]);
    for (const n of NODES) scene.servers.set(n.address, 200);
  });

  await t.step("a new leader adopts the current holder instead of moving the EIP", async () => {
    await leader.stop();
    const movesBefore = (await events(scene, "ControlPlaneEIPMoved")).length;
    // cp-3 (cordoned) and cp-2 are left; cp-2 holds the EIP, healthy again. Restart cp-3 as schedulable and
    // older candidates would not matter either: the holder is healthy.
    await scene.kube.core.patchNode(
      { name: CP3.name, body: { spec: { unschedulable: false } } },
      patchOptions("merge"),
    );
    const next = await scene.startController({});
    await new Promise((resolve) => setTimeout(resolve, 3 * PERIOD));
    assert.deepEqual(await scene.holders(), [CP2.name]);
    assert.equal((await events(scene, "ControlPlaneEIPMoved")).length, movesBefore);
    await next.stop();
  });
});
