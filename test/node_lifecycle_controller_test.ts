/**
 * The cloud node lifecycle controller against a real kube-apiserver: deletion of nodes whose instance is
 * gone, no deletion on provider errors, and the shutdown taint.
 */
import assert from "node:assert/strict";
import type { V1Node, V1Taint } from "@kubernetes/client-node";
import { createNode, setNodeReady, startTestCluster, waitFor } from "./harness/mod.ts";
import { eventsFor, startInProcessCcm } from "./ccm_in_process.ts";

const ARGS = ["--node-monitor-period=1s", "--controllers=cloud-node-lifecycle"];
const SHUTDOWN_TAINT = "node.cloudprovider.kubernetes.io/shutdown";

/** Taints other than the not-ready/unreachable ones the API server's admission adds from node conditions. */
function withoutAdmissionTaints(node: V1Node): V1Taint[] {
  return (node.spec?.taints ?? []).filter((t) => !t.key.startsWith("node.kubernetes.io/"));
}

async function nodeExists(
  cluster: Awaited<ReturnType<typeof startTestCluster>>,
  name: string,
): Promise<boolean> {
  const list = await cluster.clients.core.listNode({ fieldSelector: `metadata.name=${name}` });
  return list.items.length > 0;
}

Deno.test("cloud-node-lifecycle-controller deletes a NotReady node whose instance is gone, Event first", async () => {
  await using cluster = await startTestCluster();
  await using ccm = startInProcessCcm(cluster, { args: ARGS });
  ccm.provider.setInstance("alive", {});
  await createNode(cluster.clients, "alive", { providerID: "fake://alive", ready: false });
  await createNode(cluster.clients, "gone", { providerID: "fake://gone", ready: false });
  await createNode(cluster.clients, "gone-but-ready", { providerID: "fake://gone-but-ready", ready: true });
  await waitFor(async () => !(await nodeExists(cluster, "gone")), { message: "node 'gone' deleted" });
  const events = await eventsFor(cluster, "Node", "gone");
  assert.deepEqual(events.map((e) => [e.type, e.reason, e.message]), [[
    "Normal",
    "DeletingNode",
    "Deleting node gone because it does not exist in the cloud provider",
  ]]);
  await new Promise((r) => setTimeout(r, 1_500));
  assert.equal(await nodeExists(cluster, "alive"), true);
  assert.equal(
    await nodeExists(cluster, "gone-but-ready"),
    true,
    "Ready nodes are never checked for deletion",
  );
});

Deno.test("cloud-node-lifecycle-controller keeps a node when the provider errors, and says why", async () => {
  await using cluster = await startTestCluster();
  await using ccm = startInProcessCcm(cluster, { args: ARGS });
  ccm.provider.fail("instanceExists", new Error("Metal API returned 503 Service Unavailable"));
  await createNode(cluster.clients, "n1", { providerID: "fake://n1", ready: false });
  const events = await waitFor(async () => {
    const list = await eventsFor(cluster, "Node", "n1");
    return list.length > 0 ? list : undefined;
  }, { message: "Warning Event" });
  // Checked every period: wait for two more checks after the one that warned.
  await waitFor(() => ccm.provider.callsOf("instanceExists").length >= 3, { message: "three checks" });
  assert.equal(await nodeExists(cluster, "n1"), true);
  const all = await eventsFor(cluster, "Node", "n1");
  assert.equal(all.length, 1, "warned once, not every period");
  assert.equal(events[0]?.type, "Warning");
  assert.equal(events[0]?.reason, "InstanceCheckFailed");
  assert.match(events[0]?.message ?? "", /Metal API returned 503 Service Unavailable/);
  assert.equal(all[0]?.count, 1);
});

Deno.test("cloud-node-lifecycle-controller taints a shut-down node and removes the taint once Ready", async () => {
  await using cluster = await startTestCluster();
  await using ccm = startInProcessCcm(cluster, { args: ARGS });
  ccm.provider.setInstance("n1", { shutdown: true });
  await createNode(cluster.clients, "n1", {
    providerID: "fake://n1",
    ready: false,
    taints: [{ key: "dedicated", value: "db", effect: "NoSchedule" }],
  });
  const tainted = await waitFor(async () => {
    const n = await cluster.clients.core.readNode({ name: "n1" });
    return n.spec?.taints?.some((t) => t.key === SHUTDOWN_TAINT) ? n : undefined;
  }, { message: "shutdown taint" });
  assert.deepEqual(withoutAdmissionTaints(tainted).map((t) => [t.key, t.effect]), [
    ["dedicated", "NoSchedule"],
    [SHUTDOWN_TAINT, "NoSchedule"],
  ]);
  ccm.provider.setInstance("n1", { shutdown: false });
  await setNodeReady(cluster.clients, "n1", true);
  const untainted = await waitFor(async () => {
    const n = await cluster.clients.core.readNode({ name: "n1" });
    return n.spec?.taints?.some((t) => t.key === SHUTDOWN_TAINT) ? undefined : n;
  }, { message: "shutdown taint removed" });
  assert.deepEqual(withoutAdmissionTaints(untainted).map((t) => t.key), ["dedicated"]);
});
