/**
 * The service controller against a real kube-apiserver: finalizer, status, Events, node-set updates,
 * switching away from LoadBalancer, deletion, and classes that are not ours.
 */
import assert from "node:assert/strict";
import type { V1Service } from "@kubernetes/client-node";
import { patchOptions } from "../provider/kube/patch.ts";
import { createNode, createService, startTestCluster, type TestCluster, waitFor } from "./harness/mod.ts";
import { eventsFor, startInProcessCcm } from "./ccm_in_process.ts";
import { FakeProvider } from "../provider/testing/fake_provider.ts";
import { isNotFound } from "../provider/kube/errors.ts";

const FINALIZER = "service.kubernetes.io/load-balancer-cleanup";
const ARGS = ["--controllers=service"];

function readService(cluster: TestCluster, name: string): Promise<V1Service> {
  return cluster.clients.core.readNamespacedService({ namespace: "default", name });
}

async function reasons(cluster: TestCluster, name: string): Promise<string[]> {
  return (await eventsFor(cluster, "Service", `default/${name}`)).map((e) => e.reason ?? "");
}

Deno.test("service-lb-controller adds the finalizer, ensures the load balancer and writes status and Events", async () => {
  await using cluster = await startTestCluster();
  await createNode(cluster.clients, "a", { providerID: "fake://a" });
  await createNode(cluster.clients, "b", {
    providerID: "fake://b",
    labels: { "node.kubernetes.io/exclude-from-external-load-balancers": "true" },
  });
  await using ccm = startInProcessCcm(cluster, { args: ARGS });
  await createService(cluster.clients, { name: "web" });
  const svc = await waitFor(async () => {
    const s = await readService(cluster, "web");
    return s.status?.loadBalancer?.ingress?.length ? s : undefined;
  }, { message: "ingress on web" });
  assert.deepEqual(svc.metadata?.finalizers, [FINALIZER]);
  assert.equal(svc.status?.loadBalancer?.ingress?.[0]?.ip, "203.0.113.1");
  assert.deepEqual(ccm.provider.callsOf("ensureLoadBalancer").map((c) => c.nodes), [["a"]]);
  await waitFor(async () => (await reasons(cluster, "web")).includes("EnsuredLoadBalancer"), {
    message: "Events",
  });
  assert.deepEqual(await reasons(cluster, "web"), ["EnsuringLoadBalancer", "EnsuredLoadBalancer"]);
  const ensured = (await eventsFor(cluster, "Service", "default/web"))[0];
  assert.equal(ensured?.source?.component, "service-lb-controller");
});

Deno.test("service-lb-controller: the finalizer written with the first status holds the Service until clean-up", async () => {
  await using cluster = await startTestCluster();
  await createNode(cluster.clients, "a", { providerID: "fake://a" });
  // A provider with an orphan sweep: the finalizer goes in the status write (services/status subresource).
  await using ccm = startInProcessCcm(cluster, {
    args: ARGS,
    provider: new FakeProvider({ releasesOrphans: true }),
  });
  await createService(cluster.clients, { name: "web" });
  const svc = await waitFor(async () => {
    const s = await readService(cluster, "web");
    return s.status?.loadBalancer?.ingress?.length ? s : undefined;
  }, { message: "ingress on web" });
  assert.deepEqual(
    svc.metadata?.finalizers,
    [FINALIZER],
    "the API server kept the finalizer of the status patch",
  );
  await cluster.clients.core.deleteNamespacedService({ namespace: "default", name: "web" });
  await waitFor(async () => {
    try {
      await readService(cluster, "web");
      return undefined;
    } catch (err) {
      if (isNotFound(err)) return true;
      throw err;
    }
  }, { message: "Service gone after clean-up" });
  assert.equal(ccm.provider.callsOf("ensureLoadBalancerDeleted").length, 1, "cleaned up before it went");
});

