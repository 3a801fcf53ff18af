/**
 * `--controllers` selection with the real framework: only the selected loops act.
 */
import assert from "node:assert/strict";
import { createNode, createService, startTestCluster, UNINITIALIZED_TAINT, waitFor } from "./harness/mod.ts";
import { startInProcessCcm } from "./ccm_in_process.ts";

Deno.test("--controllers=service runs only the service controller", async () => {
  await using cluster = await startTestCluster();
  await using ccm = startInProcessCcm(cluster, { args: ["--controllers=service"] });
  ccm.provider.setInstance("n1", {});
  await createNode(cluster.clients, "n1", { taints: [UNINITIALIZED_TAINT], providerID: "fake://n1" });
  await createService(cluster.clients, { name: "web" });
  await waitFor(() => ccm.provider.loadBalancers.get("default/web"), { message: "load balancer" });
  await new Promise((r) => setTimeout(r, 500));
  const node = await cluster.clients.core.readNode({ name: "n1" });
  assert.ok(node.spec?.taints?.some((t) => t.key === UNINITIALIZED_TAINT.key), "node controller not running");
  assert.equal(ccm.provider.callsOf("instanceMetadata").length, 0);
});

Deno.test("--controllers=*,-service runs the node controllers but not the service controller", async () => {
  await using cluster = await startTestCluster();
  await using ccm = startInProcessCcm(cluster, { args: ["--controllers=*,-service"] });
  ccm.provider.setInstance("n1", {});
  await createNode(cluster.clients, "n1", { taints: [UNINITIALIZED_TAINT] });
  await createService(cluster.clients, { name: "web" });
  await waitFor(async () => (await cluster.clients.core.readNode({ name: "n1" })).spec?.providerID, {
    message: "node initialized",
  });
  await new Promise((r) => setTimeout(r, 500));
  assert.equal(ccm.provider.callsOf("ensureLoadBalancer").length, 0);
  const svc = await cluster.clients.core.readNamespacedService({ namespace: "default", name: "web" });
  assert.equal(svc.metadata?.finalizers, undefined);
});
