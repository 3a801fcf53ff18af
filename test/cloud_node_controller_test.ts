/**
 * The cloud node controller against a real kube-apiserver: node initialization and address refresh.
 */
import assert from "node:assert/strict";
import type { V1Node } from "@kubernetes/client-node";
import { createNode, startTestCluster, UNINITIALIZED_TAINT, waitFor } from "./harness/mod.ts";
import { eventsFor, startInProcessCcm } from "./ccm_in_process.ts";

const ext = (address: string) => ({ type: "ExternalIP", address });
const int = (address: string) => ({ type: "InternalIP", address });
/** Plain JSON (the client returns class instances). */
const plain = (value: unknown) => JSON.parse(JSON.stringify(value));

Deno.test("cloud-node-controller initializes a tainted node: providerID, labels, addresses, taint removed, Synced", async () => {
  await using cluster = await startTestCluster();
  await using ccm = startInProcessCcm(cluster);
  ccm.provider.setInstance("node-a", {
    instanceType: "c3.small.x86",
    region: "da",
    zone: "da11",
    addresses: [int("10.0.0.1"), int("10.0.0.2"), ext("147.75.0.1")],
    additionalLabels: { "example.com/rack": "r1" },
  });
  await createNode(cluster.clients, "node-a", {
    taints: [UNINITIALIZED_TAINT, { key: "dedicated", value: "db", effect: "NoSchedule" }],
    annotations: { "alpha.kubernetes.io/provided-node-ip": "10.0.0.2" },
    addresses: [{ type: "Hostname", address: "node-a" }],
  });
  const node = await waitFor(async () => {
    const n = await cluster.clients.core.readNode({ name: "node-a" });
    return n.spec?.taints?.some((t) => t.key === UNINITIALIZED_TAINT.key) ? undefined : n;
  }, { message: "node-a initialized" });

  assert.equal(node.spec?.providerID, "fake://node-a");
  // The API server's TaintNodesByCondition admission adds not-ready; ours is gone, others kept.
  assert.deepEqual(node.spec?.taints?.map((t) => t.key).filter((k) => k !== "node.kubernetes.io/not-ready"), [
    "dedicated",
  ]);
  const labels = node.metadata?.labels ?? {};
  for (
    const [key, value] of Object.entries({
      "node.kubernetes.io/instance-type": "c3.small.x86",
      "beta.kubernetes.io/instance-type": "c3.small.x86",
      "topology.kubernetes.io/region": "da",
      "failure-domain.beta.kubernetes.io/region": "da",
      "topology.kubernetes.io/zone": "da11",
      "failure-domain.beta.kubernetes.io/zone": "da11",
      "example.com/rack": "r1",
    })
  ) assert.equal(labels[key], value, key);
  // Provided IP first, other InternalIPs dropped, kubelet Hostname kept.
  assert.deepEqual(plain(node.status?.addresses), [int("10.0.0.2"), ext("147.75.0.1"), {
    type: "Hostname",
    address: "node-a",
  }]);
  const events = await waitFor(async () => {
    const list = await eventsFor(cluster, "Node", "node-a");
    return list.length > 0 ? list : undefined;
  }, { message: "Synced Event" });
  assert.equal(events[0]?.reason, "Synced");
  assert.equal(events[0]?.message, "Node synced successfully");
  assert.equal(events[0]?.source?.component, "cloud-node-controller");
});

Deno.test("cloud-node-controller refreshes addresses every period and writes only changes", async () => {
  await using cluster = await startTestCluster({ audit: true });
  await using ccm = startInProcessCcm(cluster, { args: ["--node-status-update-frequency=1s"] });
  ccm.provider.setInstance("node-b", { addresses: [int("10.0.0.5")] });
  await createNode(cluster.clients, "node-b", { taints: [UNINITIALIZED_TAINT] });
  await waitFor(async () => (await cluster.clients.core.readNode({ name: "node-b" })).spec?.providerID, {
    message: "node-b initialized",
  });
  const statusPatches = async () =>
    (await cluster.auditEvents()).filter((e) =>
      e.verb === "patch" && e.objectRef?.subresource === "status" && e.objectRef?.name === "node-b" &&
      e.userAgent?.startsWith("ccm/")
    ).length;
  const before = await statusPatches();
  await new Promise((r) => setTimeout(r, 2_500)); // two refresh periods, nothing changed
  assert.equal(await statusPatches(), before, "unchanged addresses are not written");

  ccm.provider.setInstance("node-b", { addresses: [int("10.0.0.6"), ext("147.75.0.6")] });
  const node: V1Node = await waitFor(async () => {
    const n = await cluster.clients.core.readNode({ name: "node-b" });
    return n.status?.addresses?.[0]?.address === "10.0.0.6" ? n : undefined;
  }, { message: "node-b addresses refreshed" });
  assert.deepEqual(plain(node.status?.addresses), [int("10.0.0.6"), ext("147.75.0.6")]);
});

Deno.test("cloud-node-controller leaves nodes of other providers alone", async () => {
  await using cluster = await startTestCluster();
  await using ccm = startInProcessCcm(cluster);
  await createNode(cluster.clients, "foreign", {
    taints: [UNINITIALIZED_TAINT],
    providerID: "aws:///us-east-1a/i-1",
  });
  // The instance exists before the node does: the lifecycle controller may check the node at once.
  ccm.provider.setInstance("ours", {});
  await createNode(cluster.clients, "ours", { taints: [UNINITIALIZED_TAINT] });
  await waitFor(async () => (await cluster.clients.core.readNode({ name: "ours" })).spec?.providerID, {
    message: "our node initialized",
  });
  const foreign = await cluster.clients.core.readNode({ name: "foreign" });
  assert.ok(
    foreign.spec?.taints?.some((t) => t.key === UNINITIALIZED_TAINT.key),
    "foreign node keeps its taint",
  );
  assert.deepEqual(await eventsFor(cluster, "Node", "foreign"), []);
});