Deno.test("service-lb-controller updates load balancers when the eligible node set changes", async () => {
  await using cluster = await startTestCluster();
  await createNode(cluster.clients, "a", { providerID: "fake://a" });
  await using ccm = startInProcessCcm(cluster, { args: ARGS });
  await createService(cluster.clients, { name: "web" });
  await waitFor(() => ccm.provider.loadBalancers.get("default/web"), { message: "load balancer" });
  await createNode(cluster.clients, "b", { providerID: "fake://b" });
  await waitFor(() => ccm.provider.callsOf("updateLoadBalancer").length > 0, {
    message: "UpdateLoadBalancer",
  });
  assert.deepEqual(ccm.provider.loadBalancers.get("default/web")?.nodes, ["a", "b"]);
  await waitFor(async () => (await reasons(cluster, "web")).includes("UpdatedLoadBalancer"), {
    message: "UpdatedLoadBalancer Event",
  });

  // Excluding a node by label is a node-set change too; a label the controller does not read is not.
  await cluster.clients.core.patchNode({
    name: "a",
    body: { metadata: { labels: { "node.kubernetes.io/exclude-from-external-load-balancers": "true" } } },
  }, patchOptions("merge"));
  await waitFor(() => ccm.provider.loadBalancers.get("default/web")?.nodes.join() === "b", {
    message: "a excluded",
  });
  const updates = ccm.provider.callsOf("updateLoadBalancer").length;
  await cluster.clients.core.patchNode(
    { name: "b", body: { metadata: { labels: { team: "x" } } } },
    patchOptions("merge"),
  );
  await new Promise((r) => setTimeout(r, 500));
  assert.equal(ccm.provider.callsOf("updateLoadBalancer").length, updates);
});

Deno.test("service-lb-controller cleans up a Service switched away from LoadBalancer", async () => {
  await using cluster = await startTestCluster();
  await createNode(cluster.clients, "a", { providerID: "fake://a" });
  await using ccm = startInProcessCcm(cluster, { args: ARGS });
  await createService(cluster.clients, { name: "web" });
  await waitFor(async () => (await readService(cluster, "web")).status?.loadBalancer?.ingress?.length);
  await cluster.clients.core.patchNamespacedService({
    namespace: "default",
    name: "web",
    body: {
      spec: {
        type: "ClusterIP",
        ports: [{ name: "http", port: 80, targetPort: 8080, protocol: "TCP", nodePort: null }],
      },
    },
  }, patchOptions("merge"));
  const svc = await waitFor(async () => {
    const s = await readService(cluster, "web");
    return s.metadata?.finalizers?.length ? undefined : s;
  }, { message: "finalizer removed" });
  assert.equal(svc.status?.loadBalancer?.ingress, undefined, "status cleared");
  assert.equal(ccm.provider.loadBalancers.size, 0);
  await waitFor(async () => (await reasons(cluster, "web")).includes("DeletedLoadBalancer"));
  assert.deepEqual((await reasons(cluster, "web")).slice(-3), [
    "Type",
    "DeletingLoadBalancer",
    "DeletedLoadBalancer",
  ]);
});

Deno.test("service-lb-controller deletes the load balancer before the Service goes away", async () => {
  await using cluster = await startTestCluster();
  await createNode(cluster.clients, "a", { providerID: "fake://a" });
  await using ccm = startInProcessCcm(cluster, { args: ARGS });
  await createService(cluster.clients, { name: "web" });
  await waitFor(async () => (await readService(cluster, "web")).metadata?.finalizers?.length);
  ccm.provider.fail("ensureLoadBalancerDeleted", new Error("API down"));
  await cluster.clients.core.deleteNamespacedService({ namespace: "default", name: "web" });
  await waitFor(async () => (await reasons(cluster, "web")).includes("SyncLoadBalancerFailed"), {
    message: "failure reported",
  });
  const held = await readService(cluster, "web");
  assert.ok(held.metadata?.deletionTimestamp, "held by the finalizer while deletion fails");
  ccm.provider.fail("ensureLoadBalancerDeleted", undefined);
  await waitFor(async () => {
    const list = await cluster.clients.core.listNamespacedService({
      namespace: "default",
      fieldSelector: "metadata.name=web",
    });
    return list.items.length === 0;
  }, { timeoutMs: 20_000, message: "Service deleted after retry (5 s backoff)" });
  assert.equal(ccm.provider.loadBalancers.size, 0);
});

Deno.test("service-lb-controller ignores Services of another loadBalancerClass", async () => {
  await using cluster = await startTestCluster();
  await using ccm = startInProcessCcm(cluster, { args: ARGS });
  await createService(cluster.clients, { name: "theirs", loadBalancerClass: "example.com/other" });
  await createService(cluster.clients, { name: "ours" });
  await waitFor(async () => (await readService(cluster, "ours")).status?.loadBalancer?.ingress?.length);
  const theirs = await readService(cluster, "theirs");
  assert.equal(theirs.metadata?.finalizers, undefined);
  assert.deepEqual(ccm.provider.calls.filter((c) => c.target === "default/theirs"), []);
});
