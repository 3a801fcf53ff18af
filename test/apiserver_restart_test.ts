/**
 * The controllers keep working across a kube-apiserver restart: watches are re-established and changes made
 * after the restart are acted on.
 */
import { createNode, createService, startTestCluster, UNINITIALIZED_TAINT, waitFor } from "./harness/mod.ts";
import { startInProcessCcm } from "./ccm_in_process.ts";

Deno.test("controllers pick up changes made after the API server restarted", async () => {
  await using cluster = await startTestCluster();
  await using ccm = startInProcessCcm(cluster);
  ccm.provider.setInstance("before", {});
  ccm.provider.setInstance("after", {});
  await createNode(cluster.clients, "before", { taints: [UNINITIALIZED_TAINT] });
  await waitFor(async () => (await cluster.clients.core.readNode({ name: "before" })).spec?.providerID, {
    message: "node initialized before the restart",
  });

  await cluster.restartApiserver();

  await createNode(cluster.clients, "after", { taints: [UNINITIALIZED_TAINT] });
  await createService(cluster.clients, { name: "web" });
  await waitFor(async () => (await cluster.clients.core.readNode({ name: "after" })).spec?.providerID, {
    timeoutMs: 30_000,
    message: "node created after the restart initialized",
  });
  await waitFor(
    async () =>
      (await cluster.clients.core.readNamespacedService({ namespace: "default", name: "web" })).status
        ?.loadBalancer
        ?.ingress?.length,
    { timeoutMs: 30_000, message: "Service created after the restart served" },
  );
});
